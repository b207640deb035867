package analytics_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

func openBolt(t testing.TB) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "v.db"), &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

func TestMain(m *testing.M) { testmongo.Main(m) }

// openMongo opens a fresh database on the MongoDB test server (or MONGO_URI).
func openMongo(t testing.TB) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := mongo.Open(ctx, testmongo.URI(t), testmongo.DBName(t), &mongo.Options{MaxPoolSize: 4, OpTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}
