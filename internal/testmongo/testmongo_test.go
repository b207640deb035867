package testmongo_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/internal/testmongo"
)

func TestMain(m *testing.M) { testmongo.Main(m) }

func TestServerAcceptsWritesAndReads(t *testing.T) {
	uri := testmongo.URI(t)
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && !ip.IsLoopback() {
		t.Fatalf("test server listens on %s, want loopback", u.Hostname())
	}
	if testmongo.URI(t) != uri {
		t.Fatal("second call started another server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	a, b := testmongo.DBName(t), testmongo.DBName(t)
	if a == b {
		t.Fatalf("DBName returned %q twice", a)
	}
	if _, err := client.Database(a).Collection("c").InsertOne(ctx, bson.M{"_id": "x", "v": 1}); err != nil {
		t.Fatal(err)
	}
	n, err := client.Database(b).Collection("c").CountDocuments(ctx, bson.M{})
	if err != nil || n != 0 {
		t.Fatalf("other database sees %d documents (%v)", n, err)
	}
	var got bson.M
	if err := client.Database(a).Collection("c").FindOne(ctx, bson.M{"_id": "x"}).Decode(&got); err != nil || got["v"] != int32(1) {
		t.Fatalf("read back %v, %v", got, err)
	}
}
