package mongo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	driver "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

// A writer that dies between taking a write guard and writing must not
// wedge the conversation: after GuardTTL the next writer takes over.
func TestAbandonedWriteGuardIsTakenOver(t *testing.T) {
	ctx := context.Background()
	uri, db := testmongo.URI(t), testmongo.DBName(t)
	s, err := mongo.Open(ctx, uri, db, &mongo.Options{Guard: mongo.GuardAlways, GuardTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	client, err := driver.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	guards := client.Database(db).Collection("write_guards")

	c := &store.Conversation{ID: "b:telegram:1", Bot: "b", Channel: "telegram", Chat: "1"}
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	// A live writer holds version 1: others conflict.
	if _, err := guards.InsertOne(ctx, bson.M{"_id": "conversations/b:telegram:1/1/0", "at": time.Now()}); err != nil {
		t.Fatal(err)
	}
	stale := *c
	if err := s.ReplaceConversation(ctx, &stale); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("replace while another writer holds the version: %v, want ErrVersionConflict", err)
	}
	// That writer died long ago: the guard is taken over and the write lands.
	if _, err := guards.UpdateOne(ctx, bson.M{"_id": "conversations/b:telegram:1/1/0"},
		bson.M{"$set": bson.M{"at": time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	c.Node = "after"
	if err := s.ReplaceConversation(ctx, c); err != nil {
		t.Fatalf("replace after the guard was abandoned: %v", err)
	}
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil || got.Node != "after" || got.Version != 2 {
		t.Fatalf("stored %+v, %v; want node after, version 2", got, err)
	}
	// Purge removes guards left behind.
	if _, err := s.Purge(ctx, store.PurgeOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := guards.CountDocuments(ctx, bson.M{"_id": "conversations/b:telegram:1/1/0"}); err != nil || n != 0 {
		t.Fatalf("abandoned guard still there after purge (%d, %v)", n, err)
	}
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
