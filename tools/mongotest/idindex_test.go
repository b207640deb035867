package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A database laid out as FerretDB's SQLite handler lays it out: its lookups
// by _id must use the index the indexer adds, for tables that exist when it
// first looks and for tables created later.
func TestIDIndexerIndexesTheIDPathFerretDBQueriesBy(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "db1.sqlite")
	db, err := sql.Open("sqlite", "file:"+f+"?_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE _ferretdb_collections (name TEXT, table_name TEXT, settings TEXT)`)
	addTable := func(name string) {
		t.Helper()
		exec(`CREATE TABLE "` + name + `" (_ferretdb_sjson TEXT NOT NULL CHECK(_ferretdb_sjson != '')) STRICT`)
		// FerretDB's own _id index, which its lookups miss.
		exec(`CREATE UNIQUE INDEX "` + name + `__id_" ON "` + name + `" (_ferretdb_sjson->"_id")`)
		exec(`INSERT INTO _ferretdb_collections VALUES ('` + name + `', '` + name + `', '{}')`)
	}
	plan := func(table string) string {
		t.Helper()
		var id, parent, unused int
		var detail string
		// EXPLAIN does not notice a schema change by another connection
		// (it opens no transaction); a real statement does, like FerretDB's.
		if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		err := db.QueryRow(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE _ferretdb_sjson->'$._id' = ?`, `"x"`).
			Scan(&id, &parent, &unused, &detail)
		if err != nil {
			t.Fatal(err)
		}
		return detail
	}
	addTable("jobs_1")
	if p := plan("jobs_1"); !strings.HasPrefix(p, "SCAN") {
		t.Fatalf("before indexing, plan %q; want a scan (else this test no longer shows anything)", p)
	}

	x := newIDIndexer(dir, time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	x.poll(ctx)
	if p := plan("jobs_1"); !strings.Contains(p, "USING INDEX jobs_1"+idIndexSuffix) {
		t.Fatalf("plan %q, want the added index", p)
	}

	addTable("events_2")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(plan("events_2"), idIndexSuffix); {
		if time.Now().After(deadline) {
			t.Fatalf("a table created later is not indexed: plan %q", plan("events_2"))
		}
		time.Sleep(time.Millisecond)
		x.poll(ctx)
	}
	x.poll(ctx) // nothing left to do: no error, no second index
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE ?`, "%"+idIndexSuffix).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d added indexes (%v), want 2", n, err)
	}
}
