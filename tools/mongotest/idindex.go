package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses, registered as "sqlite"
)

// idIndexer works around FerretDB v1's SQLite handler looking documents up
// by `_ferretdb_sjson->'$._id'` while the unique index it creates for _id is
// on `_ferretdb_sjson->"_id"`: SQLite uses an expression index only for the
// same expression, so every find, update and delete by _id scanned its
// whole table, costing time in proportion to the collection. The indexer
// adds an index on the expression FerretDB queries by to every collection
// table it finds in the data directory. It polls: a collection created
// meanwhile is scanned until the next poll indexes it, which is slower but
// otherwise the same.
//
// Tables start empty, so indexing one a little late costs little: the
// indexer looks at a new database at once and then ever less often (up to
// once every maxWait), and only when its files changed, so hundreds of test
// databases cost an idle server next to nothing. FerretDB keeps its own
// connections open; the indexer opens a database only to index it, and
// closes it again. Tests give every database a name of its own, so a
// database dropped while the indexer looks at it is not created again under
// the same file name.
type idIndexer struct {
	dir   string
	every time.Duration
	log   *slog.Logger
	dbs   map[string]*dbWatch // by database file
}

// dbWatch is when the indexer looks at a database next.
type dbWatch struct {
	stamp string // of its files when last indexed
	next  time.Time
	wait  time.Duration
}

// maxWait is the longest a database goes unchecked.
const maxWait = time.Second

// idIndexSuffix names the added index after its table.
const idIndexSuffix = "__ferretdb_id_path"

func newIDIndexer(dir string, every time.Duration, log *slog.Logger) *idIndexer {
	return &idIndexer{dir: dir, every: every, log: log, dbs: map[string]*dbWatch{}}
}

// run polls until ctx ends.
func (x *idIndexer) run(ctx context.Context) {
	t := time.NewTicker(x.every)
	defer t.Stop()
	for {
		x.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll indexes the tables of the databases due for a look whose files
// changed.
func (x *idIndexer) poll(ctx context.Context) {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		x.log.WarnContext(ctx, "list databases", "err", err)
		return
	}
	now := time.Now()
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		seen[f] = true
		w := x.dbs[f]
		if w == nil {
			w = &dbWatch{wait: x.every}
			x.dbs[f] = w
		}
		if now.Before(w.next) {
			continue
		}
		w.next = now.Add(w.wait)
		w.wait = min(2*w.wait, maxWait)
		st := stamp(f)
		if st == "" || st == w.stamp {
			continue
		}
		if err := x.index(ctx, f); err != nil {
			if ctx.Err() == nil {
				x.log.DebugContext(ctx, "index _id path", "db", f, "err", err)
			}
			continue // try again next time
		}
		w.stamp = st
	}
	for f := range x.dbs {
		if !seen[f] {
			delete(x.dbs, f) // dropped
		}
	}
}

// stamp identifies the state of a database's files; "" when it is gone.
func stamp(f string) string {
	var b strings.Builder
	for _, name := range []string{f, f + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			if name == f {
				return ""
			}
			continue
		}
		fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return b.String()
}

// index adds the _id path index to each collection table of database file f
// that lacks it.
func (x *idIndexer) index(ctx context.Context, f string) error {
	u := url.URL{Scheme: "file", Opaque: f, RawQuery: "_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return fmt.Errorf("open %s: %w", f, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)`, idIndexSuffix)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // FerretDB has not set the database up yet
		}
		return fmt.Errorf("list tables of %s: %w", f, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("list tables of %s: %w", f, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("list tables of %s: %w", f, err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+idIndexSuffix, t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // dropped meanwhile
			}
			return fmt.Errorf("index %s in %s: %w", t, f, err)
		}
		x.log.DebugContext(ctx, "indexed _id path", "db", filepath.Base(f), "table", t)
	}
	return nil
}
