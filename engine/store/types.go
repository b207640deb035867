package store

import "time"

// Status is where a conversation stands; the inbox lists by it.
type Status string

// Conversation statuses.
const (
	StatusBot     Status = "bot"     // the bot is running the flow
	StatusWaiting Status = "waiting" // waiting for the contact (question, delay)
	StatusHandoff Status = "handoff" // handed to a human operator
	StatusEnded   Status = "ended"   // the flow finished or the chat was closed
)

// Conversation is the one document per (bot, channel, chat) that the runtime
// loads, steps and writes back conditionally on Version.
type Conversation struct {
	// ID is deterministic, see ConversationID.
	ID      string `json:"id" bson:"_id"`
	Bot     string `json:"bot" bson:"bot"`
	Channel string `json:"channel" bson:"channel"`
	Chat    string `json:"chat" bson:"chat"`

	Contact Contact `json:"contact" bson:"contact"`
	Consent Consent `json:"consent" bson:"consent"`
	Blocked bool    `json:"blocked,omitempty" bson:"blocked"`

	FlowID      string `json:"flow_id,omitempty" bson:"flow_id"`
	FlowVersion int    `json:"flow_version,omitempty" bson:"flow_version"`
	Node        string `json:"node,omitempty" bson:"node"`
	Status      Status `json:"status,omitempty" bson:"status"`

	Score   float64  `json:"score,omitempty" bson:"score"`
	Segment string   `json:"segment,omitempty" bson:"segment"`
	Tags    []string `json:"tags,omitempty" bson:"tags"`
	// Vars is a readable copy of the flow variables; State is authoritative.
	Vars map[string]any `json:"vars,omitempty" bson:"vars"`
	// State is the engine's encoded state, opaque to the store.
	State []byte `json:"state,omitempty" bson:"state"`

	// Outbox holds messages written with the state and not yet delivered.
	Outbox []OutMessage `json:"outbox,omitempty" bson:"outbox"`
	// RecentUpdates are the last inbound update ids, for exactly-once; the
	// caller keeps the list short.
	RecentUpdates []string `json:"recent_updates,omitempty" bson:"recent_updates"`
	// Operator is the user the conversation is assigned to in the inbox.
	Operator string `json:"operator,omitempty" bson:"operator"`
	// Inbox is the operator inbox's state, once the chat was handed off.
	Inbox *Inbox `json:"inbox,omitempty" bson:"inbox,omitempty"`

	CreatedAt     time.Time `json:"created_at,omitzero" bson:"created_at"`
	UpdatedAt     time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	LastInboundAt time.Time `json:"last_inbound_at,omitzero" bson:"last_inbound_at"`

	// Version is the optimistic-lock counter; stores own it.
	Version int64 `json:"version" bson:"version"`
}

// ConversationID builds the deterministic conversation id "bot:channel:chat".
// Bot ids and channel types must not contain ':' (chat ids may).
func ConversationID(bot, channel, chat string) string {
	return bot + ":" + channel + ":" + chat
}

// Contact is what the messenger tells us about the person.
type Contact struct {
	FirstName string `json:"first_name,omitempty" bson:"first_name"`
	LastName  string `json:"last_name,omitempty" bson:"last_name"`
	Username  string `json:"username,omitempty" bson:"username"`
	Language  string `json:"language,omitempty" bson:"language"`
	Phone     string `json:"phone,omitempty" bson:"phone"`
	// Source is where the person came from (a deep-link payload, the web
	// chat's data-source), as the conversation's first update said; UTM
	// are the utm_* parameters of the page the web chat was opened on.
	Source string            `json:"source,omitempty" bson:"source,omitempty"`
	UTM    map[string]string `json:"utm,omitempty" bson:"utm,omitempty"`
}

// Consent records whether broadcasts may be sent, and since when and why.
type Consent struct {
	Subscribed bool      `json:"subscribed,omitempty" bson:"subscribed"`
	At         time.Time `json:"at,omitzero" bson:"at"`
	Source     string    `json:"source,omitempty" bson:"source"`
}

// OutMessage is one message (or effect) waiting in a conversation's outbox.
type OutMessage struct {
	ID        string    `json:"id" bson:"id"`
	Kind      string    `json:"kind,omitempty" bson:"kind"`
	Text      string    `json:"text,omitempty" bson:"text"`
	Buttons   []Button  `json:"buttons,omitempty" bson:"buttons"`
	Attempts  int       `json:"attempts,omitempty" bson:"attempts"`
	NotBefore time.Time `json:"not_before,omitzero" bson:"not_before"`
	// Owner is the process (its lease owner id) that delivers the item;
	// when its lease ends another process adopts the item.
	Owner string `json:"owner,omitempty" bson:"owner,omitempty"`
	// At is when the item was queued: its transcript line's time, and the
	// time of its delivery events, so a repeated delivery's event has the
	// same identity (ID and At) and is stored once.
	At time.Time `json:"at,omitzero" bson:"at,omitempty"`
	// FailingSince is when the first attempt to send it failed with an
	// error worth retrying; retries stop a horizon after it.
	FailingSince time.Time `json:"failing_since,omitzero" bson:"failing_since,omitempty"`
	// LastError is the last retryable failure, for the inbox and logs.
	LastError string `json:"last_error,omitempty" bson:"last_error,omitempty"`
	// Template is the WhatsApp template sent instead of Text outside the
	// 24-hour window; nil when the flow names none.
	Template *MessageTemplate `json:"template,omitempty" bson:"template,omitempty"`
	// Author is the display name of the operator who wrote it.
	Author string `json:"author,omitempty" bson:"author,omitempty"`
	// Watched says the inbox's streams showed its line as pending, so
	// they are told its delivery whatever the chat's inbox state is by
	// then (a resume message after a hand-back, the CSAT question).
	Watched bool `json:"watched,omitempty" bson:"watched,omitempty"`
	// Logs are the transcript lines and events of the change that queued
	// the item, carried here on a store that writes them apart from the
	// conversation (Conversations.LogsApart) until they are appended
	// together with the item's delivery event: one write for both. They
	// leave the document with the item.
	Logs *PendingLogs `json:"logs,omitempty" bson:"logs,omitempty"`
}

// PendingLogs are transcript lines and events not appended yet.
type PendingLogs struct {
	Messages []Message `json:"messages,omitempty" bson:"messages,omitempty"`
	Events   []Event   `json:"events,omitempty" bson:"events,omitempty"`
}

// Button is a reply button: what the contact sees and what comes back.
type Button struct {
	Label   string `json:"label" bson:"label"`
	Payload string `json:"payload,omitempty" bson:"payload"`
}

// AudienceQuery selects broadcast recipients of one bot. Only subscribed,
// not blocked conversations are returned; empty fields do not filter.
type AudienceQuery struct {
	Bot      string
	Channel  string
	Segment  string
	Tag      string
	Phone    string
	Username string
	// After is the last id of the previous page ("" for the first page).
	After string
	Limit int
}

// InboxQuery selects a bot's conversations for the operator inbox.
type InboxQuery struct {
	Bot string
	// Status filters by status; "" lists all.
	Status Status
	// Cursor is the next value of the previous page ("" for the first page).
	Cursor string
	Limit  int
	// Inbox, when set, lists handed-off conversations by their inbox state
	// instead of by Status (which is then ignored); Bot "" means every bot.
	Inbox *InboxFilter
}

// Direction says who wrote a transcript line.
type Direction string

// Transcript directions.
const (
	DirectionIn       Direction = "in"       // from the contact
	DirectionBot      Direction = "bot"      // sent by the flow
	DirectionOperator Direction = "operator" // sent by a human operator
)

// Message is one line of a conversation's transcript.
type Message struct {
	// ID is chosen by the caller (deterministic, so retries are harmless).
	ID             string    `json:"id" bson:"_id"`
	ConversationID string    `json:"conversation_id" bson:"conversation_id"`
	Bot            string    `json:"bot,omitempty" bson:"bot"`
	Direction      Direction `json:"direction" bson:"direction"`
	Text           string    `json:"text,omitempty" bson:"text"`
	Buttons        []Button  `json:"buttons,omitempty" bson:"buttons,omitempty"`
	// Operator is the user who wrote an operator message (or note), and
	// Author their display name then.
	Operator string    `json:"operator,omitempty" bson:"operator,omitempty"`
	Author   string    `json:"author,omitempty" bson:"author,omitempty"`
	At       time.Time `json:"at" bson:"at"`
	// Status is "failed" on the line that records a message the platform
	// never took (given up after the send horizon, refused for good, or
	// dropped because the chat blocked the bot); Error says why.
	Status string `json:"status,omitempty" bson:"status,omitempty"`
	Error  string `json:"error,omitempty" bson:"error,omitempty"`
	// Event and Data describe a system line (DirectionSystem): what
	// changed in the inbox (assigned, resolved, …) and its details.
	Event string         `json:"event,omitempty" bson:"event,omitempty"`
	Data  map[string]any `json:"data,omitempty" bson:"data,omitempty"`
}

// MessageFailed is the Status of a transcript line recording a message that
// was never delivered.
const MessageFailed = "failed"

// Event is one analytics fact; ID is deterministic (e.g. derived from the
// update id and the step) so a replay appends nothing twice.
type Event struct {
	ID           string         `json:"id" bson:"_id"`
	Bot          string         `json:"bot" bson:"bot"`
	Flow         string         `json:"flow,omitempty" bson:"flow"`
	FlowVersion  int            `json:"flow_version,omitempty" bson:"flow_version"`
	Node         string         `json:"node,omitempty" bson:"node"`
	Type         string         `json:"type" bson:"type"`
	Conversation string         `json:"conversation,omitempty" bson:"conversation"`
	Channel      string         `json:"channel,omitempty" bson:"channel"`
	At           time.Time      `json:"at" bson:"at"`
	Data         map[string]any `json:"data,omitempty" bson:"data,omitempty"`
}

// EventQuery is a range query over one bot's event log.
type EventQuery struct {
	Bot string
	// Flow and Types filter when set.
	Flow  string
	Types []string
	// From is inclusive, To exclusive; zero means unbounded.
	From, To time.Time
	Cursor   string
	Limit    int
}

// FlowDraft is the editable flow document of (Bot, FlowID).
type FlowDraft struct {
	Bot    string `json:"bot" bson:"bot"`
	FlowID string `json:"flow_id" bson:"flow_id"`
	// Doc is the encoded flow document, opaque to the store.
	Doc       []byte    `json:"doc" bson:"doc"`
	UpdatedAt time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty" bson:"updated_by"`
	// Name, Errors and Warnings summarise Doc when it was saved, so the list
	// of a bot's flows is drawn without parsing a single draft.
	Name     string `json:"name,omitempty" bson:"name,omitempty"`
	Errors   int    `json:"errors,omitempty" bson:"errors,omitempty"`
	Warnings int    `json:"warnings,omitempty" bson:"warnings,omitempty"`
}

// FlowVersion is an immutable published flow document.
type FlowVersion struct {
	Bot         string    `json:"bot" bson:"bot"`
	FlowID      string    `json:"flow_id" bson:"flow_id"`
	Version     int       `json:"version" bson:"version"`
	Doc         []byte    `json:"doc,omitempty" bson:"doc,omitempty"`
	Note        string    `json:"note,omitempty" bson:"note"`
	PublishedAt time.Time `json:"published_at,omitzero" bson:"published_at"`
	PublishedBy string    `json:"published_by,omitempty" bson:"published_by"`
	// Name is the flow's name in Doc, kept for the flow list.
	Name string `json:"name,omitempty" bson:"name,omitempty"`
}

// JobStatus is where a job is in its life.
type JobStatus string

// Job statuses. A leased job is still pending: its lease says who runs it.
const (
	JobPending   JobStatus = "pending"
	JobDone      JobStatus = "done"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Job is a unit of scheduled work (timer, broadcast batch, resend, purge).
type Job struct {
	// ID is deterministic so scheduling the same work twice is harmless.
	ID     string `json:"id" bson:"_id"`
	Kind   string `json:"kind" bson:"kind"`
	Bot    string `json:"bot,omitempty" bson:"bot"`
	Target string `json:"target,omitempty" bson:"target"`
	// Payload is kind-specific, opaque to the store.
	Payload []byte    `json:"payload,omitempty" bson:"payload"`
	DueAt   time.Time `json:"due_at" bson:"due_at"`
	// Status is set by the store; ScheduleJob always stores JobPending.
	Status     JobStatus `json:"status" bson:"status"`
	Attempts   int       `json:"attempts,omitempty" bson:"attempts"`
	LeaseOwner string    `json:"lease_owner,omitempty" bson:"lease_owner"`
	LeaseUntil time.Time `json:"lease_until,omitzero" bson:"lease_until"`
	LastError  string    `json:"last_error,omitempty" bson:"last_error"`
	CreatedAt  time.Time `json:"created_at,omitzero" bson:"created_at"`
	UpdatedAt  time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	// Rev counts writes; stores use it for conditional updates.
	Rev int64 `json:"rev" bson:"rev"`
}

// Leased reports whether someone holds an unexpired lease at now.
func (j *Job) Leased(now time.Time) bool {
	return j.LeaseOwner != "" && j.LeaseUntil.After(now)
}

// Role is what a user may do.
type Role string

// User roles.
const (
	RoleAdmin    Role = "admin"
	RoleMarketer Role = "marketer"
	RoleOperator Role = "operator"
)

// User is a person who signs in to the builder or the inbox.
type User struct {
	ID           string    `json:"id" bson:"_id"`
	Login        string    `json:"login" bson:"login"`
	Name         string    `json:"name,omitempty" bson:"name"`
	Role         Role      `json:"role" bson:"role"`
	PasswordHash string    `json:"password_hash,omitempty" bson:"password_hash"`
	CreatedAt    time.Time `json:"created_at,omitzero" bson:"created_at"`
	// Queues are the inbox queues (teams) the user works; none means every queue.
	Queues []string `json:"queues,omitempty" bson:"queues,omitempty"`
	// Capacity is how many open chats the user takes at once (0: DefaultCapacity).
	Capacity int `json:"capacity,omitempty" bson:"capacity,omitempty"`
}

// DefaultCapacity is a user's capacity when none is set.
const DefaultCapacity = 10

// MaxOpen is the user's capacity, DefaultCapacity when none is set.
func (u *User) MaxOpen() int {
	if u.Capacity > 0 {
		return u.Capacity
	}
	return DefaultCapacity
}

// InQueue reports whether the user works queue q (a user with no queues works every queue).
func (u *User) InQueue(q string) bool {
	return len(u.Queues) == 0 || containsString(u.Queues, q)
}

// Bot is a configured bot: which flow it runs and where.
type Bot struct {
	ID       string      `json:"id" bson:"_id"`
	Name     string      `json:"name" bson:"name"`
	FlowID   string      `json:"flow_id,omitempty" bson:"flow_id"`
	Channels []Channel   `json:"channels,omitempty" bson:"channels"`
	Settings BotSettings `json:"settings" bson:"settings"`
	// ConfigAsCode says voronka.yaml or the environment declares the bot:
	// every start-up writes it again from there.
	ConfigAsCode bool      `json:"config_as_code,omitempty" bson:"config_as_code,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero" bson:"created_at"`
	UpdatedAt    time.Time `json:"updated_at,omitzero" bson:"updated_at"`
	// Rev counts the bot's writes; UpdateBot is conditional on it.
	Rev int64 `json:"rev" bson:"rev"`
}

// Channel is one messenger connection of a bot. Token and Secret are
// sealed (internal/sealed) when VORONKA_SECRET_KEY is set.
type Channel struct {
	// ID names the channel within its bot; "" reads as Type (a bot has at
	// most one channel of each type: its webhooks are /{type}/{bot}).
	ID       string            `json:"id,omitempty" bson:"id,omitempty"`
	Type     string            `json:"type" bson:"type"`
	Token    string            `json:"token,omitempty" bson:"token"`
	Secret   string            `json:"secret,omitempty" bson:"secret"`
	APIURL   string            `json:"api_url,omitempty" bson:"api_url,omitempty"`
	Settings map[string]string `json:"settings,omitempty" bson:"settings"`
	// Account and Link are who the bot is on the platform, as its token
	// check said ("@shop_bot", "https://t.me/shop_bot").
	Account   string    `json:"account,omitempty" bson:"account,omitempty"`
	Link      string    `json:"link,omitempty" bson:"link,omitempty"`
	DeepLink  string    `json:"deep_link,omitempty" bson:"deep_link,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero" bson:"created_at,omitempty"`
}

// ChannelID is c.ID, or its type when it has none.
func (c Channel) ChannelID() string {
	if c.ID != "" {
		return c.ID
	}
	return c.Type
}

// BotSettings are per-bot behaviour knobs.
type BotSettings struct {
	// TimeZone is an IANA name such as "Europe/Moscow".
	TimeZone string `json:"time_zone,omitempty" bson:"time_zone"`
	// QuietHours, when set, is a local "HH:MM" window with no broadcasts.
	QuietHours *QuietHours `json:"quiet_hours,omitempty" bson:"quiet_hours,omitempty"`
	// AllowedEnv names the environment variables flows may read.
	AllowedEnv []string `json:"allowed_env,omitempty" bson:"allowed_env"`
	// StopWords unsubscribe from broadcasts whoever sends one of them as a
	// whole message; nil means the built-in /stop, стоп, отписаться, stop,
	// unsubscribe (an empty list turns them off).
	StopWords []string `json:"stop_words" bson:"stop_words"`
	// BroadcastsPerWeek caps the broadcasts one contact gets in any 7 days
	// (0: no cap).
	BroadcastsPerWeek int `json:"broadcasts_per_week,omitempty" bson:"broadcasts_per_week,omitempty"`
	// WorkingHours is when people answer chats handed off (the inbox's
	// offline branch); nil means always.
	WorkingHours *WorkingHours `json:"working_hours,omitempty" bson:"working_hours,omitempty"`
}

// QuietHours is a daily local-time window, e.g. 22:00–09:00.
type QuietHours struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

// HasTag reports whether the conversation carries tag.
func (c *Conversation) HasTag(tag string) bool {
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// MatchesAudience reports whether c is a broadcast recipient for q.
func (c *Conversation) MatchesAudience(q AudienceQuery) bool {
	return c.Bot == q.Bot && c.Consent.Subscribed && !c.Blocked &&
		(q.Channel == "" || c.Channel == q.Channel) &&
		(q.Segment == "" || c.Segment == q.Segment) &&
		(q.Tag == "" || c.HasTag(q.Tag)) &&
		(q.Phone == "" || c.Contact.Phone == q.Phone) &&
		(q.Username == "" || c.Contact.Username == q.Username)
}

// The transitions below are the meaning of the Jobs methods; every store
// applies them, so the stores cannot disagree on what "retry" or "fail" does.

// MarkDone is CompleteJob's change: done, lease released.
func (j *Job) MarkDone() {
	j.Status = JobDone
	j.LeaseUntil = time.Time{}
}

// MarkRetry is RetryJobLater's change: one more attempt, due again at at,
// the lease released for anyone to claim.
func (j *Job) MarkRetry(at time.Time, errText string) {
	j.Attempts++
	j.DueAt = at
	j.LastError = errText
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
}

// MarkFailed is FailJob's change: one more attempt, kept as failed.
func (j *Job) MarkFailed(errText string) {
	j.Attempts++
	j.Status = JobFailed
	j.LastError = errText
	j.LeaseUntil = time.Time{}
}

// MarkCancelled is CancelJob's change: cancelled, lease released.
func (j *Job) MarkCancelled() {
	j.Status = JobCancelled
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
}

// MessageTemplate is an approved WhatsApp template with its parameters.
type MessageTemplate struct {
	Name     string   `json:"name" bson:"name"`
	Language string   `json:"language" bson:"language"`
	Params   []string `json:"params,omitempty" bson:"params,omitempty"`
}
