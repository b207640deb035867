package mongo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/event"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

// TestPurgeDeletesInRounds: a purge of more than a batch deletes the old
// events oldest first in several bounded deletes, keeps the recent ones
// and counts what it deleted (one DeleteMany of 36,000 events failed on the
// test server and is a long operation on MongoDB).
func TestPurgeDeletesInRounds(t *testing.T) {
	ctx := context.Background()
	var deletes int
	opts := *testOptions
	opts.PurgeBatch = 10
	opts.Monitor = &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "delete" {
			deletes++
		}
	}}
	s, err := mongo.Open(ctx, testmongo.URI(t), testmongo.DBName(t), &opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)

	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []store.Event
	for i := range 45 {
		// three events share each instant, so a round's bound falls among equals
		at := base.Add(time.Duration(i/3) * time.Hour)
		evs = append(evs, store.Event{ID: fmt.Sprintf("e%02d", i), Bot: "b", Type: "message_in", Conversation: "c", At: at})
	}
	if err := s.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	cut := base.Add(12 * time.Hour) // events 0..35 are older
	res, err := s.Purge(ctx, store.PurgeOptions{EventsBefore: cut})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 36 {
		t.Errorf("purge reported %d events deleted, want 36", res.Events)
	}
	if deletes < 3 {
		t.Errorf("purge of 36 events in batches of 10 took %d deletes, want several rounds", deletes)
	}
	left, _, err := s.QueryEvents(ctx, store.EventQuery{Bot: "b", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 9 {
		t.Fatalf("%d events left, want the 9 at or after the cut", len(left))
	}
	for _, e := range left {
		if e.At.Before(cut) {
			t.Errorf("event %s at %v survived the purge before %v", e.ID, e.At, cut)
		}
	}
}
