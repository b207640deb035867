package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/engine/store/storetest"
	"github.com/voronka/voronka/internal/testmongo"
)

func TestMain(m *testing.M) { testmongo.Main(m) }

// testOptions keeps few connections per store: the SQLite-backed test
// server slows down sharply with many concurrent requests.
var testOptions = &mongo.Options{MaxPoolSize: 4, OpTimeout: time.Minute}

func newStore(tb testing.TB) *mongo.Store {
	tb.Helper()
	return openStore(tb, testmongo.DBName(tb))
}

// openStore opens a store on db; a second one on the same db is a replica.
func openStore(tb testing.TB, db string) *mongo.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := mongo.Open(ctx, testmongo.URI(tb), db, testOptions)
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
	// The test server is slow; the paging tests still span several pages.
	storetest.RunSized(t, func(t *testing.T) store.Store { return newStore(t) },
		storetest.Config{Items: 90, PageSize: 25, Writers: 4, Increments: 10,
			Replica: func(t *testing.T, s store.Store) store.Store { return openStore(t, s.(*mongo.Store).Database()) }})
}

func TestOpenFailsClearlyWhenServerIsDown(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	_, err := mongo.Open(ctx, "mongodb://127.0.0.1:1/?connectTimeoutMS=200", "x", &mongo.Options{StartupTimeout: time.Second})
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("error does not say the server is unreachable: %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("Open kept retrying past its start-up timeout")
	}
}

func TestPing(t *testing.T) {
	s := newStore(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	uri, db := testmongo.URI(t), testmongo.DBName(t)
	for range 2 { // indexes exist the second time
		s, err := mongo.Open(ctx, uri, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
