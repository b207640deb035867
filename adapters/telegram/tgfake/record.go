package tgfake

import (
	"context"
	"encoding/json"
	"fmt"
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

// recordLocked appends a recorded call and wakes waiters.
func (f *Fake) recordLocked(m SentMessage) {
	f.sentCount[m.ChatID]++
	f.sentTotal++
	if !f.opts.Lean {
		f.sentByChat[m.ChatID] = append(f.sentByChat[m.ChatID], len(f.sent))
		f.sent = append(f.sent, m)
	}
	f.chatChangedLocked(m.ChatID)
	f.changedLocked()
}

// Sent returns the recorded sends and edits in chat chatID, oldest first.
func (f *Fake) Sent(chatID int64) []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sentLocked(chatID)
}

func (f *Fake) sentLocked(chatID int64) []SentMessage {
	idx := f.sentByChat[chatID]
	out := make([]SentMessage, len(idx))
	for i, j := range idx {
		out[i] = f.sent[j]
	}
	return out
}

// AllSent returns every recorded send and edit, oldest first.
func (f *Fake) AllSent() []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentMessage(nil), f.sent...)
}

// WaitSent blocks until at least n sends/edits are recorded in chat chatID
// (or ctx ends) and returns them all. It waits on a notification, never by
// polling.
func (f *Fake) WaitSent(ctx context.Context, chatID int64, n int) ([]SentMessage, error) {
	var out []SentMessage
	err := f.waitSent(ctx, chatID, n, func() { out = f.sentLocked(chatID) })
	return out, err
}

// WaitSentCount is WaitSent returning how many sends and edits chat chatID
// has rather than a copy of them (see fakekit.Records.WaitCount).
func (f *Fake) WaitSentCount(ctx context.Context, chatID int64, n int) (int, error) {
	var have int
	err := f.waitSent(ctx, chatID, n, func() { have = f.sentCount[chatID] })
	return have, err
}

// waitSent waits for n sends and edits in chat chatID, then calls got with
// the lock held.
func (f *Fake) waitSent(ctx context.Context, chatID int64, n int, got func()) error {
	have := 0
	err := f.waitForChat(ctx, chatID, func() bool {
		if have = f.sentCount[chatID]; have < n {
			return false
		}
		got()
		return true
	})
	if err != nil {
		return fmt.Errorf("wait for %d messages in chat %d (have %d): %w", n, chatID, have, err)
	}
	return nil
}

// WaitAllSent blocks until at least n sends/edits are recorded in total.
func (f *Fake) WaitAllSent(ctx context.Context, n int) error {
	if err := f.waitFor(ctx, func() bool { return f.sentTotal >= n }); err != nil {
		return fmt.Errorf("wait for %d messages: %w", n, err)
	}
	return nil
}

// ClearSent forgets the recorded sends, edits and callback answers, and
// their counts (the messages themselves stay editable and pressable). A
// load run bounds its memory with Options.Lean instead.
func (f *Fake) ClearSent() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent, f.sentTotal = nil, 0
	f.sentByChat, f.sentCount = map[int64][]int{}, map[int64]int{}
	f.answers = nil
	f.changedLocked()
	f.everyChatChangedLocked()
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
	s.Sent = f.sentTotal
	s.UpdatesCreated = f.updatesCreated
	s.UpdatesPending = f.pendingN
	f.mu.Unlock()
	return s
}
