package tgfake

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// SentMessage is one successful bot call that sent or edited a message.
type SentMessage struct {
	// Method is "sendMessage" or "editMessageReplyMarkup".
	Method    string `json:"method"`
	ChatID    int64  `json:"chat_id"`
	MessageID int    `json:"message_id"`
	// Text is the message text (for edits, the unchanged text).
	Text      string `json:"text"`
	ParseMode string `json:"parse_mode,omitempty"`
	// ReplyMarkup is the reply_markup JSON (inline keyboards canonicalised);
	// nil when none was sent.
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
	// Keyboard is the decoded inline keyboard, nil when none.
	Keyboard *InlineKeyboardMarkup `json:"-"`
	Time     time.Time             `json:"time"`
}

// CallbackAnswer is one successful answerCallbackQuery.
type CallbackAnswer struct {
	QueryID   string    `json:"callback_query_id"`
	Text      string    `json:"text,omitempty"`
	ShowAlert bool      `json:"show_alert,omitempty"`
	URL       string    `json:"url,omitempty"`
	Time      time.Time `json:"time"`
}

// Stats are request counters.
type Stats struct {
	// Requests counts authorised Bot API calls by canonical method name
	// (only methods with at least one call appear); unknown methods are
	// counted under "unknown".
	Requests map[string]int64 `json:"requests"`
	// TooManyRequests counts 429 answers.
	TooManyRequests int64 `json:"too_many_requests"`
	// Sent counts recorded sends and edits.
	Sent int `json:"sent"`
	// UpdatesCreated, UpdatesPending count updates produced and still
	// awaiting delivery or confirmation.
	UpdatesCreated int `json:"updates_created"`
	UpdatesPending int `json:"updates_pending"`
}

// recordLocked records a successful send or edit and wakes its chat's
// waiters.
func (f *Fake) recordLocked(m SentMessage) {
	f.sent.Add(chatKey(m.ChatID), m)
}

// chatKey is a chat id as the records key it.
func chatKey(chatID int64) string { return strconv.FormatInt(chatID, 10) }

// Sent returns the recorded sends and edits in chat chatID, oldest first
// (none when Lean).
func (f *Fake) Sent(chatID int64) []SentMessage { return f.sent.Chat(chatKey(chatID)) }

// AllSent returns every recorded send and edit, oldest first (none when
// Lean).
func (f *Fake) AllSent() []SentMessage { return f.sent.All() }

// WaitSent blocks until at least n sends/edits are recorded in chat chatID
// (or ctx ends) and returns them all. It waits on a notification, never by
// polling.
func (f *Fake) WaitSent(ctx context.Context, chatID int64, n int) ([]SentMessage, error) {
	return f.sent.Wait(ctx, chatKey(chatID), n)
}

// WaitSentCount is WaitSent returning how many sends and edits chat chatID
// has rather than a copy of them (see fakekit.Records.WaitCount).
func (f *Fake) WaitSentCount(ctx context.Context, chatID int64, n int) (int, error) {
	return f.sent.WaitCount(ctx, chatKey(chatID), n)
}

// WaitAllSent blocks until at least n sends/edits are recorded in total.
func (f *Fake) WaitAllSent(ctx context.Context, n int) error { return f.sent.WaitAll(ctx, n) }

// ClearSent forgets the recorded sends, edits and callback answers, and
// their counts (the messages themselves stay editable and pressable). A
// load run bounds its memory with Options.Lean instead.
func (f *Fake) ClearSent() {
	f.sent.Clear()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = nil
}

// CallbackAnswers returns the successful answerCallbackQuery calls.
func (f *Fake) CallbackAnswers() []CallbackAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]CallbackAnswer(nil), f.answers...)
}

// Stats returns the request counters.
func (f *Fake) Stats() Stats {
	s := Stats{Requests: map[string]int64{}, TooManyRequests: f.tooMany.Load()}
	for name, c := range f.reqCount {
		if n := c.Load(); n > 0 {
			s.Requests[name] = n
		}
	}
	if n := f.unknownReq.Load(); n > 0 {
		s.Requests["unknown"] = n
	}
	f.mu.Lock()
	s.Sent = f.sent.Len()
	s.UpdatesCreated = int(f.nextUpdateID - 1)
	s.UpdatesPending = f.pendingN
	f.mu.Unlock()
	return s
}
