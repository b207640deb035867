package mongo_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	driver "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/testmongo"
)

// TestMonthRollupsMoveToTheirCollection: a database written before month
// documents had their own collection keeps them among the days; opening
// it moves them (once), so reports of whole months still find them, and
// new batches add to the moved documents.
func TestMonthRollupsMoveToTheirCollection(t *testing.T) {
	ctx := context.Background()
	uri, db := testmongo.URI(t), testmongo.DBName(t)
	client, err := driver.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	old := client.Database(db).Collection("rollups")
	for _, d := range []store.RollupDoc{{Bot: "b", Day: "2026-03", Flow: "f", Version: 1}, {Bot: "b", Day: "2026-03-02", Flow: "f", Version: 1}} {
		if _, err := old.InsertOne(ctx, bson.M{"_id": d.RollupID(), "bot": d.Bot, "day": d.Day, "flow": d.Flow, "version": d.Version,
			"source": "", "seq": int64(3), "c": bson.M{"in": 4.0}}); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, db)
	if n, err := old.CountDocuments(ctx, bson.M{}); err != nil || n != 1 {
		t.Fatalf("%d documents left among the days (%v), want the day's only", n, err)
	}
	add := store.RollupDoc{Bot: "b", Day: "2026-03", Flow: "f", Version: 1, C: map[string]float64{"in": 1}}
	if err := s.ApplyRollup(ctx, store.RollupBatch{Deltas: []store.RollupDoc{add}}); err != nil {
		t.Fatal(err)
	}
	openStore(t, db) // a second open moves nothing again
	for _, q := range []struct {
		from, to string
		want     float64
	}{{"2026-03", "2026-03", 5}, {"2026-03-02", "2026-03-02", 4}} {
		docs, err := s.RollupDocs(ctx, "b", q.from, q.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 1 || docs[0].C["in"] != q.want {
			t.Fatalf("rollups %s..%s: %+v, want one document with in %v", q.from, q.to, docs, q.want)
		}
	}
}
