package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// Bench runs the store benchmarks: the runtime's hot path (load + conditional
// replace of a conversation), event appends and job claims.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("ConversationUpdate/serial", func(b *testing.B) {
		st, ctx := newStore(b), context.Background()
		c := benchConversation(0)
		if err := st.CreateConversation(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := loadAndReplace(ctx, st, c.ID, i); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, "updates/s")
	})

	b.Run("ConversationUpdate/64writers", func(b *testing.B) {
		st, ctx := newStore(b), context.Background()
		writers := 64
		for i := range writers {
			if err := st.CreateConversation(ctx, benchConversation(i)); err != nil {
				b.Fatal(err)
			}
		}
		var next atomic.Int64
		b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine steps its own conversation, as the runtime does
			// under its per-conversation lock.
			id := benchConversation(int(next.Add(1)-1) % writers).ID
			for i := 0; pb.Next(); i++ {
				if err := loadAndReplace(ctx, st, id, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, "updates/s")
	})

	b.Run("EventAppend/serial", func(b *testing.B) {
		st, ctx := newStore(b), context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := st.AppendEvents(ctx, benchEvent(i)); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, "events/s")
	})

	b.Run("EventAppend/64writers", func(b *testing.B) {
		st, ctx := newStore(b), context.Background()
		var n atomic.Int64
		b.SetParallelism(64 / runtime.GOMAXPROCS(0))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := st.AppendEvents(ctx, benchEvent(int(n.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b, "events/s")
	})

	b.Run("JobClaimComplete/8workers", func(b *testing.B) {
		st, ctx := newStore(b), context.Background()
		now := time.Now()
		for i := 0; i < b.N; i++ {
			j := store.Job{ID: fmt.Sprint("job", i), Kind: "timer", DueAt: now.Add(-time.Duration(b.N-i) * time.Millisecond)}
			if err := st.ScheduleJob(ctx, j); err != nil {
				b.Fatal(err)
			}
		}
		var done, worker atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			owner := fmt.Sprint("w", worker.Add(1))
			for pb.Next() {
				for { // one op = one job claimed and completed
					if done.Load() >= int64(b.N) {
						return
					}
					jobs, err := st.ClaimJobs(ctx, owner, now, 1, time.Minute)
					if err != nil {
						b.Error(err)
						return
					}
					if len(jobs) == 0 {
						continue
					}
					if err := st.CompleteJob(ctx, jobs[0].ID, owner); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
					break
				}
			}
		})
		reportRate(b, "jobs/s")
	})
}

func reportRate(b *testing.B, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit)
	}
}

// benchConversation is a typical mid-funnel conversation (~2 KB of state).
func benchConversation(i int) *store.Conversation {
	c := sampleConversation("bench", "telegram", fmt.Sprint(i))
	c.State = make([]byte, 2048)
	for k := range c.State {
		c.State[k] = byte(k)
	}
	return c
}

func loadAndReplace(ctx context.Context, st store.Store, id string, i int) error {
	for {
		c, err := st.GetConversation(ctx, id)
		if err != nil {
			return err
		}
		c.Node = fmt.Sprint("node", i%10)
		c.State[i%len(c.State)]++
		c.RecentUpdates = append(c.RecentUpdates[max(0, len(c.RecentUpdates)-9):], fmt.Sprint("u", i))
		c.UpdatedAt = time.Now()
		err = st.ReplaceConversation(ctx, c)
		if !errors.Is(err, store.ErrVersionConflict) {
			return err
		}
	}
}

func benchEvent(i int) store.Event {
	return store.Event{ID: fmt.Sprint("ev", i), Bot: "bench", Flow: "main", FlowVersion: 1, Node: "n1",
		Type: "node_entered", Conversation: "bench:telegram:1", At: time.Now()}
}
