package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// serveForTest starts the test server as mongotest runs it and returns a
// client connected to it.
func serveForTest(t *testing.T) *mongo.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := start(ctx, config{listen: "127.0.0.1:0", dir: t.TempDir(), syncMode: "off", indexID: true,
		serializeWrites: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.wait(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(srv.uri).SetMaxPoolSize(uint64(racers)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

// racers is how many writers race for each version.
const racers = 12

// Writers that each move a document from the version they read to the
// next one with a write filtered on that version: as on MongoDB, exactly
// one of them wins each version, whichever write command they use, and
// every winner's change is kept.
func TestConditionalWritesHaveOneWinnerPerVersion(t *testing.T) {
	client := serveForTest(t)
	db := client.Database("race")
	const versions = 25
	cases := []struct {
		name string
		// bump moves doc id from version v to v+1, marked by writer w,
		// and reports whether it did.
		bump func(ctx context.Context, c *mongo.Collection, id string, v int64, w int) (bool, error)
	}{
		{"update", func(ctx context.Context, c *mongo.Collection, id string, v int64, w int) (bool, error) {
			r, err := c.UpdateOne(ctx, bson.M{"_id": id, "version": v},
				bson.M{"$set": bson.M{"version": v + 1}, "$push": bson.M{"won": w}})
			if err != nil {
				return false, err
			}
			return r.MatchedCount == 1, nil
		}},
		{"replace", func(ctx context.Context, c *mongo.Collection, id string, v int64, w int) (bool, error) {
			// A replace keeps only what the writer read: the winners so
			// far come from its read below.
			var cur struct {
				Won []int `bson:"won"`
			}
			if err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&cur); err != nil {
				return false, err
			}
			r, err := c.ReplaceOne(ctx, bson.M{"_id": id, "version": v},
				bson.M{"version": v + 1, "won": append(cur.Won, w)})
			if err != nil {
				return false, err
			}
			return r.MatchedCount == 1, nil
		}},
		{"findAndModify", func(ctx context.Context, c *mongo.Collection, id string, v int64, w int) (bool, error) {
			err := c.FindOneAndUpdate(ctx, bson.M{"_id": id, "version": v},
				bson.M{"$set": bson.M{"version": v + 1}, "$push": bson.M{"won": w}}).Err()
			if errors.Is(err, mongo.ErrNoDocuments) {
				return false, nil
			}
			return err == nil, err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := db.Collection(tc.name)
			id := "doc"
			if _, err := c.InsertOne(ctx, bson.M{"_id": id, "version": int64(1), "won": bson.A{}}); err != nil {
				t.Fatal(err)
			}
			// wins[v] lists the writers that moved the document on from v.
			wins := make([][]int, versions+1)
			var mu sync.Mutex
			var wg sync.WaitGroup
			errs := make(chan error, racers)
			for w := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						var cur struct {
							Version int64 `bson:"version"`
						}
						if err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&cur); err != nil {
							errs <- err
							return
						}
						if cur.Version > versions {
							return
						}
						ok, err := tc.bump(ctx, c, id, cur.Version, w)
						if err != nil {
							errs <- fmt.Errorf("writer %d at version %d: %w", w, cur.Version, err)
							return
						}
						if ok {
							mu.Lock()
							wins[cur.Version] = append(wins[cur.Version], w)
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var want []int
			for v := int64(1); v <= versions; v++ {
				if len(wins[v]) != 1 {
					t.Errorf("version %d was won by writers %v, want exactly one", v, wins[v])
					continue
				}
				want = append(want, wins[v][0])
			}
			var got struct {
				Version int64 `bson:"version"`
				Won     []int `bson:"won"`
			}
			if err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Version != versions+1 || fmt.Sprint(got.Won) != fmt.Sprint(want) {
				t.Errorf("stored version %d, winners %v; want version %d, winners %v",
					got.Version, got.Won, versions+1, want)
			}
		})
	}
}

// A conditional delete races conditional updates of the same version:
// either the delete wins and no update matches, or an update wins and the
// delete matches nothing.
func TestConditionalDeleteAndUpdateExcludeEachOther(t *testing.T) {
	client := serveForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.Database("race").Collection("delete")
	const rounds = 20
	for round := range rounds {
		id := fmt.Sprint("doc", round)
		if _, err := c.InsertOne(ctx, bson.M{"_id": id, "version": int64(1)}); err != nil {
			t.Fatal(err)
		}
		var wins []string
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, racers)
		for w := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, what := false, ""
				if w%2 == 0 {
					r, err := c.DeleteOne(ctx, bson.M{"_id": id, "version": int64(1)})
					if err != nil {
						errs <- err
						return
					}
					won, what = r.DeletedCount == 1, fmt.Sprint("delete by ", w)
				} else {
					r, err := c.UpdateOne(ctx, bson.M{"_id": id, "version": int64(1)}, bson.M{"$set": bson.M{"version": int64(2)}})
					if err != nil {
						errs <- err
						return
					}
					won, what = r.MatchedCount == 1, fmt.Sprint("update by ", w)
				}
				if won {
					mu.Lock()
					wins = append(wins, what)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(wins) != 1 {
			t.Errorf("round %d: %v won, want exactly one writer", round, wins)
		}
	}
}

// The MongoDB store asks a FerretDB v1 whether it is this test server
// before trusting its conditional writes.
func TestAnswersTheTestServerQuestion(t *testing.T) {
	client := serveForTest(t)
	var got struct {
		SerializedWrites bool `bson:"serializedWrites"`
	}
	err := client.Database("any").RunCommand(context.Background(), bson.D{{Key: testServerCommand, Value: 1}}).Decode(&got)
	if err != nil || !got.SerializedWrites {
		t.Fatalf("%s: %+v, %v; want serializedWrites: true", testServerCommand, got, err)
	}
	// The connection still relays commands afterwards.
	if err := client.Database("any").RunCommand(context.Background(), bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		t.Fatalf("ping after the question: %v", err)
	}
}

// A filter on _id and a version reaches SQLite as a lookup by _id (the
// patch in _overlay/; built by go.sh), not a read of the whole collection.
func TestFilterWithIDAndMoreLooksUpByID(t *testing.T) {
	client := serveForTest(t)
	ctx := context.Background()
	c := client.Database("pushdown").Collection("c")
	if _, err := c.InsertOne(ctx, bson.M{"_id": "doc", "version": int64(1)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filter bson.D
		want   bool
	}{
		{bson.D{{Key: "_id", Value: "doc"}}, true},
		{bson.D{{Key: "_id", Value: "doc"}, {Key: "version", Value: int64(1)}}, true},
		{bson.D{{Key: "version", Value: int64(1)}, {Key: "_id", Value: "doc"}}, true},
		{bson.D{{Key: "version", Value: int64(1)}}, false},
		{bson.D{{Key: "_id", Value: bson.M{"$gt": "a"}}, {Key: "version", Value: int64(1)}}, false},
	} {
		var got struct {
			FilterPushdown bool `bson:"filterPushdown"`
		}
		cmd := bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: tc.filter}}}}
		if err := c.Database().RunCommand(ctx, cmd).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.FilterPushdown != tc.want {
			t.Errorf("filter %v: looked up by _id %v, want %v (built without go.sh?)", tc.filter, got.FilterPushdown, tc.want)
		}
		// And the filter still applies in full.
		n, err := c.CountDocuments(ctx, tc.filter)
		if err != nil || n != 1 {
			t.Errorf("filter %v matches %d documents (%v), want 1", tc.filter, n, err)
		}
	}
	n, err := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: "doc"}, {Key: "version", Value: int64(2)}})
	if err != nil || n != 0 {
		t.Errorf("filter on _id and a stale version matches %d documents (%v), want 0", n, err)
	}
}

// A bulk write of more update statements than SQLite has connections
// completes, and the collection takes writes after it: FerretDB held every
// statement's query open to the end of the command, and such a command (the
// analytics flusher writes one fold state per conversation in one) waited
// for a connection forever, with every later write queued behind it.
func TestBulkWriteOfManyStatementsCompletes(t *testing.T) {
	client := serveForTest(t)
	c := client.Database("bulk").Collection("states")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 400
	for round := range 2 { // inserts, then replaces of existing documents
		var ops []mongo.WriteModel
		for i := range n {
			ops = append(ops, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": fmt.Sprint(i)}).
				SetReplacement(bson.M{"_id": fmt.Sprint(i), "round": round}).SetUpsert(true))
		}
		res, err := c.BulkWrite(ctx, ops, options.BulkWrite().SetOrdered(false))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := res.UpsertedCount + res.ModifiedCount; got != n {
			t.Fatalf("round %d: %d documents written, want %d", round, got, n)
		}
	}
	if _, err := c.InsertOne(ctx, bson.M{"_id": "after"}); err != nil {
		t.Fatalf("write after the bulk write: %v", err)
	}
	if got, err := c.CountDocuments(ctx, bson.M{"round": 1}); err != nil || got != n {
		t.Fatalf("%d documents of the second round, %v; want %d", got, err, n)
	}
}
