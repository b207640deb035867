// Package bolt is the embedded Store: one bbolt file holding the same
// documents as the MongoDB store, with secondary indexes as extra buckets.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Bucket names. Index buckets hold keys only, or the document itself where
// the index is the only way the document is read (events, messages).
var (
	bConvs      = []byte("conversations")
	bConvIdx    = []byte("conversations_idx")  // see convIndexKeys
	bConvKeys   = []byte("conversations_keys") // id -> index keys, for values written before they moved inline
	bMsgIDs     = []byte("messages")           // id -> key in bMsgByConv; older files only (see appendLog)
	bMsgByConv  = []byte("messages_by_conv")   // conv \0 at id -> message
	bEventIDs   = []byte("events")             // id -> key in bEventByBot, likewise
	bEventByBot = []byte("events_by_bot")      // bot \0 at id -> event
	bDrafts     = []byte("flow_drafts")        // bot \0 flow -> draft
	bVersions   = []byte("flow_versions")      // bot \0 flow \0 version(4) -> version
	bJobs       = []byte("jobs")               // id -> job
	bJobsDue    = []byte("jobs_due")           // due(8) id -> nil, pending jobs only
	bUsers      = []byte("users")              // id -> user
	bUserLogins = []byte("users_by_login")     // login -> id
	bBots       = []byte("bots")               // id -> bot
	bLeases     = []byte("leases")             // owner -> until(8)
	// Analytics rollups (rollups.go).
	bRollups       = []byte("rollups")        // bot \0 day \0 flow \0 version \0 source -> counters
	bRollupStates  = []byte("rollup_states")  // conversation -> fold state
	bRollupPending = []byte("rollup_pending") // key in bEventByBot -> nil, events not rolled up yet
)

var allBuckets = [][]byte{bConvs, bConvIdx, bConvKeys, bMsgIDs, bMsgByConv, bEventIDs, bEventByBot,
	bDrafts, bVersions, bJobs, bJobsDue, bUsers, bUserLogins, bBots, bLeases, bRollups, bRollupStates, bRollupPending}

// Options tunes the embedded store; the zero value is a good default.
type Options struct {
	// MaxBatchDelay is how long a write that finds the writer idle waits
	// for others to share its fsync (default 1ms). Under load writes queue
	// behind the running transaction and share the next one without waiting.
	MaxBatchDelay time.Duration
	// MaxBatchSize bounds the writes in one transaction (default 1000).
	MaxBatchSize int
	// NoSync skips fsync; only for throwaway data (a crash may corrupt the file).
	NoSync bool
	// LockTimeout bounds the wait for another process's file lock (default 5s).
	LockTimeout time.Duration
	// FreelistSyncLimit is the largest freelist, in bytes, that a commit
	// writes (default 16 KiB, about 2,000 free pages): a file whose last
	// commit wrote it opens at once after a crash (see writer.run). It
	// costs a page per commit; negative never writes it but at Close.
	FreelistSyncLimit int
	// PurgeBatch bounds the documents one write transaction of Purge
	// deletes (default 2000), so a large purge holds the writer, which
	// every inbound message waits for, only milliseconds at a time.
	PurgeBatch int
	// MmapSize is the address space mapped for the file at open (default
	// 1 GiB; it costs address space, not memory). A file that outgrows its
	// mapping is mapped again inside a commit, which waits for every read
	// transaction to end and holds back new ones meanwhile: with the
	// mapping doubling as the file grows, a store filling up paused its
	// writer, which every reply waits for, a dozen times on its way to
	// 100 MB.
	MmapSize int
}

// Store is the bbolt implementation of store.Store; safe for concurrent use.
type Store struct {
	db         *bolt.DB
	w          *writer
	purgeBatch int
	fresh      freshEvents // appended, not rolled up yet (fresh.go)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its parent directories if needed) the store file at path.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBatchDelay <= 0 {
		o.MaxBatchDelay = 1 * time.Millisecond
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 1000
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.FreelistSyncLimit == 0 {
		o.FreelistSyncLimit = 16 << 10
	}
	if o.PurgeBatch <= 0 {
		o.PurgeBatch = 2000
	}
	if o.MmapSize <= 0 {
		o.MmapSize = 1 << 30
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	// Commits write the freelist only while it is small (see writer.run):
	// after a purge it lists every freed page, and writing it with each
	// commit would cost more than the commit. An open after a commit that
	// skipped it walks every page of the file to find the free ones, so
	// Close writes it whatever its size. The map freelist allocates in
	// constant time however many pages are free.
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        o.LockTimeout,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoSync:         o.NoSync,
		// The mapping may be larger than the file: bbolt grows the file
		// itself, and never touches the mapping past its end.
		InitialMmapSize: o.MmapSize,
	})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	if err := indexContacts(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open bolt store %s: index contacts: %w", path, err)
	}
	if err := dropAllStatusKeys(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open bolt store %s: drop old inbox index entries: %w", path, err)
	}
	return &Store{db: db, w: newWriter(db, o.MaxBatchDelay, o.MaxBatchSize, o.FreelistSyncLimit), purgeBatch: o.PurgeBatch}, nil
}

// Ping reports whether the file is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.View(func(*bolt.Tx) error { return ctx.Err() })
}

// Close closes the file; pending batched writes finish first. Its last
// commit writes the freelist, so the next Open need not rebuild it (see Open).
func (s *Store) Close(context.Context) error {
	s.w.close()
	var syncErr error
	if s.db.NoFreelistSync {
		// The writer has stopped: no transaction runs while the flag changes.
		s.db.NoFreelistSync = false
		syncErr = s.db.Update(func(*bolt.Tx) error { return nil })
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close bolt store: %w", err)
	}
	if syncErr != nil {
		return fmt.Errorf("close bolt store: write freelist: %w", syncErr)
	}
	return nil
}

// isOutcome tells a business result (returned to the caller) from a storage
// failure (which aborts the whole batch).
func isOutcome(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrVersionConflict) ||
		errors.Is(err, store.ErrDuplicate)
}

// write runs fn in a shared group transaction (see writer) so concurrent
// writers share one fsync. fn may run more than once and must return a
// business error (not found, conflict, duplicate) only before it changes
// anything: such an error is handed back to the caller while the batch
// still commits. Encode documents before calling write: fn runs on the one
// writer goroutine, so every microsecond in it is taken from all writers.
func (s *Store) write(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.w.do(fn)
}

func (s *Store) read(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// key joins parts with a 0 byte; ids must not contain 0 bytes.
func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// prefix is key(parts...) plus the trailing separator.
func prefix(parts ...string) []byte {
	bs := make([][]byte, 0, len(parts)+1)
	for _, p := range parts {
		bs = append(bs, []byte(p))
	}
	return append(key(bs...), 0)
}

// ts encodes t so that byte order is time order (times before 1970 sort first).
func ts(t time.Time) []byte {
	var b [8]byte
	var n int64
	if !t.IsZero() && t.Unix() > 0 {
		n = t.UnixNano()
	}
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

func tsDecode(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
}

// prefixEnd is the smallest key greater than every key starting with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func get[T any](b *bolt.Bucket, k []byte) (*T, error) {
	v := b.Get(k)
	if v == nil {
		return nil, store.ErrNotFound
	}
	var doc T
	if err := json.Unmarshal(v, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &doc, nil
}

func put(b *bolt.Bucket, k []byte, doc any) error {
	v, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(k, v)
}

// PagesWritten is how many pages the file's write transactions have
// written since it was opened (bbolt's transaction stats), for tests and
// measurements of what a change costs.
func (s *Store) PagesWritten() int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}
