package runtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/testmongo"
)

// BenchmarkTimersFallingDueAtOnce measures how long a runtime takes to fire
// a crowd of timers that fall due at the same moment among many more that
// are pending for later: the 100,000 pending of which 10,000 are
// due. The figure is "seconds-to-fire-all", from the clock passing the due
// time to the last follow-up handed to the sender. Set-up (conversations
// waiting in a delay, the later timers) is not timed. Run it with
// -benchtime=1x; each iteration sets everything up afresh.
//
// The Mongo case runs on the FerretDB test server unless MONGO_URI points
// at a real MongoDB.
func BenchmarkTimersFallingDueAtOnce(b *testing.B) {
	b.Run("bolt/pending=100000/due=10000", func(b *testing.B) {
		benchTimers(b, openBolt, 100_000, 10_000)
	})
	b.Run("mongo/pending=100000/due=10000", func(b *testing.B) {
		benchTimers(b, func(tb testing.TB) store.Store { return openMongoDBWith(tb, testmongo.DBName(tb), smallPool) }, 100_000, 10_000)
	})
}

func benchTimers(b *testing.B, open func(testing.TB) store.Store, pending, due int) {
	for range b.N {
		b.StopTimer()
		st := open(b)
		h := newHarness(b, st)
		h.prog = compile(b, "delay.yaml", []byte(delayFlow))
		// The lease outlasts the measurement: the clock's jump to the
		// timers must not look like this process's lease lapsing.
		rt := h.newRuntime(func(c *runtime.Config) { c.Options.LeaseTTL = time.Hour })
		h.run(rt)
		// The due timers: conversations waiting in a ten-minute delay.
		parallel(due, 8, func(i int) { h.text(rt, fmt.Sprint("c", i), "u1", "hello") })
		h.settleWithin(rt, 30*time.Minute)
		// The rest fall due a day later. The conversations' own pending
		// jobs (their expiry and resend sweeps) count towards the total.
		ctx := context.Background()
		have, err := st.CountPendingJobs(ctx)
		if err != nil {
			b.Fatal(err)
		}
		later := pending - int(have)
		errs := make(chan error, 1)
		parallel(later, 16, func(i int) {
			err := st.ScheduleJob(ctx, store.Job{ID: fmt.Sprint("later:", i), Kind: runtime.JobTimer, Bot: bot,
				Target: store.ConversationID(bot, "telegram", fmt.Sprint("later", i)), Payload: []byte("1"),
				DueAt: t0.Add(24 * time.Hour)})
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		if n, err := st.CountPendingJobs(ctx); err != nil || n < int64(pending) {
			b.Fatalf("%d pending jobs (%v), want %d", n, err, pending)
		}

		b.StartTimer()
		start := time.Now()
		h.clock.Advance(11 * time.Minute) // wakes the scheduler loop
		eventuallyWithin(b, 30*time.Minute, "every follow-up", nil, func() bool { return h.snd.total() >= due })
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(elapsed.Seconds(), "seconds-to-fire-all")
		b.ReportMetric(float64(due)/elapsed.Seconds(), "timers/s")
		s, _ := rt.Stats(ctx)
		if s.TimersFired != uint64(due) {
			b.Errorf("%d timers fired, want %d", s.TimersFired, due)
		}
		ctx2, cancel := context.WithTimeout(ctx, time.Minute)
		rt.Shutdown(ctx2)
		cancel()
	}
}
