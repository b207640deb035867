package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

func TestQueueTallyCountsOncePerChange(t *testing.T) {
	var q queueTally
	var calls atomic.Int32
	n := 0
	count := func(context.Context) (map[string]store.QueueTally, error) {
		calls.Add(1)
		return map[string]store.QueueTally{"sales": {Unassigned: n}}, nil
	}
	ctx := context.Background()
	get := func() int {
		t.Helper()
		v, err := q.get(ctx, count)
		if err != nil {
			t.Fatal(err)
		}
		return v["sales"].Unassigned
	}
	n = 1
	if get() != 1 || get() != 1 || calls.Load() != 1 {
		t.Fatalf("two asks with no change between: %d counts", calls.Load())
	}
	n = 2
	q.changed()
	if get() != 2 || calls.Load() != 2 {
		t.Fatalf("after a change: %d counts", calls.Load())
	}

	// A change while a count runs: that count answers its caller, but the
	// next ask counts again.
	inCount := make(chan struct{})
	release := make(chan struct{})
	slow := func(ctx context.Context) (map[string]store.QueueTally, error) {
		close(inCount)
		<-release
		return count(ctx)
	}
	q.changed()
	done := make(chan int)
	go func() {
		v, _ := q.get(ctx, slow)
		done <- v["sales"].Unassigned
	}()
	<-inCount
	q.changed()
	n = 3
	close(release)
	<-done
	if get() != 3 {
		t.Fatal("a count overtaken by a change was kept")
	}

	// Many asks at once after a change share one count.
	q.changed()
	before := calls.Load()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := q.get(ctx, count); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := calls.Load() - before; got != 1 {
		t.Fatalf("50 asks after one change: %d counts, want 1", got)
	}
}

// countingStore counts the store's queue counts.
type countingStore struct {
	store.Store
	queues atomic.Int32
}

func (c *countingStore) CountQueues(ctx context.Context) (map[string]store.QueueTally, error) {
	c.queues.Add(1)
	return c.Store.CountQueues(ctx)
}

// Every operator's page asks for its counts after each change: they share
// one count of the queues, and a change made through the runtime shows in
// the very next answer.
func TestInboxCountsShareOneCountPerChange(t *testing.T) {
	var cs *countingStore
	k := newInboxStackWith(t, func(cfg *Config) {
		cs = &countingStore{Store: cfg.Store}
		cfg.Store = cs
	})
	id := k.handoff("901")
	olga := signIn(t, k.s, "olga", "password-olga")
	ivan := signIn(t, k.s, "ivan", "password-ivan")
	petr := signIn(t, k.s, "petr", "password-petr")
	ask := func() {
		t.Helper()
		for range 3 {
			for _, c := range []*client{olga, ivan, petr} {
				c.want(200, "GET", "/api/inbox/counts", "")
			}
		}
	}
	// At most two: a change's echo off the bus may land among the asks.
	before := cs.queues.Load()
	ask()
	if got := cs.queues.Load() - before; got > 2 {
		t.Fatalf("9 asks: %d queue counts, want at most 2", got)
	}
	olga.want(200, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
	if n := olga.want(200, "GET", "/api/inbox/counts", ""); n["mine"] != float64(1) || n["unassigned"] != float64(0) {
		t.Fatalf("right after the take: %v", n)
	}
	before = cs.queues.Load()
	ask()
	if got := cs.queues.Load() - before; got > 2 {
		t.Fatalf("9 asks after a change: %d queue counts, want at most 2", got)
	}
}
