package store

import (
	"context"
	"strings"
	"time"
)

// InboxState is where a handed-off conversation stands in the operator inbox.
type InboxState string

// Inbox states.
const (
	InboxUnassigned InboxState = "unassigned" // waiting in its queue
	InboxAssigned   InboxState = "assigned"   // one operator has it
	InboxResolved   InboxState = "resolved"   // closed (resolved, handed back or timed out)
)

// Open reports whether the chat still needs an operator (unassigned or assigned).
func (s InboxState) Open() bool { return s == InboxUnassigned || s == InboxAssigned }

// Inbox is the operator inbox's part of a conversation: it exists once the
// conversation was handed off (or taken over) and changes only with the
// conversation's conditional write, so two operators taking one chat cannot
// both win.
type Inbox struct {
	State InboxState `json:"state" bson:"state"`
	// Queue is the handoff node's queue ("" is the default queue).
	Queue string `json:"queue" bson:"queue"`
	// Assignee is the user id of the operator who has the chat.
	Assignee string `json:"assignee,omitempty" bson:"assignee"`
	// AssigneeName is the assignee's display name when assigned.
	AssigneeName string `json:"assignee_name,omitempty" bson:"assignee_name,omitempty"`
	// Unread counts customer messages since the assignee last read or replied.
	Unread int `json:"unread" bson:"unread"`
	// HandoffAt is when this round of handoff began.
	HandoffAt time.Time `json:"handoff_at,omitzero" bson:"handoff_at"`
	// WaitingSince is the oldest customer message no operator answered yet.
	WaitingSince time.Time `json:"waiting_since,omitzero" bson:"waiting_since,omitempty"`
	AssignedAt   time.Time `json:"assigned_at,omitzero" bson:"assigned_at,omitempty"`
	FirstReplyAt time.Time `json:"first_reply_at,omitzero" bson:"first_reply_at,omitempty"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero" bson:"resolved_at,omitempty"`
	// Note is the handoff node's note, rendered at handoff.
	Note string `json:"note,omitempty" bson:"note,omitempty"`
	// HandoffNode is the node that handed the chat off (a reopen returns there).
	HandoffNode string `json:"handoff_node,omitempty" bson:"handoff_node,omitempty"`
	// Last is the last transcript line, for the list's preview.
	Last *InboxLast `json:"last,omitempty" bson:"last,omitempty"`
	// CSATPending: a CSAT question was sent and not answered yet.
	CSATPending bool `json:"csat_pending,omitempty" bson:"csat_pending,omitempty"`
	// CSAT is the customer's answer (1–5), 0 before one.
	CSAT int `json:"csat,omitempty" bson:"csat,omitempty"`
	// AwaySentAt is when the away message was last sent (at most once a day).
	AwaySentAt time.Time `json:"away_sent_at,omitzero" bson:"away_sent_at,omitempty"`
	// Resolver is who closed the chat last (for the CSAT event).
	Resolver string `json:"resolver,omitempty" bson:"resolver,omitempty"`
}

// InboxLast is the preview of a conversation's last transcript line.
type InboxLast struct {
	Direction Direction `json:"direction" bson:"direction"`
	Text      string    `json:"text" bson:"text"`
	At        time.Time `json:"at" bson:"at"`
}

// Transcript directions beyond the contact, bot and operator.
const (
	DirectionNote   Direction = "note"   // an operator's private note: never sent
	DirectionSystem Direction = "system" // an inbox change (assigned, resolved, …)
)

// InboxFilter selects conversations of the operator inbox (ListInbox with
// Inbox set); empty fields do not filter.
type InboxFilter struct {
	// States lists the inbox states to include; nil means every state.
	States []InboxState
	// Assignee is a user id; NoAssignee selects unassigned chats.
	Assignee string
	// Queues lists the queues to include; nil means every queue.
	Queues []string
	// Q searches (case-insensitive) the contact's names, username and
	// phone and the last line's text.
	Q string
	// Oldest walks oldest activity first (the backlog) instead of newest.
	Oldest bool
}

// NoAssignee in InboxFilter.Assignee selects unassigned chats.
const NoAssignee = "-"

// Matches reports whether c passes f (States, Assignee, Queues and Q).
func (f *InboxFilter) Matches(c *Conversation) bool {
	in := c.Inbox
	if in == nil {
		return false
	}
	if f.States != nil && !containsState(f.States, in.State) {
		return false
	}
	switch f.Assignee {
	case "":
	case NoAssignee:
		if in.Assignee != "" {
			return false
		}
	default:
		if in.Assignee != f.Assignee {
			return false
		}
	}
	if f.Queues != nil && !containsString(f.Queues, in.Queue) {
		return false
	}
	return f.Q == "" || c.MatchesSearch(f.Q)
}

// MatchesSearch reports whether q occurs, ignoring case, in the contact's
// names, username, phone or chat id, or in the last line's text.
func (c *Conversation) MatchesSearch(q string) bool {
	q = strings.ToLower(q)
	fields := []string{c.Contact.FirstName + " " + c.Contact.LastName, c.Contact.Username, c.Contact.Phone, c.Chat}
	if c.Inbox != nil && c.Inbox.Last != nil {
		fields = append(fields, c.Inbox.Last.Text)
	}
	for _, f := range fields {
		if f != "" && strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

func containsState(ss []InboxState, s InboxState) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Presence says until when a user counts as online for auto-assignment and
// when they were last given a chat.
type Presence struct {
	User           string    `json:"user" bson:"_id"`
	Until          time.Time `json:"until" bson:"until"`
	LastAssignedAt time.Time `json:"last_assigned_at,omitzero" bson:"last_assigned_at"`
}

// Canned is a canned reply of a bot, picked with "/" in the composer.
type Canned struct {
	ID        string    `json:"id" bson:"_id"`
	Bot       string    `json:"bot" bson:"bot"`
	Shortcut  string    `json:"shortcut" bson:"shortcut"`
	Title     string    `json:"title,omitempty" bson:"title"`
	Text      string    `json:"text" bson:"text"`
	UpdatedAt time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty" bson:"updated_by"`
}

// InboxStore is the operator inbox's part of the store: assignment counts,
// operator presence and canned replies. (The inbox list itself is
// Conversations.ListInbox with InboxQuery.Inbox set.)
type InboxStore interface {
	// CountAssigned counts the open (assigned) chats of user.
	CountAssigned(ctx context.Context, user string) (int, error)
	// TouchPresence records that user is online until until (a zero until
	// signs them off); it keeps LastAssignedAt.
	TouchPresence(ctx context.Context, user string, until time.Time) error
	// NoteAssigned records when user was last given a chat.
	NoteAssigned(ctx context.Context, user string, at time.Time) error
	// ListPresence returns every user's presence, ordered by user.
	ListPresence(ctx context.Context) ([]Presence, error)

	// ListCanned returns a bot's canned replies ordered by shortcut.
	ListCanned(ctx context.Context, bot string) ([]Canned, error)
	// GetCanned returns ErrNotFound when (bot, id) is unknown.
	GetCanned(ctx context.Context, bot, id string) (*Canned, error)
	// PutCanned creates or replaces a canned reply; ErrDuplicate when another
	// reply of the bot has the shortcut.
	PutCanned(ctx context.Context, c Canned) error
	// DeleteCanned returns ErrNotFound when (bot, id) is unknown.
	DeleteCanned(ctx context.Context, bot, id string) error
}
