package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	driver "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

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

// The store reads and writes plain documents that any MongoDB client can
// read: snake_case fields, the engine state as binary.
func TestDocumentsAreReadableByOtherClients(t *testing.T) {
	ctx := context.Background()
	uri, db := testmongo.URI(t), testmongo.DBName(t)
	s, err := mongo.Open(ctx, uri, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	c := &store.Conversation{ID: "b:telegram:7", Bot: "b", Channel: "telegram", Chat: "7",
		Contact: store.Contact{FirstName: "Ann"}, Status: store.StatusHandoff, State: []byte{1, 2, 3},
		Vars: map[string]any{"city": "Riga"}}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	client, err := driver.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	var raw bson.Raw
	if err := client.Database(db).Collection("conversations").FindOne(ctx, bson.M{"_id": c.ID}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if v := raw.Lookup("contact", "first_name").StringValue(); v != "Ann" {
		t.Errorf("contact.first_name = %q", v)
	}
	if v := raw.Lookup("status").StringValue(); v != "handoff" {
		t.Errorf("status = %q", v)
	}
	if v := raw.Lookup("vars", "city").StringValue(); v != "Riga" {
		t.Errorf("vars.city = %q", v)
	}
	if _, data := raw.Lookup("state").Binary(); string(data) != "\x01\x02\x03" {
		t.Errorf("state = %v, want binary 01 02 03", data)
	}
	if v := raw.Lookup("version").Int64(); v != 1 {
		t.Errorf("version = %d", v)
	}
}

// A plain FerretDB v1 applies a filtered write as a read and then a write,
// so two replicas' conditional writes could both win: Open refuses it and
// says why.
func TestOpenRefusesAServerWithoutAtomicConditionalWrites(t *testing.T) {
	ctx := context.Background()
	uri := testmongo.Start(t, "-serialize-writes=false")
	_, err := mongo.Open(ctx, uri, testmongo.DBName(t), &mongo.Options{StartupTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "FerretDB v1") || !strings.Contains(err.Error(), "use MongoDB") {
		t.Fatalf("Open on FerretDB without serialized writes: %v; want a refusal naming FerretDB and MongoDB", err)
	}
	// Every other test opens the store on the test server, which it accepts.
}
