//go:build unix

package runtime_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/analytics"
)

// BenchmarkRollupUpkeep is the CPU of a message with and without the
// analytics roller folding its events (every second, as in serve, and what is left at
// the end, inside the measurement), on bolt, chats in parallel: the
// difference is what rollup upkeep adds per message. The pending mark an
// append writes beside each event is in both.
func BenchmarkRollupUpkeep(b *testing.B) {
	for _, roll := range []bool{false, true} {
		b.Run(fmt.Sprintf("rollups=%t", roll), func(b *testing.B) {
			st := openBolt(b)
			h := newHarness(b, st)
			h.run(h.rt)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			roller := &analytics.Roller{St: st, Every: time.Second}
			done := make(chan struct{})
			if roll {
				go func() { defer close(done); roller.Run(ctx) }()
			} else {
				close(done)
			}
			cpu0 := cpuNow()
			b.ResetTimer()
			b.SetParallelism(16)
			var chats int64
			var mu = make(chan struct{}, 1)
			mu <- struct{}{}
			b.RunParallel(func(pb *testing.PB) {
				<-mu
				chats++
				chat := fmt.Sprint("r", chats)
				mu <- struct{}{}
				i := 0
				for pb.Next() {
					in := inbound(chat, fmt.Sprint("u", i), fmt.Sprint("n", i))
					if i == 0 {
						in.Text = "hello"
					}
					if err := h.rt.Handle(ctx, in); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			if roll {
				cancel()
				<-done
				if _, err := roller.FlushAll(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/float64(b.N), "µs-cpu/msg")
		})
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRollupDrain is the same messages without the roller, then the
// roller folding all they left, alone, in its batches of 2,000 events (a
// busy server's flush): "upkeep-%" is the CPU of the fold over the CPU of
// the messages, measured apart so the other suites sharing the machine
// blur it less than the difference of two parallel runs.
func BenchmarkRollupDrain(b *testing.B) {
	st := openBolt(b)
	h := newHarness(b, st)
	h.run(h.rt)
	ctx := context.Background()
	cpu0 := cpuNow()
	b.SetParallelism(16)
	var chats int64
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	b.RunParallel(func(pb *testing.PB) {
		<-mu
		chats++
		chat := fmt.Sprint("d", chats)
		mu <- struct{}{}
		i := 0
		for pb.Next() {
			in := inbound(chat, fmt.Sprint("u", i), fmt.Sprint("n", i))
			if i == 0 {
				in.Text = "hello"
			}
			if err := h.rt.Handle(ctx, in); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	h.settle(h.rt)
	msgCPU := cpuNow() - cpu0
	roller := &analytics.Roller{St: st}
	cpu0 = cpuNow()
	events, err := roller.FlushAll(ctx)
	if err != nil {
		b.Fatal(err)
	}
	foldCPU := cpuNow() - cpu0
	b.ReportMetric(float64(msgCPU.Microseconds())/float64(b.N), "µs-cpu/msg")
	b.ReportMetric(float64(foldCPU.Microseconds())/float64(b.N), "µs-fold/msg")
	b.ReportMetric(float64(events)/float64(b.N), "events/msg")
	b.ReportMetric(100*float64(foldCPU)/float64(msgCPU), "upkeep-%")
}
