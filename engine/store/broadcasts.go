package store

import (
	"context"
	"time"
)

// Broadcasts keeps what marketers send to many contacts at once: saved
// segments, the broadcasts themselves with their progress, one receipt per
// recipient (what makes a resumed broadcast send nobody twice), and the
// send-rate budget that replicas share.
type Broadcasts interface {
	// PutSegment creates or replaces the segment (Bot, ID).
	PutSegment(ctx context.Context, s Segment) error
	// GetSegment returns ErrNotFound when the bot has no such segment.
	GetSegment(ctx context.Context, bot, id string) (*Segment, error)
	// ListSegments returns a bot's segments ordered by id.
	ListSegments(ctx context.Context, bot string) ([]Segment, error)
	// DeleteSegment returns ErrNotFound when the bot has no such segment.
	DeleteSegment(ctx context.Context, bot, id string) error

	// CreateBroadcast stores b with Rev 1 (set on b); ErrDuplicate when the id exists.
	CreateBroadcast(ctx context.Context, b *Broadcast) error
	// GetBroadcast returns ErrNotFound when the id is unknown.
	GetBroadcast(ctx context.Context, id string) (*Broadcast, error)
	// ListBroadcasts returns a bot's broadcasts, newest first.
	ListBroadcasts(ctx context.Context, bot string) ([]Broadcast, error)
	// UpdateBroadcast writes b if the stored Rev equals b.Rev and then
	// increments b.Rev; otherwise ErrVersionConflict (or ErrNotFound).
	UpdateBroadcast(ctx context.Context, b *Broadcast) error
	// ActiveBroadcasts returns every broadcast, of any bot, that is
	// scheduled or running: what the runners look at.
	ActiveBroadcasts(ctx context.Context) ([]Broadcast, error)

	// ScanContacts pages, by id, through every conversation of a bot,
	// whatever its consent (segments count and broadcasts skip with a
	// reason). next is "" at the end.
	ScanContacts(ctx context.Context, bot, after string, limit int) (items []Conversation, next string, err error)

	// PutReceipts creates or replaces receipts by id.
	PutReceipts(ctx context.Context, rs ...Receipt) error
	// GetReceipts returns the receipts among ids that exist, in any order.
	GetReceipts(ctx context.Context, ids []string) ([]Receipt, error)
	// ListReceipts pages, by id, through a broadcast's receipts. next is
	// "" at the end.
	ListReceipts(ctx context.Context, broadcast, after string, limit int) (items []Receipt, next string, err error)
	// CountRecentReceipts counts, per conversation, the receipts of
	// broadcasts other than except made at or after since (the frequency
	// cap). Conversations with none are absent.
	CountRecentReceipts(ctx context.Context, conversations []string, since time.Time, except string) (map[string]int, error)

	// TakeSendBudget grants up to want sends from the budget named key
	// (a bot's channel and a time window), which holds capacity in all:
	// atomically, so replicas sharing the store never grant more than
	// capacity together. It returns what was granted (0 when spent).
	// Budgets of windows long past are deleted by later calls.
	TakeSendBudget(ctx context.Context, key string, capacity, want int, expires time.Time) (int, error)
}

// Segment is a saved filter over a bot's contacts.
type Segment struct {
	ID        string        `json:"id" bson:"_id"`
	Bot       string        `json:"bot" bson:"bot"`
	Name      string        `json:"name" bson:"name"`
	Filter    SegmentFilter `json:"filter" bson:"filter"`
	CreatedAt time.Time     `json:"created_at,omitzero" bson:"created_at"`
	UpdatedAt time.Time     `json:"updated_at,omitzero" bson:"updated_at"`
}

// SegmentFilter selects contacts; empty fields do not filter, and a contact
// is in the segment when every set field matches (engine/segment).
type SegmentFilter struct {
	// Segments: the lead segment is one of these (hot, warm, cold).
	Segments []string `json:"segments,omitempty" bson:"segments,omitempty"`
	// Tags: the contact has every one of these tags.
	Tags []string `json:"tags,omitempty" bson:"tags,omitempty"`
	// ScoreMin and ScoreMax bound the score, inclusive.
	ScoreMin *float64 `json:"score_min,omitempty" bson:"score_min,omitempty"`
	ScoreMax *float64 `json:"score_max,omitempty" bson:"score_max,omitempty"`
	// Channels: the conversation is on one of these channels.
	Channels []string `json:"channels,omitempty" bson:"channels,omitempty"`
	// Expr is a condition over the contact's variables, score, tags,
	// segment and contact, as in a flow's condition node.
	Expr string `json:"expr,omitempty" bson:"expr,omitempty"`
	// Source: the contact came from this source (a start parameter).
	Source string `json:"source,omitempty" bson:"source,omitempty"`
	// First seen (conversation created) and last seen (last message from
	// the contact) within these bounds, inclusive.
	FirstSeenFrom *time.Time `json:"first_seen_from,omitempty" bson:"first_seen_from,omitempty"`
	FirstSeenTo   *time.Time `json:"first_seen_to,omitempty" bson:"first_seen_to,omitempty"`
	LastSeenFrom  *time.Time `json:"last_seen_from,omitempty" bson:"last_seen_from,omitempty"`
	LastSeenTo    *time.Time `json:"last_seen_to,omitempty" bson:"last_seen_to,omitempty"`
	// Goals: the contact reached every one of these goals.
	Goals []string `json:"goals,omitempty" bson:"goals,omitempty"`
	// Statuses: the conversation stands in one of these (bot, waiting,
	// handoff, ended).
	Statuses []Status `json:"statuses,omitempty" bson:"statuses,omitempty"`
}

// IsZero reports whether f selects every contact.
func (f *SegmentFilter) IsZero() bool {
	return len(f.Segments) == 0 && len(f.Tags) == 0 && f.ScoreMin == nil && f.ScoreMax == nil && len(f.Channels) == 0 &&
		f.Expr == "" && f.Source == "" && f.FirstSeenFrom == nil && f.FirstSeenTo == nil && f.LastSeenFrom == nil &&
		f.LastSeenTo == nil && len(f.Goals) == 0 && len(f.Statuses) == 0
}

// BroadcastStatus is where a broadcast stands.
type BroadcastStatus string

// Broadcast statuses. Draft broadcasts wait for start; scheduled ones for
// their time; running ones are sent (or wait for their send window);
// paused ones keep their place; done and cancelled ones are final.
const (
	BroadcastDraft     BroadcastStatus = "draft"
	BroadcastScheduled BroadcastStatus = "scheduled"
	BroadcastRunning   BroadcastStatus = "running"
	BroadcastPaused    BroadcastStatus = "paused"
	BroadcastDone      BroadcastStatus = "done"
	BroadcastCancelled BroadcastStatus = "cancelled"
)

// Broadcast modes.
const (
	// BroadcastMessage sends each recipient a message of its variant.
	BroadcastMessage = "message"
	// BroadcastFlow moves each recipient's conversation to a flow node,
	// which sends what the flow says from there.
	BroadcastFlow = "flow"
)

// Broadcast is one campaign: what to send, to whom, when, and how far it got.
type Broadcast struct {
	ID     string          `json:"id" bson:"_id"`
	Bot    string          `json:"bot" bson:"bot"`
	Name   string          `json:"name" bson:"name"`
	Status BroadcastStatus `json:"status" bson:"status"`
	// Mode is BroadcastMessage (default) or BroadcastFlow.
	Mode string `json:"mode,omitempty" bson:"mode,omitempty"`
	// Variants are the messages of an A/B test, chosen per recipient by
	// weight; a plain broadcast has one.
	Variants []BroadcastVariant `json:"variants,omitempty" bson:"variants,omitempty"`
	// NoUnsubscribe removes the unsubscribe button every broadcast message
	// otherwise carries.
	NoUnsubscribe bool `json:"no_unsubscribe,omitempty" bson:"no_unsubscribe,omitempty"`
	// Node is where BroadcastFlow moves each conversation (in the flow the
	// conversation runs; Flow names it for the builder).
	Flow string `json:"flow,omitempty" bson:"flow,omitempty"`
	Node string `json:"node,omitempty" bson:"node,omitempty"`
	// Template is the approved WhatsApp template a recipient gets when the
	// platform's free-form window (24 hours after their last message) has
	// closed; without one such a recipient is skipped (needs_template).
	Template *BroadcastTemplate `json:"template,omitempty" bson:"template,omitempty"`
	// Segment is the audience's segment id; "" is every consenting contact.
	Segment string `json:"segment,omitempty" bson:"segment,omitempty"`
	// StartAt is when a scheduled broadcast starts (zero: when started).
	StartAt time.Time `json:"start_at,omitzero" bson:"start_at,omitempty"`
	// Window, when set, is the daily local time ("HH:MM"–"HH:MM", bot's
	// time zone) outside which nothing is sent; quiet hours apply too.
	Window *QuietHours `json:"window,omitempty" bson:"window,omitempty"`

	// Runner is the process sending it now (its lease owner id); Cursor
	// is the last contact id of the pages already done.
	Runner string `json:"runner,omitempty" bson:"runner,omitempty"`
	Cursor string `json:"cursor,omitempty" bson:"cursor,omitempty"`
	// WaitUntil is when a running broadcast outside its send window goes on.
	WaitUntil time.Time         `json:"wait_until,omitzero" bson:"wait_until,omitempty"`
	Progress  BroadcastProgress `json:"progress" bson:"progress"`
	Error     string            `json:"error,omitempty" bson:"error,omitempty"`

	CreatedBy  string    `json:"created_by,omitempty" bson:"created_by,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero" bson:"created_at"`
	UpdatedAt  time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	StartedAt  time.Time `json:"started_at,omitzero" bson:"started_at,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero" bson:"finished_at,omitempty"`
	// Rev counts writes; UpdateBroadcast is conditional on it.
	Rev int64 `json:"rev" bson:"rev"`
}

// BroadcastVariant is one message of a broadcast.
type BroadcastVariant struct {
	Name string `json:"name" bson:"name"`
	// Weight is the variant's share of recipients (relative to the others).
	Weight int `json:"weight" bson:"weight"`
	// Text may hold {{ }} templates over the contact and its variables.
	Text    string            `json:"text" bson:"text"`
	Buttons []BroadcastButton `json:"buttons,omitempty" bson:"buttons,omitempty"`
}

// BroadcastTemplate is an approved WhatsApp message template.
type BroadcastTemplate struct {
	Name     string `json:"name" bson:"name"`
	Language string `json:"language" bson:"language"` // e.g. "ru", "en_US"
	// Params fill the template body's {{1}}, {{2}}… in order; each may hold
	// {{ }} templates over the contact, rendered per recipient.
	Params []string `json:"params,omitempty" bson:"params,omitempty"`
}

// BroadcastButton is a button of a broadcast message; a press moves the
// conversation to Node of its flow.
type BroadcastButton struct {
	Label string `json:"label" bson:"label"`
	Node  string `json:"node" bson:"node"`
}

// BroadcastProgress counts what became of the recipients so far.
type BroadcastProgress struct {
	// Total counts the audience members met so far (the last count once done).
	Total  int `json:"total" bson:"total"`
	Sent   int `json:"sent" bson:"sent"`
	Failed int `json:"failed" bson:"failed"`
	// Skipped counts members not sent to, by reason (no_consent, blocked,
	// frequency_cap, no_channel, render_error, needs_template).
	Skipped map[string]int `json:"skipped,omitempty" bson:"skipped,omitempty"`
	// Unconfirmed counts sends a crash interrupted after they started: the
	// platform may have them; they are not sent again.
	Unconfirmed int `json:"unconfirmed,omitempty" bson:"unconfirmed,omitempty"`
	// Delivered and Read count what the platform reported (not Telegram).
	Delivered int `json:"delivered,omitempty" bson:"delivered,omitempty"`
	Read      int `json:"read,omitempty" bson:"read,omitempty"`
	// Variants counts sends per variant name.
	Variants map[string]int `json:"variants,omitempty" bson:"variants,omitempty"`
}

// Receipt statuses.
const (
	// RecipientSending is written before the send: after a crash it means
	// the platform may have the message, so it is not sent again.
	RecipientSending = "sending"
	RecipientSent    = "sent"
	RecipientFailed  = "failed"
)

// Receipt records one recipient of a broadcast. Its id is deterministic,
// ReceiptID(broadcast, conversation), so a resumed broadcast finds it.
type Receipt struct {
	ID           string    `json:"id" bson:"_id"`
	Broadcast    string    `json:"broadcast" bson:"broadcast"`
	Bot          string    `json:"bot" bson:"bot"`
	Conversation string    `json:"conversation" bson:"conversation"`
	Variant      string    `json:"variant,omitempty" bson:"variant,omitempty"`
	Status       string    `json:"status" bson:"status"`
	Error        string    `json:"error,omitempty" bson:"error,omitempty"`
	At           time.Time `json:"at" bson:"at"`
}

// ReceiptID is the id of the receipt of conversation's copy of broadcast.
func ReceiptID(broadcast, conversation string) string { return broadcast + "/" + conversation }
