package bolt_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/storetest"
)

func newStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "data", "voronka.db")
	s, err := bolt.Open(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "voronka.db")
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Conversation{ID: "b:c:1", Bot: "b", Status: store.StatusHandoff, State: []byte("state")}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleJob(ctx, store.Job{ID: "j", Kind: "timer"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	got, err := s.GetConversation(ctx, "b:c:1")
	if err != nil || string(got.State) != "state" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	items, _, err := s.ListInbox(ctx, store.InboxQuery{Bot: "b", Status: store.StatusHandoff})
	if err != nil || len(items) != 1 {
		t.Fatalf("inbox after reopen: %d items, %v", len(items), err)
	}
	if n, err := s.CountPendingJobs(ctx); err != nil || n != 1 {
		t.Fatalf("pending jobs after reopen: %d, %v", n, err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
