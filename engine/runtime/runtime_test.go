package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

func TestFunnelSendsTheFlowsMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.waitTexts("1", "Hi Anna")
		h.press(h.rt, "1", "u2", "Ask")
		h.waitTexts("1", "Hi Anna", "Your name?")
		h.text(h.rt, "1", "u3", "Bob")
		h.waitTexts("1", "Hi Anna", "Your name?", "Echo Bob", "Your name?")
		h.settle(h.rt)

		c := h.conv("1")
		if c.Node != "ask" || c.Status != store.StatusWaiting || c.FlowID != "t" || c.FlowVersion != 1 {
			t.Errorf("conversation at %s/%s flow %s v%d, want ask/waiting t v1", c.Node, c.Status, c.FlowID, c.FlowVersion)
		}
		if c.Vars["name"] != "Bob" || c.Contact.FirstName != "Anna" || !c.Consent.Subscribed || h.undelivered(c) != 0 {
			t.Errorf("conversation fields: vars %v contact %+v consent %+v outbox %v", c.Vars, c.Contact, c.Consent, c.Outbox)
		}
		msgs, _, err := h.st.ListMessages(context.Background(), c.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, m := range msgs {
			lines = append(lines, string(m.Direction)+":"+m.Text)
		}
		want := []string{"in:hello", "bot:Hi Anna", "in:Ask", "bot:Your name?", "in:Bob", "bot:Echo Bob", "bot:Your name?"}
		if !slices.Equal(lines, want) {
			t.Errorf("transcript\n%q\nwant\n%q", lines, want)
		}
		if n := len(h.events("sent")); n != 4 {
			t.Errorf("%d sent events, want 4", n)
		}
		if evs := h.events("button_pressed"); len(evs) != 1 || evs[0].Flow != "t" || evs[0].Conversation != c.ID || evs[0].Node != "hello" {
			t.Errorf("button_pressed events: %+v", evs)
		}
	})
}

func TestDuplicateUpdateIsProcessedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Ask")
		h.text(h.rt, "1", "u3", "Bob")
		h.text(h.rt, "1", "u3", "Bob") // the platform retried
		h.text(h.rt, "1", "u1", "hello")
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Your name?", "Echo Bob", "Your name?")
		s, _ := h.rt.Stats(context.Background())
		if s.Duplicates != 2 {
			t.Errorf("%d duplicates counted, want 2", s.Duplicates)
		}
	})
}

func TestRapidMessagesOfOneChatAreSentInOrderUnderTelegramLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t), withLimits(channel.TelegramLimits))
		h.run(h.rt)
		h.text(h.rt, "1", "u0", "hello")
		h.press(h.rt, "1", "p", "Ask")
		want := []string{"Hi Anna", "Your name?"}
		for i := range 20 {
			h.text(h.rt, "1", fmt.Sprint("u", i+1), fmt.Sprint("n", i))
			want = append(want, fmt.Sprint("Echo n", i), "Your name?")
		}
		// 42 messages at 1/s with a burst of 3: the clock has to move.
		eventually(t, "all 42 messages", func() { h.clock.Advance(500 * time.Millisecond) }, func() bool {
			return len(h.snd.texts("1")) >= len(want)
		})
		h.waitTexts("1", want...)
		if d := h.snd.duplicates(); len(d) > 0 {
			t.Errorf("delivered twice: %v", d)
		}
	})
}

func TestDifferentChatsDoNotWaitForEachOther(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		gate := make(chan struct{})
		h.snd.gate["slow"] = gate
		h.run(h.rt)
		h.text(h.rt, "slow", "u1", "hello") // its send hangs
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.text(h.rt, fmt.Sprint("c", i), "u1", "hello")
			}()
		}
		wg.Wait()
		for i := range 8 {
			h.waitTexts(fmt.Sprint("c", i), "Hi Anna")
		}
		if got := h.snd.texts("slow"); len(got) != 0 {
			t.Fatalf("slow chat got %q before its gate opened", got)
		}
		close(gate)
		h.waitTexts("slow", "Hi Anna")
	})
}

func TestTwoRuntimesRacingOneConversationApplyEachInputOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		// The test clock races ahead of real time (100 ms a step) while the
		// FerretDB test server is slow, so a replica's lease could lapse
		// between two heartbeats and the other would adopt a live outbox.
		// This test is about racing writers, not adoption (tested on its
		// own): keep leases from lapsing.
		noSweep := func(c *runtime.Config) { c.Options.LeaseTTL = 24 * time.Hour }
		h := newHarness(t, open(t), noSweep)
		a, b := h.rt, h.newRuntime(noSweep)
		h.run(a)
		h.run(b)
		h.text(a, "1", "u0", "hello")
		h.press(b, "1", "p", "Ask")
		const n = 6
		var wg sync.WaitGroup
		for i := range n {
			for k, rt := range []*runtime.Runtime{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h.text(rt, "1", fmt.Sprintf("u%d-%d", k, i), fmt.Sprintf("x%d-%d", k, i))
				}()
			}
		}
		// The same update reaching both replicas (a platform retry) counts once.
		for _, rt := range []*runtime.Runtime{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.text(rt, "1", "same", "twice")
			}()
		}
		wg.Wait()
		// Each replica delivers what it wrote, waiting for the other's
		// messages ahead of its own; that waiting runs on the clock.
		eventually(t, "both replicas to deliver", func() { h.clock.Advance(100 * time.Millisecond) }, func() bool {
			return h.snd.total() >= 2+2*(2*n+1)
		})
		h.settle(a)
		h.settle(b)
		echoes := map[string]int{}
		for _, s := range h.snd.texts("1") {
			if strings.HasPrefix(s, "Echo ") {
				echoes[strings.TrimPrefix(s, "Echo ")]++
			}
		}
		if len(echoes) != 2*n+1 {
			t.Errorf("%d distinct inputs echoed, want %d: %v", len(echoes), 2*n+1, echoes)
		}
		for k, c := range echoes {
			if c != 1 {
				t.Errorf("input %s echoed %d times", k, c)
			}
		}
		if d := h.snd.duplicates(); len(d) > 0 {
			t.Errorf("delivered twice: %v", d)
		}
		if got, want := len(h.events("node_entered")), 2+2*(2*n+1); got != want {
			t.Errorf("%d node_entered events, want %d (hello, ask, then echo and ask per input)", got, want)
		}
	})
}

func TestRetryAfterIsHonouredAndNothingIsLostOrDuplicated(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.snd.fail = func(msg channel.Outbound, call int) error {
			if call == 2 {
				return &channel.SendError{Retryable: true, RetryAfter: 7 * time.Second, Code: 429, Err: errors.New("Too Many Requests: retry after 7")}
			}
			return nil
		}
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Ask")
		h.text(h.rt, "1", "u3", "Bob")
		eventually(t, "the 429 to be seen", nil, func() bool {
			s, _ := h.rt.Stats(context.Background())
			return s.SendRetries == 1
		})
		if got := h.snd.texts("1"); len(got) != 1 {
			t.Fatalf("sent %q while told to wait", got)
		}
		eventually(t, "the rest to go out", func() { h.clock.Advance(time.Second) }, func() bool {
			return len(h.snd.texts("1")) >= 4
		})
		h.waitTexts("1", "Hi Anna", "Your name?", "Echo Bob", "Your name?")
		if d := h.snd.duplicates(); len(d) > 0 {
			t.Errorf("delivered twice: %v", d)
		}
	})
}

func TestRetryableErrorsGiveUpAtTheHorizonWithAFailedEvent(t *testing.T) {
	h := newHarness(t, openBolt(t))
	rt := h.newRuntime(func(c *runtime.Config) { c.Options.SendHorizon = 10 * time.Minute })
	h.snd.fail = func(msg channel.Outbound, call int) error {
		return &channel.SendError{Retryable: true, Code: 502, Err: errors.New("Bad Gateway")}
	}
	h.run(rt)
	h.text(rt, "1", "u1", "hello")
	eventually(t, "a failed event", func() {
		time.Sleep(2 * time.Millisecond) // let the retry happen before the next step
		h.clock.Advance(5 * time.Second)
	}, func() bool {
		return len(h.events("failed")) == 1
	})
	if h.clock.Now().Before(t0.Add(10 * time.Minute)) {
		t.Errorf("gave up after %s, before the horizon", h.clock.Now().Sub(t0))
	}
	// The probe's backoff doubles up to 3 s: about 200 tries in ten
	// minutes, not one a second (and not the five a send used to get).
	if h.snd.n < 60 || h.snd.n > 400 {
		t.Errorf("%d attempts in ten minutes", h.snd.n)
	}
	if c := h.conv("1"); h.undelivered(c) != 0 {
		t.Errorf("outbox still holds %v", c.Outbox)
	}
}

// While the platform stays down, the messages waiting behind the probe
// (other chats' and the same chat's later ones) give up at the horizon too,
// each with its failed event, instead of waiting for ever behind it.
func TestMessagesWaitingBehindAnOutageGiveUpAtTheHorizon(t *testing.T) {
	h := newHarness(t, openBolt(t))
	rt := h.newRuntime(func(c *runtime.Config) { c.Options.SendHorizon = 10 * time.Minute })
	h.snd.fail = func(msg channel.Outbound, call int) error {
		return &channel.SendError{Retryable: true, Code: 502, Err: errors.New("Bad Gateway")}
	}
	h.run(rt)
	h.text(rt, "1", "u1", "hello")
	h.press(rt, "1", "u2", "Ask") // a second message queued behind the first in chat 1
	h.text(rt, "2", "u3", "hello")
	queued := 0
	for _, chat := range []string{"1", "2"} {
		for _, m := range h.conv(chat).Outbox {
			if m.Kind == "" {
				queued++
			}
		}
	}
	if queued < 3 {
		t.Fatalf("%d messages queued, want two in chat 1 and one in chat 2", queued)
	}
	eventually(t, "a failed event for every queued message", func() {
		time.Sleep(2 * time.Millisecond)
		h.clock.Advance(5 * time.Second)
	}, func() bool {
		return len(h.events("failed")) == queued
	})
	if late := h.clock.Now().Sub(t0.Add(10 * time.Minute)); late > time.Minute {
		t.Errorf("the last gave up %s after the horizon", late)
	}
	for _, chat := range []string{"1", "2"} {
		if c := h.conv(chat); h.undelivered(c) != 0 {
			t.Errorf("chat %s: outbox still holds %v", chat, c.Outbox)
		}
	}
}

func TestBlockedChatIsMarkedAndGetsNothingMore(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		var blocked atomic.Bool
		h.snd.fail = func(msg channel.Outbound, call int) error {
			if blocked.Load() {
				return &channel.SendError{Blocked: true, Code: 403, Err: errors.New("Forbidden: bot was blocked by the user")}
			}
			return nil
		}
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Ask")
		h.waitTexts("1", "Hi Anna", "Your name?")
		blocked.Store(true)
		h.text(h.rt, "1", "u3", "Bob") // "Echo Bob" is refused, "Your name?" is dropped
		eventually(t, "the chat to be marked blocked", nil, func() bool { return h.conv("1").Blocked })
		h.settle(h.rt)
		c := h.conv("1")
		if messagesIn(c) != 0 {
			t.Errorf("outbox of a blocked chat: %v", c.Outbox)
		}
		if n := len(h.events("blocked")); n != 1 {
			t.Errorf("%d blocked events, want 1", n)
		}
		if h.snd.n != 3 {
			t.Errorf("%d send calls, want 3 (the rest dropped)", h.snd.n)
		}
		// The person comes back: writing to the bot unblocks the chat.
		blocked.Store(false)
		h.text(h.rt, "1", "u4", "Ann")
		h.waitTexts("1", "Hi Anna", "Your name?", "Echo Ann", "Your name?")
		if h.conv("1").Blocked {
			t.Error("chat still blocked after the person wrote")
		}
	})
}

func TestBlockedUpdateFromThePlatformMarksTheChat(t *testing.T) {
	h := newHarness(t, openBolt(t))
	h.text(h.rt, "1", "u1", "hello")
	in := inbound("1", "u2", "")
	in.Kind = channel.KindBlocked
	if err := h.rt.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	c := h.conv("1")
	if !c.Blocked || messagesIn(c) != 0 {
		t.Fatalf("blocked %v, outbox %v", c.Blocked, c.Outbox)
	}
	in = inbound("1", "u3", "")
	in.Kind = channel.KindUnblocked
	if err := h.rt.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if h.conv("1").Blocked {
		t.Error("still blocked after unblocked")
	}
	if len(h.events("blocked")) != 1 || len(h.events("unblocked")) != 1 {
		t.Errorf("events: blocked %d, unblocked %d", len(h.events("blocked")), len(h.events("unblocked")))
	}
}

func TestOutboxLeftByACrashIsSentByTheNextProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		// The first process records the update and dies before sending:
		// its lease, taken with the write, is never renewed.
		h.text(h.rt, "1", "u1", "hello")
		if c := h.conv("1"); messagesIn(c) != 1 {
			t.Fatalf("outbox %v, want the greeting", c.Outbox)
		}
		next := h.newRuntime()
		h.run(next)
		h.clock.Advance(2 * time.Second)
		h.settle(next)
		if got := h.snd.texts("1"); len(got) != 0 {
			t.Fatalf("resent %q while the first process's lease still held", got)
		}
		h.clock.Advance(2 * time.Second)
		// Slow steps (20 ms of real time per 100 ms of the clock): the clock
		// measures how soon the next process takes over, so it must keep up
		// with it, on the slow test server and under -race too.
		eventually(t, "the adoption", func() { time.Sleep(20 * time.Millisecond); h.clock.Advance(100 * time.Millisecond) }, func() bool {
			return len(h.snd.texts("1")) > 0
		})
		// The 3 s lease and a 1 s heartbeat, with room for a slow machine
		// (the clock steps on while the runtime works): not the 10 s after
		// the last write it used to be.
		if d := h.clock.Now().Sub(t0); d > 7*time.Second {
			t.Errorf("adopted %s after the write, want within the lease and a heartbeat or two", d)
		}
		h.settle(next)
		h.waitTexts("1", "Hi Anna")
		if c := h.conv("1"); h.undelivered(c) != 0 {
			t.Errorf("outbox after the adoption: %v", c.Outbox)
		}
		s, _ := next.Stats(context.Background())
		if s.Resends != 1 {
			t.Errorf("%d adoptions, want 1", s.Resends)
		}
	})
}

func TestDelayFiresOnceAfterTheClockPassesIt(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Wait")
		h.settle(h.rt)
		h.clock.Advance(9 * time.Minute)
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna")
		h.clock.Advance(2 * time.Minute)
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Later!")
		h.clock.Advance(time.Hour)
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Later!")
		if n := len(h.events("timer_fired")); n != 1 {
			t.Errorf("%d timer_fired events, want 1", n)
		}
	})
}

func TestReplyTimeoutCountsFromTheSend(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.snd.fail = func(msg channel.Outbound, call int) error {
			if call == 1 {
				return &channel.SendError{Retryable: true, RetryAfter: 30 * time.Minute, Code: 429, Err: errors.New("Too Many Requests: retry after 1800")}
			}
			return nil
		}
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello") // the prompt goes out 30 minutes late
		eventually(t, "the delayed prompt", func() { h.clock.Advance(time.Minute) }, func() bool {
			return len(h.snd.texts("1")) == 1
		})
		sentAt := h.clock.Now()
		h.settle(h.rt)
		id := store.ConversationID(bot, "telegram", "1") + ":timer:1"
		j, err := h.st.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := sentAt.Add(time.Hour); j.DueAt.Before(sentAt.Add(59*time.Minute)) || j.DueAt.After(want) {
			t.Errorf("timeout due %v, want an hour after the send at %v", j.DueAt, sentAt)
		}
		h.clock.Set(t0.Add(time.Hour + time.Minute)) // an hour after the message arrived
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna")
		h.clock.Set(sentAt.Add(time.Hour))
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Still there?", "Hi Anna") // the nudge leads back: the prompt again
	})
}

func TestCancelledTimerDoesNotFire(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.settle(h.rt)
		h.press(h.rt, "1", "u2", "Ask") // answers before the 1h timeout
		h.settle(h.rt)
		j, err := h.st.GetJob(context.Background(), store.ConversationID(bot, "telegram", "1")+":timer:1")
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != store.JobCancelled {
			t.Errorf("timer job %s, want cancelled", j.Status)
		}
		h.clock.Advance(2 * time.Hour)
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Your name?")
	})
}

func TestCancelBeforeTheTimerIsScheduledLeavesNoJob(t *testing.T) {
	h := newHarness(t, openBolt(t))
	// Not running: the greeting and its timeout wait in the outbox.
	h.text(h.rt, "1", "u1", "hello")
	h.press(h.rt, "1", "u2", "Ask")
	for _, m := range h.conv("1").Outbox {
		if m.Kind == "timer" {
			t.Fatalf("cancelled timer still queued: %+v", m)
		}
	}
	h.run(h.rt)
	h.settle(h.rt)
	if _, err := h.st.GetJob(context.Background(), store.ConversationID(bot, "telegram", "1")+":timer:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("timer job exists: %v", err)
	}
	h.waitTexts("1", "Hi Anna", "Your name?")
}

func TestQuietHoursPostponeDelayedMessagesButNotAnswers(t *testing.T) {
	h := newHarness(t, openBolt(t))
	ctx := context.Background()
	err := h.st.PutBot(ctx, store.Bot{ID: bot, Name: "b", Settings: store.BotSettings{
		TimeZone: "Europe/Moscow", QuietHours: &store.QuietHours{Start: "21:00", End: "09:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Set(time.Date(2026, 3, 2, 20, 55, 0, 0, msk))
	h.run(h.rt)
	h.text(h.rt, "1", "u1", "hello")
	h.press(h.rt, "1", "u2", "Wait") // 10 minutes: 21:05, inside quiet hours
	h.settle(h.rt)
	j, err := h.st.GetJob(ctx, store.ConversationID(bot, "telegram", "1")+":timer:2")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 3, 9, 0, 0, 0, msk); !j.DueAt.Equal(want) {
		t.Errorf("delay due %v, want %v", j.DueAt.In(msk), want)
	}
	h.clock.Set(time.Date(2026, 3, 2, 22, 0, 0, 0, msk))
	h.settle(h.rt)
	// An answer to the person is never held back by quiet hours.
	h.text(h.rt, "2", "u1", "hello")
	h.waitTexts("2", "Hi Anna")
	h.waitTexts("1", "Hi Anna")
	h.clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, msk))
	h.settle(h.rt)
	h.waitTexts("1", "Hi Anna", "Later!")
}

func TestHandoffOperatorAndHandback(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		ctx := context.Background()
		h.text(h.rt, "1", "u1", "hello")
		h.text(h.rt, "1", "u2", "manager please")
		h.text(h.rt, "1", "u3", "is anyone there?") // for the operator, not the bot
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Connecting")
		c := h.conv("1")
		if c.Status != store.StatusHandoff {
			t.Fatalf("status %s, want handoff", c.Status)
		}
		if _, err := h.rt.OperatorSend(ctx, c.ID, "op1", "Hello, I am Olga"); err != nil {
			t.Fatal(err)
		}
		h.waitTexts("1", "Hi Anna", "Connecting", "Hello, I am Olga")
		if err := h.rt.Handback(ctx, c.ID, ""); err != nil {
			t.Fatal(err)
		}
		h.waitTexts("1", "Hi Anna", "Connecting", "Hello, I am Olga", "Bot again", "Your name?")
		msgs, _, err := h.st.ListMessages(ctx, c.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var found, op bool
		for _, m := range msgs {
			found = found || (m.Direction == store.DirectionIn && m.Text == "is anyone there?")
			op = op || (m.Direction == store.DirectionOperator && m.Operator == "op1")
		}
		if !found || !op {
			t.Errorf("transcript lacks the inbound during handoff (%v) or the operator line (%v)", found, op)
		}
		evs := h.events("handoff_started")
		if len(evs) != 1 || evs[0].Data["queue"] != "sales" {
			t.Errorf("handoff_started: %+v", evs)
		}
	})
}

func TestWebhookResultFeedsTheFlow(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/big/lead" {
			w.Write([]byte(`{"pad":"` + strings.Repeat("x", 1<<20) + `"}`))
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"ok", srv.URL, "Hooked"},
		{"too large", srv.URL + "/big", "Hook failed"},
		{"unreachable", "http://127.0.0.1:1", "Hook failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, openBolt(t))
			h.env["HOOK_URL"] = tc.url
			if err := h.st.PutBot(context.Background(), store.Bot{ID: bot, Settings: store.BotSettings{AllowedEnv: []string{"HOOK_URL"}}}); err != nil {
				t.Fatal(err)
			}
			h.run(h.rt)
			h.text(h.rt, "1", "u1", "hello")
			h.press(h.rt, "1", "u2", "Hook")
			h.settle(h.rt)
			h.waitTexts("1", "Hi Anna", tc.want)
		})
	}
	if calls.Load() != 2 {
		t.Errorf("%d webhook calls, want 2", calls.Load())
	}
}

func TestIdleConversationExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Ask")
		h.settle(h.rt)
		h.clock.Advance(20 * time.Hour)
		h.settle(h.rt)
		h.text(h.rt, "1", "u3", "Bob") // activity moves the deadline
		h.clock.Advance(20 * time.Hour)
		h.settle(h.rt)
		if c := h.conv("1"); c.Status == store.StatusEnded {
			t.Fatal("expired while active")
		}
		h.clock.Advance(5 * time.Hour)
		h.settle(h.rt)
		if c := h.conv("1"); c.Status != store.StatusEnded {
			t.Fatalf("status %s after 25h idle, want ended", c.Status)
		}
		if n := len(h.events("expired")); n != 1 {
			t.Errorf("%d expired events, want 1", n)
		}
	})
}

func TestShutdownRefusesNewUpdatesAndDrainsWhatItAccepted(t *testing.T) {
	h := newHarness(t, openBolt(t))
	gate := make(chan struct{})
	h.snd.gate["1"] = gate
	h.run(h.rt)
	h.text(h.rt, "1", "u1", "hello")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.rt.Shutdown(ctx)
	}()
	eventually(t, "Handle to refuse", nil, func() bool {
		return errors.Is(h.rt.Handle(context.Background(), inbound("2", "u1", "hi")), runtime.ErrStopped)
	})
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.waitTexts("1", "Hi Anna")
	if c := h.conv("1"); h.undelivered(c) != 0 {
		t.Errorf("outbox after drain: %v", c.Outbox)
	}
}

func TestShutdownPastItsDeadlineLeavesTheOutboxForTheNextProcess(t *testing.T) {
	h := newHarness(t, openBolt(t))
	h.snd.gate["1"] = make(chan struct{}) // never opens
	h.run(h.rt)
	h.text(h.rt, "1", "u1", "hello")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.rt.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v, want deadline exceeded", err)
	}
	if c := h.conv("1"); messagesIn(c) != 1 {
		t.Errorf("outbox %v, want the undelivered greeting", c.Outbox)
	}
}

// undelivered counts the messages in a conversation's outbox with no
// delivery event (sent, failed, blocked) in the store: delivered ones stay
// until the conversation's next write prunes them.
func (h *harness) undelivered(c *store.Conversation) int {
	h.t.Helper()
	n := 0
	for _, m := range c.Outbox {
		if m.Kind != "" && m.Kind != "operator" {
			continue
		}
		var keys []store.EventKey
		for _, typ := range []string{"sent", "failed", "blocked"} {
			keys = append(keys, store.EventKey{Bot: c.Bot, ID: m.ID + "/" + typ, At: m.At})
		}
		found, err := h.st.StoredEvents(context.Background(), keys)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(found) == 0 {
			n++
		}
	}
	return n
}

// messagesIn counts the messages (not timers and other effects) waiting in
// a conversation's outbox.
func messagesIn(c *store.Conversation) int {
	n := 0
	for _, m := range c.Outbox {
		if m.Kind == "" || m.Kind == "operator" {
			n++
		}
	}
	return n
}

// logless writes conversations but none of their lines or events, as a
// store without transactions may when only the appends after the write fail.
type logless struct{ store.Store }

func (s logless) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	if err := s.Store.CommitConversation(ctx, store.ConversationChange{Conversation: ch.Conversation, Create: ch.Create}); err != nil {
		return err
	}
	if len(ch.Messages)+len(ch.Events) == 0 {
		return nil
	}
	return fmt.Errorf("simulated: %w", store.ErrLogsNotWritten)
}

// A step or a delivery whose transcript lines and events did not go in with
// its commit still gets them: the customer's message is in the transcript
// and the analytics count the step and the delivery.
func TestLogsNotWrittenWithTheCommitAreAppendedAfter(t *testing.T) {
	st := logless{openBolt(t)}
	h := newHarness(t, st, withStore(st))
	h.run(h.rt)
	h.text(h.rt, "1", "u1", "hello")
	h.waitTexts("1", "Hi Anna")
	h.settle(h.rt)
	msgs, _, err := st.ListMessages(context.Background(), h.conv("1").ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range msgs {
		lines = append(lines, string(m.Direction)+":"+m.Text)
	}
	if want := []string{"in:hello", "bot:Hi Anna"}; !slices.Equal(lines, want) {
		t.Errorf("transcript %q, want %q", lines, want)
	}
	if len(h.events("node_entered")) == 0 {
		t.Error("no node_entered event: the step's events were lost")
	}
	if n := len(h.events("sent")); n != 1 {
		t.Errorf("%d sent events, want 1: the delivery's event was lost", n)
	}
}
