package runtime_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// BenchmarkHandle measures one inbound message end to end: the
// conversation write, the resend guard, transcript and events. Sending is
// running into a fake sender without limits, so outboxes drain as they would
// in production and the delivery writes compete with Handle for the store.
// Sequential: one chat after another; Parallel: many chats at once, which is
// how load arrives and what lets bolt share fsyncs.
func BenchmarkHandle(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			b.Run("sequential", func(b *testing.B) { benchHandle(b, be.open(b), false) })
			b.Run("parallel", func(b *testing.B) { benchHandle(b, be.open(b), true) })
		})
	}
}

func benchHandle(b *testing.B, st store.Store, par bool) {
	h := newHarness(b, st)
	h.run(h.rt)
	ctx := context.Background()
	var chats atomic.Int64
	step := func(chat string, i int) {
		// A conversation of two turns: the greeting, then an answer loop.
		in := inbound(chat, fmt.Sprint("u", i), fmt.Sprint("n", i))
		if i == 0 {
			in.Text = "hello"
		}
		if err := h.rt.Handle(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer func() {
		b.StopTimer()
		s, _ := h.rt.Stats(ctx)
		b.ReportMetric(float64(s.HandleLatency.Sum)/float64(max(s.HandleLatency.Count, 1))/1e6, "ms-latency")
		b.ReportMetric(p99(s.HandleLatency), "ms-p99")
	}()
	if !par {
		chat := "seq"
		for i := range b.N {
			if i%20 == 0 {
				chat = fmt.Sprint("s", chats.Add(1))
			}
			step(chat, i%20)
		}
		return
	}
	b.SetParallelism(16) // 16 goroutines per CPU: many chats in flight
	b.RunParallel(func(pb *testing.PB) {
		chat := fmt.Sprint("p", chats.Add(1))
		i := 0
		for pb.Next() {
			if i%20 == 0 {
				chat = fmt.Sprint("p", chats.Add(1))
			}
			step(chat, i%20)
			i++
		}
	})
}

// p99 reads the 99th percentile from a histogram, as the bucket bound
// (milliseconds) that holds it.
func p99(h runtime.Histogram) float64 {
	want := uint64(float64(h.Count) * 0.99)
	for i, c := range h.Counts {
		if c >= want {
			return float64(h.Bounds[i]) / 1e6
		}
	}
	return float64(h.Bounds[len(h.Bounds)-1]) / 1e6
}
