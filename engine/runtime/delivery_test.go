package runtime_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram"
	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// outage stands in front of the Telegram fake and, while the runtime's
// manual clock is inside its window, answers sendMessage as a Telegram
// outage does: a proxy's HTML 502, the Bot API's 429 with retry_after, or
// a connection reset before any answer. Everything else reaches the fake.
type outage struct {
	fake  http.Handler
	clock *runtime.ManualClock

	mu    sync.Mutex
	kind  string
	until time.Time
	hits  atomic.Int64
}

func (o *outage) set(kind string, until time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kind, o.until = kind, until
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	kind, until := o.kind, o.until
	o.mu.Unlock()
	if !strings.HasSuffix(strings.ToLower(r.URL.Path), "/sendmessage") || !o.clock.Now().Before(until) {
		o.fake.ServeHTTP(w, r)
		return
	}
	o.hits.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	switch kind {
	case "502":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
	case "429":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`)
	case "reset":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	}
}

// tgHarness is a harness whose runtime sends through the real Telegram
// adapter to tgfake, behind an outage switch.
type tgHarness struct {
	*harness
	fake   *tgfake.Fake
	outage *outage
}

func newTGHarness(t *testing.T, st store.Store, opts ...option) *tgHarness {
	t.Helper()
	fake := tgfake.New(tgfake.Options{Limits: tgfake.Limits{Unlimited: true}, Logger: slog.New(slog.DiscardHandler)})
	h := &harness{t: t, st: st, clock: runtime.NewManualClock(t0), snd: newFakeSender(), env: map[string]string{}}
	h.prog = compile(t, "t.yaml", []byte(testFlow))
	o := &outage{fake: fake, clock: h.clock}
	front := httptest.NewServer(o)
	t.Cleanup(func() {
		fake.Close()
		front.Close()
	})
	a, err := telegram.New(context.Background(), telegram.Config{BotID: bot, Token: fake.Token(),
		APIEndpoint: front.URL + "/bot%s/%s", Logger: slog.New(slog.DiscardHandler), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]option{func(c *runtime.Config) {
		c.Channels = map[string]runtime.Channel{"telegram": {Sender: a}}
	}}, opts...)
	h.rt = h.newRuntime(opts...)
	return &tgHarness{harness: h, fake: fake, outage: o}
}

// chat makes user n exist in the fake (a chat exists once its user wrote).
func (h *tgHarness) chat(n int) string {
	h.t.Helper()
	if _, err := h.fake.SendText(int64(n), "/start"); err != nil {
		h.t.Fatal(err)
	}
	return strconv.Itoa(n)
}

func (h *tgHarness) received(chat string) []string {
	id, _ := strconv.ParseInt(chat, 10, 64)
	var out []string
	for _, m := range h.fake.Sent(id) {
		if m.Method == "sendMessage" {
			out = append(out, m.Text)
		}
	}
	return out
}

// pace advances the clock by step once the runtime had a moment of real
// time to act on the last advance, so retries happen at their own pace
// rather than all at once.
func (h *tgHarness) pace(step time.Duration) func() {
	return func() {
		time.Sleep(2 * time.Millisecond)
		h.clock.Advance(step)
	}
}

// conversation has each chat write three times during an outage, so four
// replies queue behind the first failing one.
var conversationReplies = []string{"Hi Anna", "Your name?", "Echo Bob", "Your name?"}

func (h *tgHarness) converse(chat string) {
	h.text(h.rt, chat, chat+"-1", "hello")
	h.press(h.rt, chat, chat+"-2", "Ask")
	h.text(h.rt, chat, chat+"-3", "Bob")
}

// An outage of each kind the platform has loses nothing: every chat gets
// every reply, once, in order, after the outage.
func TestSendOutagesLoseNothingAndKeepOrder(t *testing.T) {
	for _, tc := range []struct {
		kind string
		for_ time.Duration
	}{{"502", 30 * time.Second}, {"429", 45 * time.Second}, {"reset", 20 * time.Second}} {
		t.Run(tc.kind, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
				h := newTGHarness(t, open(t))
				const chats = 8
				var ids []string
				for i := 1; i <= chats; i++ {
					ids = append(ids, h.chat(i))
				}
				h.outage.set(tc.kind, t0.Add(tc.for_))
				h.run(h.rt)
				for _, c := range ids {
					h.converse(c)
				}
				eventuallyWithin(t, time.Minute, "every reply after the outage", h.pace(500*time.Millisecond), func() bool {
					for _, c := range ids {
						if len(h.received(c)) < len(conversationReplies) {
							return false
						}
					}
					return true
				})
				if h.clock.Now().Before(t0.Add(tc.for_)) {
					t.Fatalf("delivered before the outage ended at %s", h.clock.Now())
				}
				// One send at a time probes the platform while it fails,
				// whatever the number of chats waiting behind it: at most
				// about one a second, not one per chat per backoff.
				if hits := h.outage.hits.Load(); hits < 1 || hits > int64(tc.for_/time.Second)+2 {
					t.Errorf("the outage answered %d sends in %s, want one probe at a time", hits, tc.for_)
				}

				h.settle(h.rt)
				for _, c := range ids {
					if got := h.received(c); !slices.Equal(got, conversationReplies) {
						t.Errorf("chat %s got %q, want %q", c, got, conversationReplies)
					}
				}
				if n := len(h.events("failed")); n != 0 {
					t.Errorf("%d failed events", n)
				}
				if n := len(h.events("sent")); n != chats*len(conversationReplies) {
					t.Errorf("%d sent events, want %d", n, chats*len(conversationReplies))
				}
			})
		})
	}
}

// A 429 pauses the whole bot for its retry_after: the chats do not each
// collect 429s while the platform said to wait.
func TestRetryAfterPausesTheBot(t *testing.T) {
	h := newTGHarness(t, openBolt(t))
	const chats = 10
	var ids []string
	for i := 1; i <= chats; i++ {
		ids = append(ids, h.chat(i))
	}
	h.outage.set("429", t0.Add(30*time.Second))
	h.run(h.rt)
	for _, c := range ids {
		h.text(h.rt, c, c+"-1", "hello")
	}
	eventuallyWithin(t, time.Minute, "every greeting", h.pace(500*time.Millisecond), func() bool {
		for _, c := range ids {
			if len(h.received(c)) < 1 {
				return false
			}
		}
		return true
	})
	// Without the pause each chat would retry every 3 s: 10 chats × 10
	// windows. With it, a window sees at most the sends racing into it.
	if n := h.outage.hits.Load(); n > 3*chats {
		t.Errorf("%d sends into a 30 s 429 storm with retry_after 3 from %d chats; the bot did not pause", n, chats)
	}
}

// A message the platform keeps refusing past the horizon is recorded as
// failed (event and transcript line) and the chat's next message, queued
// later, goes out once the platform is back.
func TestSendHorizonRecordsFailedAndMovesOn(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newTGHarness(t, open(t), func(c *runtime.Config) { c.Options.SendHorizon = time.Minute })
		c := h.chat(1)
		h.outage.set("502", t0.Add(90*time.Second))
		h.run(h.rt)
		h.text(h.rt, c, "u1", "hello")
		eventuallyWithin(t, time.Minute, "the failed event", h.pace(time.Second), func() bool {
			return len(h.events("failed")) == 1
		})
		if now := h.clock.Now(); now.Before(t0.Add(time.Minute)) {
			t.Errorf("gave up at %s, before the one-minute horizon", now.Sub(t0))
		}
		h.press(h.rt, c, "u2", "Ask")
		eventuallyWithin(t, time.Minute, "the next message", h.pace(time.Second), func() bool {
			return len(h.received(c)) == 1
		})
		h.settle(h.rt)
		if got := h.received(c); !slices.Equal(got, []string{"Your name?"}) {
			t.Errorf("chat got %q, want only the message after the failed one", got)
		}
		msgs, _, err := h.st.ListMessages(context.Background(), store.ConversationID(bot, "telegram", c), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, m := range msgs {
			lines = append(lines, fmt.Sprintf("%s:%s:%s", m.Direction, m.Text, m.Status))
		}
		want := []string{"in:hello:", "bot:Hi Anna:", "bot:Hi Anna:failed", "in:Ask:", "bot:Your name?:"}
		if !slices.Equal(lines, want) {
			t.Errorf("transcript %q, want %q", lines, want)
		}
	})
}

// A chat that blocked the bot is recorded at once: no retries, a blocked
// event, the message shown as failed in the transcript.
func TestBlockedByThePlatformIsRecordedAtOnce(t *testing.T) {
	h := newTGHarness(t, openBolt(t))
	c := h.chat(1)
	if _, err := h.fake.Block(1); err != nil {
		t.Fatal(err)
	}
	h.run(h.rt)
	h.text(h.rt, c, "u1", "hello")
	eventually(t, "the chat to be marked blocked", nil, func() bool { return h.conv(c).Blocked })
	h.settle(h.rt)
	if n := h.fake.Stats().Requests["sendMessage"]; n != 1 {
		t.Errorf("%d sendMessage requests, want 1 (a 403 is final)", n)
	}
	if n := len(h.events("blocked")); n != 1 {
		t.Errorf("%d blocked events, want 1", n)
	}
	msgs, _, err := h.st.ListMessages(context.Background(), h.conv(c).ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := msgs[len(msgs)-1]; last.Status != store.MessageFailed || !strings.Contains(last.Error, "403") {
		t.Errorf("last transcript line %+v, want the greeting marked failed with the 403", last)
	}
}
