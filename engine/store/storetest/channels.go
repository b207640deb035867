package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) channelLeases(t *testing.T) {
	t.Run("one holder at a time, taken over once ended", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.GetChannelLease(ctx, "telegram:shop")
		wantErr(t, err, store.ErrNotFound, "lease never taken")
		l, ok, err := st.TakeChannelLease(ctx, store.ChannelLease{ID: "telegram:shop", Owner: "r1", Until: at(10 * time.Second), Status: []byte(`{"state":"connected"}`)}, at(0))
		must(t, err, "r1 takes")
		if !ok || l.Owner != "r1" {
			t.Fatalf("r1 did not get a free lease: %+v %v", l, ok)
		}
		l, ok, err = st.TakeChannelLease(ctx, store.ChannelLease{ID: "telegram:shop", Owner: "r2", Until: at(20 * time.Second)}, at(5*time.Second))
		must(t, err, "r2 tries")
		if ok || l.Owner != "r1" || string(l.Status) != `{"state":"connected"}` {
			t.Fatalf("r2 got a held lease, or not r1's: %+v %v", l, ok)
		}
		// r1 renews with a new status; r2 sees it.
		_, ok, err = st.TakeChannelLease(ctx, store.ChannelLease{ID: "telegram:shop", Owner: "r1", Until: at(15 * time.Second), Status: []byte(`{"state":"degraded"}`)}, at(6*time.Second))
		must(t, err, "r1 renews")
		if !ok {
			t.Fatal("the holder could not renew")
		}
		got, err := st.GetChannelLease(ctx, "telegram:shop")
		must(t, err, "get")
		if got.Owner != "r1" || !got.Until.Equal(at(15*time.Second)) || string(got.Status) != `{"state":"degraded"}` {
			t.Fatalf("stored lease %+v", got)
		}
		// Past its end anyone takes it.
		l, ok, err = st.TakeChannelLease(ctx, store.ChannelLease{ID: "telegram:shop", Owner: "r2", Until: at(30 * time.Second)}, at(16*time.Second))
		must(t, err, "r2 takes an ended lease")
		if !ok || l.Owner != "r2" {
			t.Fatalf("r2 did not get an ended lease: %+v %v", l, ok)
		}
		// r1 dropping a lease it lost leaves r2's alone; r2 dropping frees it.
		must(t, st.DropChannelLease(ctx, "telegram:shop", "r1"), "r1 drops")
		if got, err := st.GetChannelLease(ctx, "telegram:shop"); err != nil || got.Owner != "r2" {
			t.Fatalf("after r1's drop: %+v %v", got, err)
		}
		must(t, st.DropChannelLease(ctx, "telegram:shop", "r2"), "r2 drops")
		_, err = st.GetChannelLease(ctx, "telegram:shop")
		wantErr(t, err, store.ErrNotFound, "dropped lease")
		must(t, st.DropChannelLease(ctx, "telegram:shop", "r2"), "drop again")
	})
	t.Run("racing takers: exactly one wins", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		const n = 8
		var wg sync.WaitGroup
		wins := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func(owner string) {
				defer wg.Done()
				_, ok, err := st.TakeChannelLease(ctx, store.ChannelLease{ID: "telegram:race", Owner: owner, Until: at(time.Minute)}, at(0))
				if err != nil {
					t.Errorf("%s: %v", owner, err)
				}
				if ok {
					wins <- owner
				}
			}(pad(i))
		}
		wg.Wait()
		close(wins)
		var won []string
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 {
			t.Fatalf("%d replicas hold the lease: %q", len(won), won)
		}
	})
}
