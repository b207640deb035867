package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/storetest"
)

// With a batch of 3 every purge of the suite takes many steps, so resuming
// a scan where the last step stopped is checked on every kind.
func TestPurgeInSmallSteps(t *testing.T) {
	storetest.RunPurge(t, func(t *testing.T) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "v.db"), &Options{PurgeBatch: 3, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	})
}

// highWater is the file's used size in pages (bbolt grows the file itself
// in large steps, so its length says little about what was written).
func highWater(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.db.View(func(tx *bolt.Tx) error { n = tx.Size() / int64(s.db.Info().PageSize); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// A steady load with a purge of what is older than a few rounds keeps the
// file at the size of those rounds: pages a purge frees are written again,
// also after a restart (clean, or a crash that left no freelist).
func TestPurgedPagesAreReused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	open := func() *Store {
		s, err := Open(path, &Options{NoSync: true, PurgeBatch: 500})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	defer func() { s.Close(ctx) }()
	text := strings.Repeat("сообщение ", 20)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	round := func(r int) {
		at := start.Add(time.Duration(r) * time.Hour)
		var msgs []store.Message
		var evs []store.Event
		for i := range 2000 {
			conv := fmt.Sprintf("b:telegram:%d", i%300)
			id := fmt.Sprintf("%d-%d", r, i)
			msgs = append(msgs, store.Message{ID: id, ConversationID: conv, Direction: store.DirectionBot, Text: text, At: at.Add(time.Duration(i) * time.Millisecond)})
			evs = append(evs, store.Event{ID: id, Bot: "b", Conversation: conv, Type: "sent", At: at.Add(time.Duration(i) * time.Millisecond)})
			if len(msgs) == 100 {
				if err := s.AppendMessages(ctx, msgs...); err != nil {
					t.Fatal(err)
				}
				if err := s.AppendEvents(ctx, evs...); err != nil {
					t.Fatal(err)
				}
				msgs, evs = nil, nil
			}
		}
		// The analytics flusher folds the pending events, as in a server.
		if _, err := (&analytics.Roller{St: s}).FlushAll(ctx); err != nil {
			t.Fatal(err)
		}
		// Keep three rounds.
		cut := at.Add(-2 * time.Hour)
		if _, err := s.Purge(ctx, store.PurgeOptions{MessagesBefore: cut, EventsBefore: cut}); err != nil {
			t.Fatal(err)
		}
	}
	const warmUp = 6
	for r := range warmUp {
		round(r)
	}
	steady := highWater(t, s)
	for r := warmUp; r < 3*warmUp; r++ {
		switch r {
		case 2 * warmUp:
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s = open()
		case 2*warmUp + 2:
			// A crash after a commit that wrote no freelist: Open rebuilds it.
			s.w.close()
			s.db.NoFreelistSync = true
			if err := s.db.Update(func(*bolt.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Close(); err != nil {
				t.Fatal(err)
			}
			if freelistSynced(t, path) {
				t.Fatal("freelist written without Close; the crash case tests nothing")
			}
			s = open()
		}
		round(r)
	}
	grown := highWater(t, s)
	// Each round writes about 1.2 MB (300 pages); without reuse twelve more
	// rounds would add some 3,600 pages. Allow a tenth for the B-tree's
	// changing shape.
	if grown > steady+steady/10 {
		t.Fatalf("file grew from %d to %d pages over 12 rounds of writes and purges: freed pages are not reused", steady, grown)
	}
	t.Logf("high water: %d pages after the warm-up, %d after 12 more rounds", steady, grown)
}

// A file whose last commit wrote the freelist opens without walking every
// page. Commits write it while it is small, so even a crash leaves such a
// file; just after a purge it is large and commits skip it, and Close
// writes it whatever its size.
func TestFreelistIsWrittenWhenSmallAndOnClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	text := strings.Repeat("x", 300)
	for b := range 55 {
		var msgs []store.Message
		for i := range 500 {
			msgs = append(msgs, store.Message{ID: fmt.Sprint(b, "-", i), ConversationID: fmt.Sprint("c", i%50), Text: text,
				At: start.Add(time.Duration(b*500+i) * time.Millisecond)})
		}
		if err := s.AppendMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	if !freelistSynced(t, path) {
		t.Fatal("no freelist after writes that freed few pages: an open after a crash would walk the file")
	}
	if _, err := s.Purge(ctx, store.PurgeOptions{MessagesBefore: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The purge freed thousands of pages; the commits after it skip them.
	if err := s.AppendMessages(ctx, store.Message{ID: "new", ConversationID: "c", At: start.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if free := s.db.Stats().FreePageN; free < 2500 {
		t.Fatalf("the purge freed %d pages; the test needs more than the limit", free)
	}
	if freelistSynced(t, path) {
		t.Fatal("a commit wrote a freelist of thousands of pages: every commit pays for it")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !freelistSynced(t, path) {
		t.Fatal("no freelist after Close: the next Open walks the whole file")
	}
}

// freelistSynced reads the newer of the file's two meta pages and reports
// whether it points at a freelist (bbolt's layout: a 16-byte page header,
// then magic, version, page size, flags, the root bucket (16 bytes), the
// freelist page id, the high water mark and the transaction id).
func freelistSynced(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(f[16+8:]))
	var freelist, txid uint64
	for _, off := range []int{0, pageSize} {
		m := f[off+16:]
		if tx := binary.LittleEndian.Uint64(m[48:]); tx >= txid {
			txid, freelist = tx, binary.LittleEndian.Uint64(m[32:])
		}
	}
	return freelist != ^uint64(0)
}
