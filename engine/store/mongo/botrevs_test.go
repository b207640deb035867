package mongo_test

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	driver "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

// A bot stored before bots had a revision (no rev field) reads as revision
// 0 and takes one conditional update over it, not two.
func TestBotWithoutRevisionUpdatesConditionally(t *testing.T) {
	ctx := context.Background()
	uri, db := testmongo.URI(t), testmongo.DBName(t)
	s, err := mongo.Open(ctx, uri, db, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	client, err := driver.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	if _, err := client.Database(db).Collection("bots").InsertOne(ctx, bson.M{"_id": "legacy", "name": "Old bot"}); err != nil {
		t.Fatal(err)
	}
	first, err := s.GetBot(ctx, "legacy")
	if err != nil || first.Rev != 0 || first.Name != "Old bot" {
		t.Fatalf("legacy bot %+v %v", first, err)
	}
	second := *first
	first.Name = "Renamed"
	if err := s.UpdateBot(ctx, first); err != nil || first.Rev != 1 {
		t.Fatalf("first update: %v (rev %d)", err, first.Rev)
	}
	second.FlowID = "main"
	if err := s.UpdateBot(ctx, &second); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("second update over revision 0: %v, want a conflict", err)
	}
	if got, err := s.GetBot(ctx, "legacy"); err != nil || got.Name != "Renamed" || got.FlowID != "" || got.Rev != 1 {
		t.Fatalf("after both: %+v %v", got, err)
	}
}
