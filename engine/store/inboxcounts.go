package store

import "context"

// QueueTally counts the open chats of one queue.
type QueueTally struct {
	Unassigned int `json:"unassigned"`
	Assigned   int `json:"assigned"`
	// Unread, in InboxTally.Mine, sums the unread customer messages of
	// those chats.
	Unread int `json:"unread,omitempty"`
}

// InboxTally is the operator inbox counted: what its badges show.
type InboxTally struct {
	// Queues counts every open chat by queue ("" is the default queue);
	// a queue with none is absent.
	Queues map[string]QueueTally
	// Mine counts the chats assigned to the user asked about, by queue,
	// with their unread messages (Assigned and Unread only).
	Mine map[string]QueueTally
}

// InboxCounts counts the inbox from its indexes, so the badges that every
// open inbox page asks for after each change cost no walk through the
// open chats' documents.
type InboxCounts interface {
	// CountInbox counts the open (unassigned or assigned) chats by queue
	// and state, and user's assigned chats by queue with their unread
	// messages.
	CountInbox(ctx context.Context, user string) (InboxTally, error)
}
