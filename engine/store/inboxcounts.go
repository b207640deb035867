package store

import "context"

// QueueTally counts open chats of one queue.
type QueueTally struct {
	Unassigned int `json:"unassigned"`
	Assigned   int `json:"assigned"`
	// Unread, from CountMine, sums the unread customer messages of those
	// chats.
	Unread int `json:"unread,omitempty"`
}

// InboxCounts counts the inbox from its indexes, so the badges that every
// open inbox page asks for after each change cost no walk through the
// open chats' documents.
type InboxCounts interface {
	// CountQueues counts every open (unassigned or assigned) chat by queue
	// ("" is the default queue) and state; a queue with none is absent.
	CountQueues(ctx context.Context) (map[string]QueueTally, error)
	// CountMine counts the chats assigned to user by queue (Assigned),
	// with their unread messages (Unread).
	CountMine(ctx context.Context, user string) (map[string]QueueTally, error)
}
