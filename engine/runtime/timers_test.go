package runtime_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/internal/testmongo"
)

// reopener opens the same store location again each time it is called, so
// a test can close a store and start the next process on its data.
type reopener func(tb testing.TB) store.Store

// eachReopenable runs f against every store kind with a reopener.
func eachReopenable(t *testing.T, f func(t *testing.T, reopen reopener)) {
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "v.db")
		f(t, func(tb testing.TB) store.Store {
			s, err := bolt.Open(path, &bolt.Options{MaxBatchDelay: time.Millisecond})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { s.Close(context.Background()) })
			return s
		})
	})
	t.Run("mongo", func(t *testing.T) {
		db := testmongo.DBName(t)
		f(t, func(tb testing.TB) store.Store { return openMongoDBWith(tb, db, smallPool) })
	})
}

// stop shuts a runtime down and closes its store: the process ends.
func stop(t *testing.T, rt *runtime.Runtime, st store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func timerJob(chat string, timer int) string {
	return store.ConversationID(bot, "telegram", chat) + ":timer:" + string(rune('0'+timer))
}

func TestDelayPendingAcrossARestartIsSentOnce(t *testing.T) {
	eachReopenable(t, func(t *testing.T, reopen reopener) {
		first := reopen(t)
		h := newHarness(t, first)
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Wait") // a 10-minute delay
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna")
		stop(t, h.rt, first)

		// The next process starts after the delay fell due.
		h.clock.Advance(time.Hour)
		h.st = reopen(t)
		next := h.newRuntime(withStore(h.st))
		h.run(next)
		h.settle(next)
		h.waitTexts("1", "Hi Anna", "Later!")
		h.clock.Advance(time.Hour)
		h.settle(next)
		h.waitTexts("1", "Hi Anna", "Later!")
		if n := len(h.events("timer_fired")); n != 1 {
			t.Errorf("%d timer_fired events, want 1", n)
		}
		if j, err := h.st.GetJob(context.Background(), timerJob("1", 2)); err != nil || j.Status != store.JobDone {
			t.Errorf("delay job %+v (%v), want done", j, err)
		}
	})
}

// forgetful drops the completion of jobs, as if the process died after it
// ran a job and before it recorded that: the lease is all that is left.
type forgetful struct{ store.Store }

func (forgetful) CompleteJob(ctx context.Context, id, owner string) error {
	return errors.New("simulated crash before completing the job")
}

func TestTimerClaimedByACrashedProcessFiresOnceAfterItsLease(t *testing.T) {
	eachReopenable(t, func(t *testing.T, reopen reopener) {
		ctx := context.Background()
		h := newHarness(t, reopen(t))
		h.run(h.rt)
		h.text(h.rt, "1", "u1", "hello")
		h.press(h.rt, "1", "u2", "Wait")
		h.settle(h.rt)
		stop(t, h.rt, h.st)

		// A process claims the due delay and dies before running it.
		h.clock.Advance(11 * time.Minute)
		h.st = reopen(t)
		jobs, err := h.st.ClaimJobs(ctx, "dead", h.clock.Now(), 10, 5*time.Minute)
		if err != nil || !slices.ContainsFunc(jobs, func(j store.Job) bool { return j.ID == timerJob("1", 2) }) {
			t.Fatalf("claimed %+v (%v), want the delay among them", jobs, err)
		}
		next := h.newRuntime(withStore(h.st))
		h.run(next)
		h.settle(next)
		if got := h.snd.texts("1"); len(got) != 1 {
			t.Fatalf("sent %q while the dead process held the lease", got)
		}
		h.clock.Advance(5 * time.Minute) // the lease expires
		h.settle(next)
		h.waitTexts("1", "Hi Anna", "Later!")
		if j, err := h.st.GetJob(ctx, timerJob("1", 2)); err != nil || j.Status != store.JobDone || j.LeaseOwner != next.Owner() {
			t.Errorf("delay job %+v (%v), want done by the next process", j, err)
		}
	})
}

func TestTimerFiredByACrashedProcessIsDroppedWhenItFiresAgain(t *testing.T) {
	eachReopenable(t, func(t *testing.T, reopen reopener) {
		ctx := context.Background()
		st := reopen(t)
		h := newHarness(t, st)
		// The first process fires the delay, sends the follow-up and dies
		// before it completes the job.
		first := h.newRuntime(withStore(forgetful{st}), func(c *runtime.Config) { c.Options.JobLease = 5 * time.Minute })
		h.run(first)
		h.text(first, "1", "u1", "hello")
		h.press(first, "1", "u2", "Wait")
		h.settle(first)
		h.clock.Advance(11 * time.Minute)
		h.settle(first)
		h.waitTexts("1", "Hi Anna", "Later!")
		stop(t, first, st)
		h.st = reopen(t)
		if j, err := h.st.GetJob(ctx, timerJob("1", 2)); err != nil || j.Status != store.JobPending {
			t.Fatalf("delay job %+v (%v), want pending under the dead lease", j, err)
		}

		// The next process gets the job once the lease expires; the engine
		// knows the timer is spent and sends nothing.
		h.clock.Advance(6 * time.Minute)
		next := h.newRuntime(withStore(h.st))
		h.run(next)
		h.settle(next)
		s, _ := next.Stats(ctx)
		if s.TimersFired != 1 {
			t.Errorf("the next process fired %d timers, want the 1 left over", s.TimersFired)
		}
		h.waitTexts("1", "Hi Anna", "Later!")
		if n := len(h.events("timer_fired")); n != 1 {
			t.Errorf("%d timer_fired events, want 1", n)
		}
		if j, err := h.st.GetJob(ctx, timerJob("1", 2)); err != nil || j.Status != store.JobDone {
			t.Errorf("delay job %+v (%v), want done", j, err)
		}
	})
}

// dropFlow has a reply timeout on its greeting and a way to leave the
// greeting for each reason a pending timer goes stale.
const dropFlow = `
voronka: 1
id: drop
start: hello
vars:
  name: string
triggers:
  - command: /start
    goto: fresh
    reset: true
  - keywords: [manager]
    goto: human
  - keywords: [stop]
    goto: bye
nodes:
  hello:
    type: buttons
    text: "Hi"
    buttons:
      - { label: "Go", next: fresh }
    timeout: { after: 1h, next: nudge }
  nudge:
    type: end
    text: "Still there?"
  fresh:
    type: question
    text: "Your name?"
    save: name
    next: bye
  human:
    type: handoff
    text: "Connecting"
    queue: sales
  bye:
    type: end
    text: "Bye"
`

// lostCancel loses timer cancellations (a process died between the step and
// the cancel), so the timer fires and the engine must drop it.
type lostCancel struct{ store.Store }

func (lostCancel) CancelJob(ctx context.Context, id string) error { return nil }

func TestTimerOfAConversationThatMovedOnSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		reason string
		act    func(h *harness, rt *runtime.Runtime)
		reply  string
	}{
		{"answered", func(h *harness, rt *runtime.Runtime) { h.press(rt, "1", "u2", "Go") }, "Your name?"},
		{"reset by a trigger", func(h *harness, rt *runtime.Runtime) { h.text(rt, "1", "u2", "/start") }, "Your name?"},
		{"handed off", func(h *harness, rt *runtime.Runtime) { h.text(rt, "1", "u2", "manager") }, "Connecting"},
		{"ended", func(h *harness, rt *runtime.Runtime) { h.text(rt, "1", "u2", "stop") }, "Bye"},
	} {
		for _, lost := range []bool{false, true} {
			name := tc.reason
			if lost {
				name += ", cancel lost"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				st := openBolt(t)
				var opts []option
				if lost {
					opts = append(opts, withStore(lostCancel{st}))
				}
				h := newHarness(t, st, opts...)
				h.prog = compile(t, "drop.yaml", []byte(dropFlow))
				rt := h.newRuntime(opts...)
				h.run(rt)
				h.text(rt, "1", "u1", "hello")
				h.settle(rt)
				h.waitTexts("1", "Hi")
				tc.act(h, rt)
				h.settle(rt)
				h.waitTexts("1", "Hi", tc.reply)
				h.clock.Advance(2 * time.Hour)
				h.settle(rt)
				h.waitTexts("1", "Hi", tc.reply)
				j, err := st.GetJob(ctx, timerJob("1", 1))
				if err != nil {
					t.Fatal(err)
				}
				want := store.JobCancelled
				if lost {
					want = store.JobDone // fired, dropped by the engine, completed
				}
				if j.Status != want {
					t.Errorf("timeout job %s, want %s", j.Status, want)
				}
				if n := len(h.events("timer_fired")); n != 0 {
					t.Errorf("%d timer_fired events, want none", n)
				}
			})
		}
	}
}

// flaky fails conversation writes while broken is set.
type flaky struct {
	store.Store
	broken atomic.Bool
}

func (f *flaky) ReplaceConversation(ctx context.Context, c *store.Conversation) error {
	if f.broken.Load() {
		return errors.New("simulated store outage")
	}
	return f.Store.ReplaceConversation(ctx, c)
}

func (f *flaky) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	if f.broken.Load() {
		return errors.New("simulated store outage")
	}
	return f.Store.CommitConversation(ctx, ch)
}

func TestFailingTimerIsRetriedWithBackoffThenRecordedAsFailed(t *testing.T) {
	for _, recovers := range []bool{false, true} {
		name := "fails for good"
		if recovers {
			name = "store recovers"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := &flaky{Store: openBolt(t)}
			h := newHarness(t, st, withStore(st))
			rt := h.newRuntime(withStore(st), func(c *runtime.Config) {
				c.Options.JobAttempts = 3
				c.Options.JobBackoff = time.Minute
			})
			h.run(rt)
			h.text(rt, "1", "u1", "hello")
			h.press(rt, "1", "u2", "Wait")
			h.settle(rt)
			id := timerJob("1", 2)
			st.broken.Store(true)
			h.clock.Advance(10 * time.Minute)
			// Attempt 1 fails: retried about a minute later (±25% jitter);
			// attempt 2: about two minutes later.
			for attempt, backoff := range []time.Duration{time.Minute, 2 * time.Minute} {
				h.settle(rt)
				j, err := st.GetJob(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				now := h.clock.Now()
				if j.Status != store.JobPending || j.Attempts != attempt+1 || j.LastError == "" ||
					j.DueAt.Before(now.Add(backoff*3/4)) || j.DueAt.After(now.Add(backoff*5/4)) {
					t.Fatalf("after attempt %d: %s, %d attempts, due %v (now %v), error %q; want pending, retried after %v",
						attempt+1, j.Status, j.Attempts, j.DueAt, h.clock.Now(), j.LastError, backoff)
				}
				if attempt == 1 && recovers {
					st.broken.Store(false)
				}
				h.clock.Set(j.DueAt)
			}
			h.settle(rt)
			j, err := st.GetJob(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := rt.Stats(ctx)
			if recovers {
				h.waitTexts("1", "Hi Anna", "Later!")
				if j.Status != store.JobDone || s.JobsFailed != 0 {
					t.Errorf("job %s, %d failed jobs; want done, none failed", j.Status, s.JobsFailed)
				}
				return
			}
			if j.Status != store.JobFailed || j.Attempts != 3 || j.LastError == "" || s.JobsFailed != 1 {
				t.Errorf("job %s after %d attempts (%q), %d failed; want failed after 3 with the error kept",
					j.Status, j.Attempts, j.LastError, s.JobsFailed)
			}
			h.clock.Advance(time.Hour)
			h.settle(rt)
			h.waitTexts("1", "Hi Anna")
		})
	}
}

// hourDelay starts with a one-hour delay, so the delay's job is due an hour
// after the first message unless quiet hours move it.
const hourDelay = `
voronka: 1
id: hd
start: pause
nodes:
  pause:
    type: delay
    for: 1h
    next: later
  later:
    type: end
    text: "Later!"
`

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietHoursMoveDelaysToTheNextAllowedMoment(t *testing.T) {
	msk, berlin := mustZone(t, "Europe/Moscow"), mustZone(t, "Europe/Berlin")
	for _, tc := range []struct {
		name         string
		zone         string
		start, end   string
		sent, wantAt time.Time // the first message, and when the delay fires
	}{
		// A window across midnight.
		{"evening, across midnight", "Europe/Moscow", "21:00", "09:00",
			time.Date(2026, 3, 2, 20, 30, 0, 0, msk), time.Date(2026, 3, 3, 9, 0, 0, 0, msk)},
		{"after midnight, across midnight", "Europe/Moscow", "21:00", "09:00",
			time.Date(2026, 3, 3, 1, 0, 0, 0, msk), time.Date(2026, 3, 3, 9, 0, 0, 0, msk)},
		{"outside, across midnight", "Europe/Moscow", "21:00", "09:00",
			time.Date(2026, 3, 3, 9, 0, 0, 0, msk), time.Date(2026, 3, 3, 10, 0, 0, 0, msk)},
		{"the window's end is allowed", "Europe/Moscow", "21:00", "09:00",
			time.Date(2026, 3, 3, 8, 0, 0, 0, msk), time.Date(2026, 3, 3, 9, 0, 0, 0, msk)},
		// A window within one day.
		{"inside, same day", "Europe/Moscow", "13:00", "15:00",
			time.Date(2026, 3, 3, 12, 30, 0, 0, msk), time.Date(2026, 3, 3, 15, 0, 0, 0, msk)},
		{"before, same day", "Europe/Moscow", "13:00", "15:00",
			time.Date(2026, 3, 3, 11, 0, 0, 0, msk), time.Date(2026, 3, 3, 12, 0, 0, 0, msk)},
		{"after, same day", "Europe/Moscow", "13:00", "15:00",
			time.Date(2026, 3, 3, 14, 30, 0, 0, msk), time.Date(2026, 3, 3, 15, 30, 0, 0, msk)},
		// Daylight saving time: the window is local wall-clock time on
		// the night the clocks move (Berlin: 29 March 02:00 → 03:00 and
		// 25 October 03:00 → 02:00, 2026), not a fixed UTC offset.
		{"spring forward", "Europe/Berlin", "22:00", "07:00",
			time.Date(2026, 3, 28, 22, 30, 0, 0, berlin), time.Date(2026, 3, 29, 5, 0, 0, 0, time.UTC)},
		{"fall back", "Europe/Berlin", "22:00", "07:00",
			time.Date(2026, 10, 24, 22, 30, 0, 0, berlin), time.Date(2026, 10, 25, 6, 0, 0, 0, time.UTC)},
		{"ends in the skipped hour", "Europe/Berlin", "23:00", "02:30",
			time.Date(2026, 3, 28, 23, 30, 0, 0, berlin), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, openBolt(t))
			h.prog = compile(t, "hd.yaml", []byte(hourDelay))
			if err := h.st.PutBot(ctx, store.Bot{ID: bot, Name: "b", Settings: store.BotSettings{
				TimeZone: tc.zone, QuietHours: &store.QuietHours{Start: tc.start, End: tc.end}}}); err != nil {
				t.Fatal(err)
			}
			h.clock.Set(tc.sent)
			rt := h.newRuntime()
			h.run(rt)
			h.text(rt, "1", "u1", "hello")
			h.settle(rt)
			j, err := h.st.GetJob(ctx, timerJob("1", 1))
			if err != nil {
				t.Fatal(err)
			}
			if !j.DueAt.Equal(tc.wantAt) {
				t.Fatalf("delay due %v, want %v", j.DueAt.In(mustZone(t, tc.zone)), tc.wantAt.In(mustZone(t, tc.zone)))
			}
			h.clock.Set(tc.wantAt.Add(-time.Minute))
			h.settle(rt)
			if got := h.snd.texts("1"); len(got) != 0 {
				t.Fatalf("sent %q before the allowed moment", got)
			}
			h.clock.Set(tc.wantAt)
			h.settle(rt)
			h.waitTexts("1", "Later!")
		})
	}
}

func TestQuietHoursMoveReplyTimeoutsButNotAnswers(t *testing.T) {
	ctx := context.Background()
	msk := mustZone(t, "Europe/Moscow")
	h := newHarness(t, openBolt(t))
	if err := h.st.PutBot(ctx, store.Bot{ID: bot, Name: "b", Settings: store.BotSettings{
		TimeZone: "Europe/Moscow", QuietHours: &store.QuietHours{Start: "21:00", End: "09:00"}}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(time.Date(2026, 3, 2, 20, 30, 0, 0, msk))
	rt := h.newRuntime()
	h.run(rt)
	h.text(rt, "1", "u1", "hello") // answered at once, at 20:30
	h.waitTexts("1", "Hi Anna")
	h.settle(rt)
	// The greeting's one-hour reply timeout would nudge at 21:30.
	j, err := h.st.GetJob(ctx, timerJob("1", 1))
	if err != nil {
		t.Fatal(err)
	}
	morning := time.Date(2026, 3, 3, 9, 0, 0, 0, msk)
	if !j.DueAt.Equal(morning) {
		t.Fatalf("reply timeout due %v, want %v", j.DueAt.In(msk), morning)
	}
	h.clock.Set(time.Date(2026, 3, 2, 23, 0, 0, 0, msk))
	h.settle(rt)
	h.text(rt, "2", "u1", "hello") // another person at 23:00 is answered at once
	h.waitTexts("2", "Hi Anna")
	h.waitTexts("1", "Hi Anna")
	h.clock.Set(morning)
	h.settle(rt)
	h.waitTexts("1", "Hi Anna", "Still there?", "Hi Anna") // the nudge leads back: the prompt again
}
