// Package channel is the contract between messenger adapters and the
// runtime: what an adapter hands in (Inbound), what the runtime asks it to
// send (Outbound), and how a send fails (SendError). Adapters import this
// package and the engine's types, never the runtime or the server.
package channel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voronka/voronka/engine"
)

// Kind says what an inbound update is.
type Kind uint8

// Inbound kinds.
const (
	// KindText is a message the person typed.
	KindText Kind = iota
	// KindPress is a button press; Payload holds the button's payload.
	KindPress
	// KindBlocked says the person blocked the bot (Telegram my_chat_member, Viber unsubscribed…).
	KindBlocked
	// KindUnblocked says the person allowed the bot again.
	KindUnblocked
)

// Inbound is one platform update, turned into Voronka's terms by an adapter.
type Inbound struct {
	Bot     string // bot id in Voronka
	Channel string // "telegram", "web", "whatsapp"…
	Chat    string // the platform's chat id, as text
	// UpdateID identifies the update on its platform; the runtime drops an
	// update whose id it has seen for this conversation (exactly-once).
	UpdateID string
	Kind     Kind
	Text     string
	Payload  string
	Contact  engine.Contact
	Time     time.Time
	// Source is where the person came from, when the update says (a
	// Telegram /start payload, the web chat's data-source); UTM holds the
	// utm_* parameters of the page the web chat was opened on, as a URL
	// query ("utm_source=vk&utm_campaign=spring"; a string keeps Inbound
	// comparable). The runtime keeps both on the conversation's contact
	// and on its first events.
	Source string
	UTM    string
}

// Outbound is one message to deliver.
type Outbound struct {
	ID string // stable id: retries of the same message carry the same id
	// IdempotencyKey is the same for every attempt to send this message,
	// in any process: an adapter whose platform deduplicates sends (VK's
	// random_id) passes it on, so a send repeated after a crash is
	// delivered once.
	IdempotencyKey string
	// Bot is the Voronka bot sending it: one channel (Telegram) may serve
	// several bots, each with its own token.
	Bot     string
	Chat    string
	Text    string
	Buttons []engine.Button
	// LastInbound is when the person last wrote (zero: unknown); WhatsApp
	// sends free-form messages only within 24 hours of it.
	LastInbound time.Time
	// Template is the approved template to send where a free-form message
	// is not allowed (WhatsApp outside the 24-hour window); nil if none.
	Template *Template
	// Author is the display name of the operator who wrote it ("" for the
	// bot's messages); a channel may show it (the web chat does).
	Author string
	// Notice, when set, makes this a notice rather than a message (only a
	// Noticer gets one): NoticeJoined says Author joined the chat.
	Notice string
}

// Sent is what a platform said about a delivered message.
type Sent struct {
	PlatformID string // the platform's message id
}

// Handler takes inbound updates. Handle returns once the update is durably
// recorded (or known to be a duplicate): only then may an adapter
// acknowledge it to the platform, so a crash never loses a message.
type Handler interface {
	Handle(ctx context.Context, in Inbound) error
}

// Sender delivers messages on one channel. Errors are *SendError so the
// runtime can tell retryable failures from final ones.
type Sender interface {
	Send(ctx context.Context, msg Outbound) (Sent, error)
}

// Limits are a channel's rate limits, enforced by the runtime's senders with
// token buckets before a request reaches the platform.
type Limits struct {
	PerSecond     float64 // whole bot
	Burst         int
	PerChatSecond float64 // one private chat
	PerChatBurst  int
	PerGroupMin   float64 // one group chat, per minute
}

// TelegramLimits are Telegram's documented limits (PLATFORMS.md).
var TelegramLimits = Limits{PerSecond: 30, Burst: 30, PerChatSecond: 1, PerChatBurst: 3, PerGroupMin: 20}

// SendError is a failed send, classified.
type SendError struct {
	// Retryable says the same message may succeed later (429, 5xx, network).
	Retryable bool
	// RetryAfter is how long the platform asked us to wait, if it said.
	RetryAfter time.Duration
	// Blocked says the person blocked the bot or is gone (Telegram 403):
	// stop sending to this chat and mark the contact blocked.
	Blocked bool
	Code    int // the platform's error code, for logs and metrics
	Err     error
}

func (e *SendError) Error() string {
	switch {
	case e.Blocked:
		return fmt.Sprintf("send: blocked (%d): %v", e.Code, e.Err)
	case e.Retryable:
		return fmt.Sprintf("send: retryable (%d, retry after %s): %v", e.Code, e.RetryAfter, e.Err)
	}
	return fmt.Sprintf("send: failed (%d): %v", e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// AsSendError classifies any error: a *SendError as it is, anything else
// (a network error, a context timeout) as retryable.
func AsSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Retryable: true, Err: err}
}
