// Package store defines Voronka's persistence contract: the documents the
// engine keeps (conversations, transcript, event log, flows, jobs, users,
// bots) and the Store interface that the embedded (bolt) and MongoDB
// implementations satisfy. The storetest package checks both against it.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; implementations wrap them with context, so test with errors.Is.
var (
	// ErrNotFound means the addressed document does not exist.
	ErrNotFound = errors.New("not found")
	// ErrVersionConflict means a conditional write lost: the document (or the
	// job's lease) changed since it was read. Reload and try again.
	ErrVersionConflict = errors.New("version conflict")
	// ErrDuplicate means a document with the same id (or unique key) exists.
	ErrDuplicate = errors.New("duplicate")
	// ErrLogsNotWritten means CommitConversation wrote the conversation but
	// not all of its transcript lines or events: the change stands, the
	// caller may append the logs again (appends are idempotent).
	ErrLogsNotWritten = errors.New("conversation written, transcript or events not written")
)

// Default and maximum page sizes for list and range queries.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Store is everything the runtime and the server persist, in one value.
type Store interface {
	Conversations
	Messages
	Events
	Flows
	Jobs
	Users
	Sessions
	Secrets
	Bots
	BotRevs
	Broadcasts
	Leases
	ChannelLeases
	Maintenance
	InboxStore
	InboxCounts
	Rollups
	Contacts
}

// Conversations keeps one document per (bot, channel, chat); writes are
// optimistic so N replicas can step the same conversation safely.
type Conversations interface {
	// GetConversation returns ErrNotFound when the id is unknown.
	GetConversation(ctx context.Context, id string) (*Conversation, error)
	// CreateConversation stores c with Version 1 (set on c) or returns ErrDuplicate.
	CreateConversation(ctx context.Context, c *Conversation) error
	// ReplaceConversation writes c if the stored Version equals c.Version and
	// then increments c.Version; otherwise ErrVersionConflict (or ErrNotFound).
	ReplaceConversation(ctx context.Context, c *Conversation) error
	// CommitConversation writes one change of a conversation: the document
	// (created, or replaced as ReplaceConversation does) and then, only if
	// that succeeded, the transcript lines and events the change produced,
	// appended as AppendMessages and AppendEvents do. A store with
	// transactions does it in one, so a message costs one commit; others
	// append after the write and report a failure of only the appends as
	// ErrLogsNotWritten.
	CommitConversation(ctx context.Context, ch ConversationChange) error
	// LogsApart reports that CommitConversation appends the logs apart from
	// the conversation (after it, not in one transaction): a caller saves a
	// write by carrying a change's logs in the conversation's outbox
	// (OutMessage.Logs) and appending them with the delivery event.
	LogsApart() bool
	// FindAudience pages, by id, through subscribed and not blocked
	// conversations matching q (broadcast targeting). next is "" at the end.
	FindAudience(ctx context.Context, q AudienceQuery) (items []Conversation, next string, err error)
	// ListInbox pages through a bot's conversations, newest activity
	// (UpdatedAt) first, for the operator inbox. next is "" at the end.
	ListInbox(ctx context.Context, q InboxQuery) (items []Conversation, next string, err error)
	// FindOutboxes pages, by id, through the conversations whose outbox
	// holds items of owner (OutMessage.Owner), after the id after: what a
	// process that died left to deliver. next is "" at the end.
	FindOutboxes(ctx context.Context, owner, after string, limit int) (items []Conversation, next string, err error)
}

// ConversationChange is what CommitConversation writes.
type ConversationChange struct {
	// Conversation is written; its Version is updated as by
	// CreateConversation or ReplaceConversation.
	Conversation *Conversation
	// Create stores a new conversation (ErrDuplicate if it exists).
	Create   bool
	Messages []Message
	Events   []Event
}

// Messages is the append-only transcript shown in the inbox and exports.
type Messages interface {
	// AppendMessages stores msgs; a message already stored is skipped
	// without error, so a retried append never duplicates a line. A message
	// is known by its ID and At together: both are deterministic, so a
	// retry repeats them (the embedded store checks the pair).
	AppendMessages(ctx context.Context, msgs ...Message) error
	// ListMessages pages through a conversation's messages in chronological
	// order (At, then ID). next is "" at the end.
	ListMessages(ctx context.Context, conversationID, cursor string, limit int) (items []Message, next string, err error)
}

// Events is the analytics log; appends are idempotent by deterministic ID so
// a replay never counts anything twice.
type Events interface {
	// AppendEvents stores events; events already stored (same ID and At, as
	// for messages) are skipped without error. The events of one call reach
	// the rollup flush (Rollups.PendingEvents) all at once or, on a store
	// without transactions, as a prefix in the order given: callers append
	// a change's events together and in the order they are folded
	// (analytics.SortChange), so a flush between two parts of a change
	// folds nothing out of order.
	AppendEvents(ctx context.Context, events ...Event) error
	// QueryEvents returns a bot's events in [From, To) ordered by (At, ID).
	// next is "" at the end.
	QueryEvents(ctx context.Context, q EventQuery) (items []Event, next string, err error)
	// StoredEvents returns the ids of those keys that name a stored event
	// (an event is known by its bot, ID and At together, as for appends).
	// Whoever adopts an outbox asks it which items already have their
	// delivery event, and skips them.
	StoredEvents(ctx context.Context, keys []EventKey) ([]string, error)
}

// EventKey is an event's identity: its bot, id and time.
type EventKey struct {
	Bot string
	ID  string
	At  time.Time
}

// Leases are the heartbeats of running processes. Each process renews its
// own about every second; outbox items name the process that delivers them
// (OutMessage.Owner), and the items of a process whose lease ran out are
// adopted by another.
type Leases interface {
	// RenewLease records that owner is alive until until, creating its
	// lease or moving it.
	RenewLease(ctx context.Context, owner string, until time.Time) error
	// GetLease returns owner's lease, ErrNotFound when it has none (it never
	// ran, or its lease was dropped once what it left was adopted).
	GetLease(ctx context.Context, owner string) (Lease, error)
	// ExpiredLeases lists up to limit leases that ended before now, the
	// longest ended first.
	ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]Lease, error)
	// DropLease deletes owner's lease if it still ends at until; a lease
	// renewed since (the owner was only slow) is kept. Dropping a lease that
	// is gone is not an error.
	DropLease(ctx context.Context, owner string, until time.Time) error
}

// Lease says until when a process is presumed alive.
type Lease struct {
	Owner string    `json:"owner" bson:"_id"`
	Until time.Time `json:"until" bson:"until"`
}

// Flows keeps one editable draft per (bot, flow) and immutable published
// versions, so a running conversation keeps the version it started on.
type Flows interface {
	// PutDraft creates or overwrites the draft of (d.Bot, d.FlowID).
	PutDraft(ctx context.Context, d FlowDraft) error
	// GetDraft returns ErrNotFound when no draft exists.
	GetDraft(ctx context.Context, bot, flowID string) (*FlowDraft, error)
	// ListDrafts returns a bot's drafts without their documents (Doc is
	// nil), sorted by flow id.
	ListDrafts(ctx context.Context, bot string) ([]FlowDraft, error)
	// DeleteDraft removes the draft of (bot, flowID), leaving its published
	// versions alone; ErrNotFound when there is none.
	DeleteDraft(ctx context.Context, bot, flowID string) error
	// PublishFlow stores v as version latest+1 (ignoring v.Version) and returns
	// the stored version. Published versions are never overwritten.
	PublishFlow(ctx context.Context, v FlowVersion) (*FlowVersion, error)
	// GetFlowVersion returns ErrNotFound for an unknown version.
	GetFlowVersion(ctx context.Context, bot, flowID string, version int) (*FlowVersion, error)
	// LatestFlowVersion returns ErrNotFound when nothing was published.
	LatestFlowVersion(ctx context.Context, bot, flowID string) (*FlowVersion, error)
	// ListFlowIDs returns the ids of a bot's flows that have a draft or a
	// published version, sorted.
	ListFlowIDs(ctx context.Context, bot string) ([]string, error)
	// ListFlowVersions returns metadata (Doc is nil), newest version first.
	ListFlowVersions(ctx context.Context, bot, flowID string) ([]FlowVersion, error)
}

// Jobs is the durable, leased work queue behind timers, broadcasts and
// resends: any replica claims due jobs and no job is claimed twice at once.
type Jobs interface {
	// ScheduleJob stores a pending job. Scheduling an id that exists (in any
	// status) changes nothing and returns ErrDuplicate, so callers that
	// schedule idempotently test errors.Is(err, ErrDuplicate) and carry on.
	ScheduleJob(ctx context.Context, j Job) error
	// GetJob returns ErrNotFound when the id is unknown.
	GetJob(ctx context.Context, id string) (*Job, error)
	// ClaimJobs leases up to limit pending jobs due at now whose lease is
	// absent or expired, to owner until now+lease, earliest due first.
	ClaimJobs(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]Job, error)
	// CompleteJob marks a job owner holds as done; ErrVersionConflict when
	// owner does not hold it (the lease expired and another owner claimed it).
	CompleteJob(ctx context.Context, id, owner string) error
	// RetryJobLater releases the lease, counts the attempt and makes the job
	// due again at at.
	RetryJobLater(ctx context.Context, id, owner string, at time.Time, errText string) error
	// FailJob counts the attempt and keeps the job with status failed, for
	// an operator to inspect; it is never run again.
	FailJob(ctx context.Context, id, owner, errText string) error
	// CancelJob stops a pending job (leased or not); finished jobs are left
	// as they are. ErrNotFound when the id is unknown.
	CancelJob(ctx context.Context, id string) error
	// CountPendingJobs reports the queue depth (leased jobs included).
	CountPendingJobs(ctx context.Context) (int64, error)
}

// Users are the people who log in to the builder and the inbox.
type Users interface {
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByLogin serves sign-in; ErrNotFound when no user has that login.
	GetUserByLogin(ctx context.Context, login string) (*User, error)
	// PutUser creates or replaces a user; ErrDuplicate when another user has the login.
	PutUser(ctx context.Context, u User) error
	// ListUsers returns all users ordered by ID.
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser returns ErrNotFound when the id is unknown.
	DeleteUser(ctx context.Context, id string) error
}

// Bots are the configured bots with their channels and settings.
type Bots interface {
	GetBot(ctx context.Context, id string) (*Bot, error)
	// PutBot creates or replaces a bot, whatever its Rev (config as code at
	// start-up); the stored Rev becomes the previous one plus one.
	PutBot(ctx context.Context, b Bot) error
	// ListBots returns all bots ordered by ID.
	ListBots(ctx context.Context) ([]Bot, error)
	// DeleteBot returns ErrNotFound when the id is unknown.
	DeleteBot(ctx context.Context, id string) error
}

// Maintenance is the housekeeping an operator or a scheduled job runs.
type Maintenance interface {
	// Purge deletes old events, messages and finished jobs (done and
	// cancelled ones, and failed ones by their own age, so an operator has
	// longer to inspect them). Pending jobs, conversations, flows and
	// anything else are never touched. It replaces TTL indexes, which not
	// every deployment has. A purge need not be atomic: a large one runs in
	// bounded steps so other writes go on meanwhile, and a purge cut short
	// (an error, ctx) has deleted a part and is simply run again.
	Purge(ctx context.Context, o PurgeOptions) (PurgeResult, error)
	// Ping reports whether the store can serve requests (readiness).
	Ping(ctx context.Context) error
	// Close releases the store; the value is unusable afterwards.
	Close(ctx context.Context) error
}

// PurgeOptions says what is old enough to delete; a zero time skips that kind.
type PurgeOptions struct {
	EventsBefore   time.Time
	MessagesBefore time.Time
	// JobsBefore applies to done and cancelled jobs by their UpdatedAt.
	JobsBefore time.Time
	// FailedJobsBefore applies to failed jobs by their UpdatedAt.
	FailedJobsBefore time.Time
}

// PurgeResult counts what Purge deleted, for a log line or a metric.
type PurgeResult struct {
	Events   int64
	Messages int64
	// Jobs counts finished jobs of every status together.
	Jobs int64
}

// ClampLimit turns a caller's page size into one the stores serve.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
