package bolt

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// TestPendingEventsAreNotDecodedAgain: the rollup flush gets the events
// this process appended as they were given, allocating next to nothing
// per event (decoding each one's JSON again takes 21 allocations);
// the shortcut empties as batches apply, keeps nothing for repeated
// appends or refused commits, and what it misses is decoded as before.
func TestPendingEventsAreNotDecodedAgain(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, &Options{NoSync: true})
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var evs []store.Event
	for i := range 500 {
		evs = append(evs, store.Event{ID: fmt.Sprintf("c%d/k/0", i%50), Bot: "b", Flow: "f", FlowVersion: 1, Type: "node_entered",
			Node: "n", Conversation: fmt.Sprintf("b:telegram:%d", i%50), Channel: "telegram", At: t0.Add(time.Duration(i) * time.Second),
			Data: map[string]any{"name": "x", "num": 2.0}})
	}
	if err := s.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs[:100]...); err != nil { // a replay stores nothing
		t.Fatal(err)
	}
	if n := s.fresh.len(); n != 500 {
		t.Fatalf("%d events kept for the flush, want 500", n)
	}
	allocs := testing.AllocsPerRun(5, func() {
		got, _, _, err := s.PendingEvents(ctx, 1000)
		if err != nil || len(got) != 500 {
			t.Fatalf("pending %d, %v", len(got), err)
		}
	})
	if perEvent := allocs / 500; perEvent > 3 {
		t.Errorf("%.1f allocations per pending event, want at most 3 (decoding again takes 21)", perEvent)
	}
	// A commit refused (version conflict) keeps nothing.
	c := store.Conversation{ID: "b:telegram:x", Bot: "b", Channel: "telegram", Chat: "x"}
	if err := s.CommitConversation(ctx, store.ConversationChange{Conversation: &c, Create: true}); err != nil {
		t.Fatal(err)
	}
	stale := c
	stale.Version = 0
	lost := store.Event{ID: "x/k/0", Bot: "b", Type: "node_entered", Conversation: c.ID, At: t0.Add(time.Hour)}
	err := s.CommitConversation(ctx, store.ConversationChange{Conversation: &stale, Events: []store.Event{lost}})
	if !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale commit: %v, want a version conflict", err)
	}
	if n := s.fresh.len(); n != 500 {
		t.Fatalf("%d events kept after a refused commit, want 500", n)
	}
	// Without the shortcut the file's copy is decoded: the same events.
	got, seq, _, err := s.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s.fresh.clear()
	decoded, _, _, err := s.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].ID != decoded[i].ID || !got[i].At.Equal(decoded[i].At) || got[i].Data["num"] != decoded[i].Data["num"] {
			t.Fatalf("event %d: kept %+v, decoded %+v", i, got[i], decoded[i])
		}
	}
	if err := s.AppendEvents(ctx, evs[0]); err != nil { // a replay after the reset: still not new
		t.Fatal(err)
	}
	keys := make([]store.EventKey, len(got))
	for i, e := range got {
		keys[i] = store.EventKey{Bot: e.Bot, ID: e.ID, At: e.At}
	}
	if err := s.ApplyRollup(ctx, store.RollupBatch{Seq: seq + 1, Events: keys}); err != nil {
		t.Fatal(err)
	}
	if n := s.fresh.len(); n != 0 {
		t.Fatalf("%d events kept after their batch applied, want 0", n)
	}
}
