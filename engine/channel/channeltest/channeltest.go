// Package channeltest is the conformance suite every messenger adapter runs
// against its fake platform (as storetest is for stores): an update is
// acknowledged only once stored, a redelivery carries the same update id,
// a button press comes back with its payload, rate limits and server errors
// are retryable (with the platform's wait), a block marks the contact
// blocked, a forged request is refused with 401 and changes nothing, a long
// text is split and a retried send does not repeat the parts already sent,
// and no secret appears in an error or a log line.
//
// An adapter's test builds a Subject whose New wires a fresh adapter to a
// fresh fake and returns the Platform side of it, then calls Run.
package channeltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// Failure is a way the platform fails the next sends.
type Failure int

// Failures.
const (
	// RateLimited: the platform's rate-limit error (Telegram 429, WhatsApp
	// 130429, Viber status 12, VK error 6).
	RateLimited Failure = iota + 1
	// ServerError: a 5xx or the platform's internal error.
	ServerError
)

// Delivery is a platform's handle on one webhook delivery.
type Delivery any

// Platform is the fake platform side of a rig.
type Platform interface {
	// Chat returns the id of a new chat whose person has written to the bot
	// (so the bot may write back) without that update reaching the suite's
	// handler as anything but a text.
	Chat(t *testing.T) string
	// Write makes the person in chat write text; the platform delivers it
	// to the adapter's webhook, retrying as it does.
	Write(t *testing.T, chat, text string) Delivery
	// Press makes the person press the button with payload on the latest
	// message with buttons the bot sent to chat.
	Press(t *testing.T, chat, payload string) Delivery
	// Accepted reports whether the platform counts d as delivered (its
	// webhook answer accepted) and after how many attempts.
	Accepted(t *testing.T, d Delivery) (bool, int)
	// Forge posts a well-formed update from chat to the webhook with a
	// wrong signature or secret and returns the HTTP status.
	Forge(t *testing.T, chat, text string) int
	// Fail lets skip sends through, then fails the next n the given way.
	Fail(t *testing.T, skip, n int, f Failure)
	// Block makes the person block the bot; false if the platform cannot
	// tell a bot that sends. A platform may refuse the send (Telegram's
	// 403) or take it and report the failure by a receipt (WhatsApp's
	// failed status with 131026).
	Block(t *testing.T, chat string) bool
	// Sent returns the texts the platform took for chat, in order.
	Sent(t *testing.T, chat string) []string
}

// Subject is one adapter under test.
type Subject struct {
	// TextLimit is the longest text the adapter sends in one message.
	TextLimit int
	// Secrets must never appear in an error or a log line (tokens, app
	// secrets, webhook secrets).
	Secrets []string
	// New builds a fresh adapter wired to a fresh fake: h gets the inbound
	// updates, log every log line of the adapter.
	New func(t *testing.T, h channel.Handler, log *slog.Logger) (channel.Sender, Platform)
}

// Run runs every check, each on a fresh rig.
func Run(t *testing.T, s Subject) {
	checks := []struct {
		name string
		fn   func(*testing.T, *rig)
	}{
		{"AckOnlyAfterStored", ackOnlyAfterStored},
		{"RedeliverySameUpdateID", redeliverySameID},
		{"PressComesBackWithPayload", pressPayload},
		{"RateLimitRetryable", failRetryable(RateLimited)},
		{"ServerErrorRetryable", failRetryable(ServerError)},
		{"BlockMarksBlocked", blockMarksBlocked},
		{"ForgedRefused", forgedRefused},
		{"LongTextSplitNoRepeat", longTextNoRepeat},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, s)
			c.fn(t, r)
			r.checkSecrets(t)
		})
	}
}

// rig is one adapter, its fake and the suite's handler.
type rig struct {
	s      Subject
	send   channel.Sender
	p      Platform
	h      *Recorder
	logBuf *syncBuffer
	errs   []error
}

func newRig(t *testing.T, s Subject) *rig {
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewRecorder()
	send, p := s.New(t, h, log)
	return &rig{s: s, send: send, p: p, h: h, logBuf: buf}
}

func (r *rig) sendMsg(t *testing.T, msg channel.Outbound) (channel.Sent, *channel.SendError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := r.send.Send(ctx, msg)
	if err == nil {
		return sent, nil
	}
	r.errs = append(r.errs, err)
	var se *channel.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send returned %T (%v), want a *channel.SendError", err, err)
	}
	return sent, se
}

func (r *rig) checkSecrets(t *testing.T) {
	t.Helper()
	logs := r.logBuf.String()
	for _, sec := range r.s.Secrets {
		if sec == "" {
			continue
		}
		for _, e := range r.errs {
			if strings.Contains(e.Error(), sec) {
				t.Errorf("a secret appears in an error: %v", e)
			}
		}
		if strings.Contains(logs, sec) {
			t.Errorf("a secret appears in a log line:\n%s", logs)
		}
	}
}

// waitFor polls cond on a short tick: the suite cannot block on every
// platform's internals, and asserts no timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ackOnlyAfterStored(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	release := r.h.Hold("hold me")
	d := r.p.Write(t, chat, "hold me")
	r.h.WaitEntered(t, "hold me")
	if ok, _ := r.p.Accepted(t, d); ok {
		t.Fatal("the platform got its acknowledgement before the handler stored the update")
	}
	release()
	waitFor(t, "the acknowledgement", func() bool { ok, _ := r.p.Accepted(t, d); return ok })
	if got := r.h.Stored("hold me"); len(got) != 1 {
		t.Fatalf("stored %d copies, want 1", len(got))
	}
}

func redeliverySameID(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	r.h.FailNext("retry me", 1)
	d := r.p.Write(t, chat, "retry me")
	waitFor(t, "the redelivery to be accepted", func() bool { ok, _ := r.p.Accepted(t, d); return ok })
	_, attempts := r.p.Accepted(t, d)
	if attempts < 2 {
		t.Fatalf("accepted after %d attempts; the handler failed the first, so want ≥ 2", attempts)
	}
	seen := r.h.Seen("retry me")
	if len(seen) < 2 {
		t.Fatalf("handler saw the update %d times, want ≥ 2", len(seen))
	}
	for _, in := range seen {
		if in.UpdateID == "" || in.UpdateID != seen[0].UpdateID {
			t.Fatalf("update ids %q and %q: a redelivery must carry the same id", seen[0].UpdateID, in.UpdateID)
		}
	}
}

func pressPayload(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	msg := channel.Outbound{ID: "press-1", IdempotencyKey: "press-1", Bot: "b", Chat: chat, Text: "Choose",
		Buttons: []engine.Button{{Label: "Yes", Payload: "p_yes"}, {Label: "No", Payload: "p_no"}}, LastInbound: time.Now()}
	if _, se := r.sendMsg(t, msg); se != nil {
		t.Fatalf("send with buttons: %v", se)
	}
	d := r.p.Press(t, chat, "p_no")
	waitFor(t, "the press to be accepted", func() bool { ok, _ := r.p.Accepted(t, d); return ok })
	var press *channel.Inbound
	for _, in := range r.h.All() {
		if in.Kind == channel.KindPress {
			press = &in
		}
	}
	if press == nil || press.Payload != "p_no" || press.Chat != chat {
		t.Fatalf("press came back as %+v, want KindPress with payload p_no in chat %s", press, chat)
	}
}

func failRetryable(f Failure) func(*testing.T, *rig) {
	return func(t *testing.T, r *rig) {
		chat := r.p.Chat(t)
		r.p.Fail(t, 0, 1, f)
		msg := channel.Outbound{ID: "retry-1", IdempotencyKey: "retry-1", Bot: "b", Chat: chat, Text: "hello after a failure", LastInbound: time.Now()}
		_, se := r.sendMsg(t, msg)
		if se == nil || !se.Retryable || se.Blocked {
			t.Fatalf("first send = %v, want a retryable error", se)
		}
		if f == RateLimited && se.RetryAfter <= 0 {
			t.Fatalf("a rate limit gave RetryAfter %v, want a wait", se.RetryAfter)
		}
		if _, se := r.sendMsg(t, msg); se != nil {
			t.Fatalf("retry = %v", se)
		}
		if got := r.p.Sent(t, chat); len(got) != 1 || got[0] != msg.Text {
			t.Fatalf("platform took %q, want the text once", got)
		}
	}
}

func blockMarksBlocked(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	if !r.p.Block(t, chat) {
		t.Log("the platform has no block signal on send; nothing to check")
		return
	}
	sent, se := r.sendMsg(t, channel.Outbound{ID: "blk-1", IdempotencyKey: "blk-1", Bot: "b", Chat: chat, Text: "are you there?", LastInbound: time.Now()})
	if se != nil {
		if !se.Blocked || se.Retryable {
			t.Fatalf("send to a person who blocked the bot = %v, want Blocked", se)
		}
		return
	}
	// Taken: the platform must say so by a receipt that marks the person
	// unreachable.
	var got *channel.Receipt
	waitFor(t, "a failed receipt for the blocked chat", func() bool {
		for _, rc := range r.h.Receipts() {
			if rc.Chat == chat && rc.Status == channel.ReceiptFailed {
				got = &rc
				return true
			}
		}
		return false
	})
	if !got.Unreachable || (sent.PlatformID != "" && got.PlatformID != sent.PlatformID) {
		t.Fatalf("receipt for a person who blocked the bot = %+v (sent %q), want Unreachable for that message", got, sent.PlatformID)
	}
}

func forgedRefused(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	before := len(r.h.All())
	if st := r.p.Forge(t, chat, "forged text"); st != 401 {
		t.Fatalf("forged request got %d, want 401", st)
	}
	if got := r.h.Seen("forged text"); len(got) != 0 || len(r.h.All()) != before {
		t.Fatalf("a forged request reached the handler: %+v", got)
	}
}

func longTextNoRepeat(t *testing.T, r *rig) {
	chat := r.p.Chat(t)
	var words []string
	for i := 0; len(strings.Join(words, " ")) < r.s.TextLimit*5/2; i++ {
		words = append(words, fmt.Sprintf("word%04d", i))
	}
	text := strings.Join(words, " ")
	r.p.Fail(t, 1, 1, ServerError) // the second part fails once
	msg := channel.Outbound{ID: "long-1", IdempotencyKey: "long-1", Bot: "b", Chat: chat, Text: text, LastInbound: time.Now()}
	if _, se := r.sendMsg(t, msg); se == nil || !se.Retryable {
		t.Fatalf("send with a failing second part = %v, want retryable", se)
	}
	if _, se := r.sendMsg(t, msg); se != nil {
		t.Fatalf("retry = %v", se)
	}
	got := r.p.Sent(t, chat)
	if len(got) < 3 {
		t.Fatalf("a text of %d characters went out in %d parts, want ≥ 3", len(text), len(got))
	}
	for i, part := range got {
		if n := len([]rune(part)); n > r.s.TextLimit {
			t.Fatalf("part %d has %d characters, over the limit %d", i+1, n, r.s.TextLimit)
		}
	}
	if joined := strings.Join(got, " "); joined != text {
		t.Fatalf("the parts joined are %d characters, want the text (%d) exactly once, in order", len(joined), len(text))
	}
}

// Recorder is the suite's channel.Handler: it records what it stores and
// can fail or hold chosen updates (by text). It also takes receipts.
type Recorder struct {
	mu       sync.Mutex
	seen     []channel.Inbound // every call
	stored   []channel.Inbound // calls that succeeded
	receipts []channel.Receipt
	fail     map[string]int
	hold     map[string]chan struct{}
	entered  map[string]chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{fail: map[string]int{}, hold: map[string]chan struct{}{}, entered: map[string]chan struct{}{}}
}

// Handle records in (or fails or holds it, as set up).
func (h *Recorder) Handle(ctx context.Context, in channel.Inbound) error {
	h.mu.Lock()
	h.seen = append(h.seen, in)
	hold := h.hold[in.Text]
	if e := h.entered[in.Text]; e != nil {
		close(e)
		delete(h.entered, in.Text)
	}
	if h.fail[in.Text] > 0 {
		h.fail[in.Text]--
		h.mu.Unlock()
		return errors.New("channeltest: store unavailable")
	}
	h.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h.mu.Lock()
	h.stored = append(h.stored, in)
	h.mu.Unlock()
	return nil
}

// Receipt records a delivery status.
func (h *Recorder) Receipt(_ context.Context, r channel.Receipt) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.receipts = append(h.receipts, r)
	return nil
}

// Receipts returns the receipts taken.
func (h *Recorder) Receipts() []channel.Receipt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]channel.Receipt(nil), h.receipts...)
}

// FailNext makes the next n updates with text fail.
func (h *Recorder) FailNext(text string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail[text] = n
}

// Hold makes updates with text wait until release is called.
func (h *Recorder) Hold(text string) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.hold[text] = ch
	h.entered[text] = make(chan struct{})
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// WaitEntered waits until an update with text held by Hold reached Handle.
func (h *Recorder) WaitEntered(t *testing.T, text string) {
	t.Helper()
	h.mu.Lock()
	ch := h.entered[text]
	h.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatalf("the update %q never reached the handler", text)
	}
}

// Seen returns every Handle call with text (failed ones too).
func (h *Recorder) Seen(text string) []channel.Inbound {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []channel.Inbound
	for _, in := range h.seen {
		if in.Text == text {
			out = append(out, in)
		}
	}
	return out
}

// Stored returns the stored updates with text.
func (h *Recorder) Stored(text string) []channel.Inbound {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []channel.Inbound
	for _, in := range h.stored {
		if in.Text == text {
			out = append(out, in)
		}
	}
	return out
}

// All returns every stored update.
func (h *Recorder) All() []channel.Inbound {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]channel.Inbound(nil), h.stored...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
