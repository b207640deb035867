package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

const retentionFlow = `
voronka: 1
id: r
start: hi
nodes:
  hi:
    type: message
    text: "Hello"
    next: bye
  bye:
    type: end
    text: "Bye"
`

// logCounter counts log records by message, and adds up the numbers the
// purge logs, for every runtime sharing it.
type logCounter struct {
	mu     sync.Mutex
	n      map[string]int
	purged map[string]int64
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCounter) WithGroup(string) slog.Handler            { return l }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Message]++
	if r.Message == "retention purge" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Value.Kind() == slog.KindInt64 {
				l.purged[a.Key] += a.Value.Int64()
			}
			return true
		})
	}
	return nil
}

func (l *logCounter) purgedTotal(kind string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.purged[kind]
}

func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// retentionHarness runs on a manual clock that starts at the wall clock's
// hour: stores stamp a job's UpdatedAt with their own clock, and the
// purge compares it with the runtime's.
func retentionHarness(t *testing.T, st store.Store, policy runtime.Retention) (*harness, *logCounter, time.Time) {
	start := time.Now().UTC().Truncate(time.Hour)
	h := &harness{t: t, st: st, clock: runtime.NewManualClock(start), snd: newFakeSender(), env: map[string]string{}}
	h.prog = compile(t, "r.yaml", []byte(retentionFlow))
	logs := &logCounter{n: map[string]int{}, purged: map[string]int64{}}
	h.rt = h.newRuntime(withRetention(policy, logs))
	return h, logs, start
}

func withRetention(policy runtime.Retention, logs *logCounter) option {
	return func(c *runtime.Config) {
		c.Options.Retention = policy
		c.Logger = slog.New(logs)
	}
}

func (h *harness) say(rt *runtime.Runtime, chat, update string) {
	h.t.Helper()
	in := channel.Inbound{Bot: bot, Channel: "telegram", Chat: chat, UpdateID: update, Kind: channel.KindText,
		Text: "hi", Time: h.clock.Now()}
	if err := rt.Handle(context.Background(), in); err != nil {
		h.t.Fatalf("handle %s: %v", update, err)
	}
}

func (h *harness) transcript(chat string) []store.Message {
	h.t.Helper()
	msgs, _, err := h.st.ListMessages(context.Background(), store.ConversationID(bot, "telegram", chat), "", store.MaxLimit)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

func (h *harness) jobStatus(id string) store.JobStatus {
	h.t.Helper()
	j, err := h.st.GetJob(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return "purged"
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return j.Status
}

func retentionJobID(at time.Time) string { return "retention:" + at.UTC().Format("20060102T150405Z") }

// The purge runs once per period however many replicas run, and deletes
// each kind of data once it is older than its age: finished jobs, expired
// sessions, raw events, transcripts; conversations stay.
func TestRetentionPurgesOnSchedule(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		day := 24 * time.Hour
		policy := runtime.Retention{Every: time.Hour, Jobs: day, FailedJobs: 7 * day, Messages: 30 * day, Events: 10 * day}
		h, logs, start := retentionHarness(t, open(t), policy)
		replica := h.newRuntime(withRetention(policy, logs))
		h.run(h.rt)
		h.run(replica)
		runs := 0
		period := func(what string) {
			t.Helper()
			runs++
			eventuallyWithin(t, time.Minute, what, func() {
				h.settle(h.rt)
				h.settle(replica)
			}, func() bool { return logs.count("retention purge done") >= runs })
		}
		period("the purge of the first period")

		h.say(h.rt, "1", "u1")
		h.waitTexts("1", "Hello", "Bye")
		if err := h.st.PutSession(ctx, store.Session{ID: "s1", UserID: "u", CreatedAt: start, ExpiresAt: start.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := h.st.ScheduleJob(ctx, store.Job{ID: "bogus", Kind: "from-a-newer-release", DueAt: start}); err != nil {
			t.Fatal(err)
		}
		h.settle(h.rt)
		if got := h.jobStatus("bogus"); got != store.JobFailed {
			t.Fatalf("job of an unknown kind is %s, want failed", got)
		}
		wantMsgs, wantEvents := len(h.transcript("1")), len(h.events("conversation_started"))
		if wantMsgs != 3 || wantEvents != 1 {
			t.Fatalf("chat 1 wrote %d transcript lines and %d conversation_started events, want 3 and 1", wantMsgs, wantEvents)
		}

		h.clock.Advance(time.Hour)
		period("the purge of the second period")
		for id, want := range map[string]store.JobStatus{
			retentionJobID(start):                    store.JobDone,
			retentionJobID(start.Add(time.Hour)):     store.JobDone,
			retentionJobID(start.Add(2 * time.Hour)): store.JobPending,
		} {
			if got := h.jobStatus(id); got != want {
				t.Fatalf("job %s is %s, want %s", id, got, want)
			}
		}

		// Two days on (the process was down, say): one purge, not one per
		// missed period. Finished jobs and the expired session go.
		h.clock.Set(start.Add(2 * day))
		period("the purge after two days")
		if got := h.jobStatus(retentionJobID(start)); got != "purged" {
			t.Fatalf("a day-old done job is %s, want purged", got)
		}
		if got := h.jobStatus("bogus"); got != store.JobFailed {
			t.Fatalf("a failed job is %s after two days, want kept for seven", got)
		}
		if _, err := h.st.GetSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v, want purged", err)
		}
		if n := len(h.transcript("1")); n != wantMsgs {
			t.Fatalf("%d transcript lines after two days, want %d", n, wantMsgs)
		}

		h.clock.Set(start.Add(11 * day))
		period("the purge after eleven days")
		if n := len(h.events("conversation_started")); n != 0 {
			t.Fatalf("%d eleven-day-old events kept, want purged after ten days", n)
		}
		if got := h.jobStatus("bogus"); got != "purged" {
			t.Fatalf("a failed job is %s after eleven days, want purged after seven", got)
		}
		if n := len(h.transcript("1")); n != wantMsgs {
			t.Fatalf("%d transcript lines after eleven days, want %d", n, wantMsgs)
		}
		h.say(h.rt, "2", "u2")
		h.waitTexts("2", "Hello", "Bye")

		h.clock.Set(start.Add(31 * day))
		period("the purge after thirty-one days")
		if n := len(h.transcript("1")); n != 0 {
			t.Fatalf("%d transcript lines of 31 days ago kept, want purged after 30", n)
		}
		if n := len(h.transcript("2")); n != wantMsgs {
			t.Fatalf("chat 2's transcript of 20 days ago has %d lines, want %d", n, wantMsgs)
		}
		if c := h.conv("1"); c.Status != store.StatusEnded {
			t.Fatalf("conversation 1 after the purges: %+v", c)
		}
		h.settle(h.rt)
		h.settle(replica)
		if n := logs.count("retention purge done"); n != runs {
			t.Fatalf("%d purges ran in %d periods with two replicas, want one per period", n, runs)
		}
	})
}

// Keep keeps a kind for ever; a negative Every turns the purge off.
func TestRetentionKeepAndOff(t *testing.T) {
	day := 24 * time.Hour
	t.Run("keep", func(t *testing.T) {
		h, logs, start := retentionHarness(t, openBolt(t), runtime.Retention{Messages: runtime.Keep, Events: runtime.Keep})
		h.run(h.rt)
		h.say(h.rt, "1", "u1")
		h.waitTexts("1", "Hello", "Bye")
		eventually(t, "the first purge", func() { h.settle(h.rt) },
			func() bool { return logs.count("retention purge done") >= 1 })
		h.clock.Set(start.Add(400 * day))
		eventually(t, "a purge 400 days on", func() { h.settle(h.rt) },
			func() bool { return logs.count("retention purge done") >= 2 })
		if n, e := len(h.transcript("1")), len(h.events("conversation_started")); n != 3 || e != 1 {
			t.Fatalf("kept %d transcript lines and %d events, want all (3 and 1)", n, e)
		}
		if got := h.jobStatus(retentionJobID(start)); got != "purged" {
			t.Fatalf("finished jobs are kept by default for a day, not 400: %s", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		h, logs, start := retentionHarness(t, openBolt(t), runtime.Retention{Every: -1})
		h.run(h.rt)
		h.say(h.rt, "1", "u1")
		h.waitTexts("1", "Hello", "Bye")
		h.clock.Set(start.Add(400 * day))
		h.settle(h.rt)
		if n := logs.count("retention purge done"); n != 0 || h.jobStatus(retentionJobID(start)) != "purged" {
			t.Fatalf("purge turned off ran %d times", n)
		}
		if n := len(h.transcript("1")); n != 3 {
			t.Fatalf("purge turned off deleted transcript lines: %d left of 3", n)
		}
	})
}

// The jobs a process leaves when it dies (guards of outboxes it never sent,
// expiries of runs that ended) are run by the next process when due and
// purged a day after: a month on, the only pending job is the next purge.
func TestNoJobIsLeftOver(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		day := 24 * time.Hour
		h, logs, start := retentionHarness(t, open(t), runtime.Retention{})
		// The first process records 20 chats and dies before Run: nothing
		// is sent, and its lease runs out.
		const chats = 20
		for i := range chats {
			h.say(h.rt, fmt.Sprint(i), fmt.Sprint("u", i))
		}
		next := h.newRuntime(withRetention(runtime.Retention{}, logs))
		h.run(next)
		eventuallyWithin(t, time.Minute, "the next process to deliver the stranded replies", func() {
			h.clock.Advance(time.Second)
			h.settle(next)
		}, func() bool { return h.snd.total() >= 2*chats })
		for i := range chats {
			h.waitTexts(fmt.Sprint(i), "Hello", "Bye")
		}
		if d := h.snd.duplicates(); len(d) > 0 {
			t.Fatalf("replies sent twice: %v", d)
		}

		// A month on, the ended runs' expiry jobs have come due and run;
		// two days later everything that finished is purged.
		for _, at := range []time.Duration{31 * day, 33 * day} {
			h.clock.Set(start.Add(at))
			// The purge that runs now schedules the period after it.
			following := retentionJobID(start.Add(at + time.Hour))
			eventuallyWithin(t, time.Minute, fmt.Sprint("the purge on day ", int(at/day)), func() { h.settle(next) },
				func() bool { return h.jobStatus(following) == store.JobPending })
			h.settle(next)
		}
		n, err := h.st.CountPendingJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || h.jobStatus(retentionJobID(start.Add(33*day+time.Hour))) != store.JobPending {
			t.Fatalf("%d jobs pending a month on, want only the next purge", n)
		}
		// Outboxes are guarded by the processes' leases, not by a job per
		// chat: what finished is the purges' own jobs.
		if got := logs.purgedTotal("jobs"); got < 1 {
			t.Fatalf("purges deleted %d finished jobs, want the finished purges", got)
		}
	})
}

// A reply stays in its conversation's outbox after it went out until the
// conversation is next written. When the chat then stays quiet past the
// retention, the purge deletes the `sent` event that says it went out, or
// the transcript lines it carries (on MongoDB a step's lines and events
// ride with its first reply). A process that later takes the outbox over,
// when its owner stopped (by the sweep, or at the chat's next message),
// must not send the reply again, nor write again what the purge deleted.
func TestOutboxOlderThanRetentionIsNotSentAgain(t *testing.T) {
	day := 24 * time.Hour
	eventsGo := runtime.Retention{Every: time.Hour, Messages: 30 * day, Events: 10 * day}
	linesGo := runtime.Retention{Every: time.Hour, Messages: 10 * day, Events: 30 * day}
	for _, tc := range []struct {
		name   string
		policy runtime.Retention
		byStep bool
	}{
		{"events purged, sweep", eventsGo, false},
		{"events purged, next message", eventsGo, true},
		{"transcript purged, sweep", linesGo, false},
		{"transcript purged, next message", linesGo, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
				oldOutboxAfterPurge(t, open(t), tc.policy, tc.byStep)
			})
		})
	}
}

// oldWrites notes every transcript line and event written with a time
// before its kind's cut-off, once armed.
type oldWrites struct {
	store.Store
	mu            sync.Mutex
	lines, events time.Time // cut-offs; zero: not armed
	got           []string
}

func (s *oldWrites) note(msgs []store.Message, evs []store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		if m.At.Before(s.lines) {
			s.got = append(s.got, "line "+m.ID)
		}
	}
	for _, e := range evs {
		if e.At.Before(s.events) {
			s.got = append(s.got, e.Type+" event "+e.ID)
		}
	}
}

func (s *oldWrites) written() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *oldWrites) AppendMessages(ctx context.Context, msgs ...store.Message) error {
	s.note(msgs, nil)
	return s.Store.AppendMessages(ctx, msgs...)
}

func (s *oldWrites) AppendEvents(ctx context.Context, evs ...store.Event) error {
	s.note(nil, evs)
	return s.Store.AppendEvents(ctx, evs...)
}

func (s *oldWrites) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	s.note(ch.Messages, ch.Events)
	return s.Store.CommitConversation(ctx, ch)
}

func oldOutboxAfterPurge(t *testing.T, st store.Store, policy runtime.Retention, byStep bool) {
	ctx := context.Background()
	w := &oldWrites{Store: st}
	h, logs, start := retentionHarness(t, w, policy)
	h.run(h.rt)
	h.say(h.rt, "1", "u1")
	h.waitTexts("1", "Hello", "Bye")
	h.settle(h.rt)
	if c := h.conv("1"); len(c.Outbox) == 0 {
		t.Fatal("the delivered replies were pruned at once; this test needs them left in the outbox")
	}
	owner := h.rt.Owner()
	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h.rt.Shutdown(shutdown)

	h.clock.Set(start.Add(11 * 24 * time.Hour))
	now := h.clock.Now()
	cut := store.PurgeOptions{EventsBefore: now.Add(-policy.Events), MessagesBefore: now.Add(-policy.Messages)}
	if _, err := h.st.Purge(ctx, cut); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.lines, w.events = cut.MessagesBefore, cut.EventsBefore
	w.mu.Unlock()

	next := h.newRuntime(withRetention(policy, logs))
	if byStep {
		h.say(next, "1", "u2") // before Run: no sweep looks first
	}
	h.run(next)
	eventually(t, "the stopped process's outboxes to be taken over", nil, func() bool {
		_, err := h.st.GetLease(ctx, owner)
		return errors.Is(err, store.ErrNotFound)
	})
	h.settle(next)
	if !byStep {
		h.say(next, "1", "u2")
	}
	// The flow starts over: only the new replies go out.
	h.waitTexts("1", "Hello", "Bye", "Hello", "Bye")
	h.settle(next)
	if got := w.written(); len(got) > 0 {
		t.Errorf("the takeover wrote again what the purge deleted: %q", got)
	}
	if c := h.conv("1"); slices.ContainsFunc(c.Outbox, func(m store.OutMessage) bool { return m.At.Before(now) }) {
		t.Errorf("the old replies are still in the outbox after the chat's next write: %+v", c.Outbox)
	}
}

// How old a delivered reply must be before it counts as delivered without
// its event: the README's Retention section states these.
func TestRecordsAge(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name   string
		policy runtime.Retention
		want   time.Duration
	}{
		{"defaults: events 90 days, less a day", runtime.Retention{}, 89 * day},
		{"the shorter age counts", runtime.Retention{Messages: 30 * day, Events: runtime.Keep}, 29 * day},
		{"a short age keeps three quarters", runtime.Retention{Events: day}, 18 * time.Hour},
		{"both kept for ever", runtime.Retention{Messages: runtime.Keep, Events: runtime.Keep}, 0},
		{"the purge off", runtime.Retention{Every: -1}, 0},
	} {
		if got := runtime.RecordsAge(tc.policy); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
