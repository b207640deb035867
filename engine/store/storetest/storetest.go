// Package storetest is the conformance suite every store.Store
// implementation runs, so the embedded and MongoDB stores behave the same.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// Config sizes the suite; slow backends pass smaller numbers.
type Config struct {
	// Items is how many documents the paging tests write (default 250).
	Items int
	// PageSize is the page size of the paging tests (default 40).
	PageSize int
	// Writers is how many goroutines increment one conversation (default 8).
	Writers int
	// Increments is how many increments each writer makes (default 25).
	Increments int
	// Replica opens another handle on s's data, as a second process would;
	// nil means s itself (an embedded store has one owner).
	Replica func(t *testing.T, s store.Store) store.Store
}

// Run runs the whole suite with default sizes; newStore returns an empty
// store that the test may use (and the helper closes) on its own.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	RunSized(t, newStore, Config{})
}

// RunSized runs the whole suite with the given sizes.
func RunSized(t *testing.T, newStore func(t *testing.T) store.Store, cfg Config) {
	if cfg.Items <= 0 {
		cfg.Items = 250
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 40
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 8
	}
	if cfg.Increments <= 0 {
		cfg.Increments = 25
	}
	if cfg.Replica == nil {
		cfg.Replica = func(_ *testing.T, s store.Store) store.Store { return s }
	}
	s := &suite{newStore: newStore, cfg: cfg}
	t.Run("Conversations", s.conversations)
	t.Run("Messages", s.messages)
	t.Run("Events", s.events)
	t.Run("Flows", s.flows)
	t.Run("FlowList", s.flowList)
	t.Run("Jobs", s.jobs)
	t.Run("Users", s.users)
	t.Run("Sessions", s.sessions)
	t.Run("Secrets", s.secrets)
	t.Run("Bots", s.bots)
	t.Run("BotRevs", s.botRevs)
	t.Run("Purge", s.purge)
	t.Run("Leases", s.leases)
	t.Run("ChannelLeases", s.channelLeases)
	t.Run("Outboxes", s.outboxes)
	t.Run("Inbox", s.inbox)
	t.Run("InboxCounts", s.inboxCounts)
	t.Run("Broadcasts", s.broadcasts)
	t.Run("Rollups", s.rollups)
	t.Run("Contacts", s.contacts)
	t.Run("SegmentFilter", s.segmentFilter)
}

type suite struct {
	newStore func(t *testing.T) store.Store
	cfg      Config
}

// base is a fixed instant with millisecond precision (what MongoDB keeps).
var base = time.Date(2030, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must fails the test on an unexpected error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
	if err.Error() == target.Error() {
		t.Errorf("%s: error %q carries no context", what, err)
	}
}

// sameJSON compares documents as their JSON (times in UTC), so equal data
// compares equal whatever container types a backend decodes into.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err, "encode got")
	w, err := json.Marshal(want)
	must(t, err, "encode want")
	var gv, wv any
	must(t, json.Unmarshal(g, &gv), "decode got")
	must(t, json.Unmarshal(w, &wv), "decode want")
	g, _ = json.Marshal(normalize(gv))
	w, _ = json.Marshal(normalize(wv))
	if string(g) != string(w) {
		t.Fatalf("%s differs:\n got: %s\nwant: %s", what, g, w)
	}
}

// normalize rewrites RFC 3339 strings as UTC so zone spellings compare equal.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return ts.UTC().Format(time.RFC3339Nano)
		}
	}
	return v
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// checkPaging fails unless pages concatenate to want exactly.
func checkPaging(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: paged through %d items, want %d", what, len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if seen[got[i]] {
			t.Fatalf("%s: %s returned twice", what, got[i])
		}
		seen[got[i]] = true
		if got[i] != want[i] {
			t.Fatalf("%s: item %d is %s, want %s", what, i, got[i], want[i])
		}
	}
}

func pad(i int) string { return fmt.Sprintf("%05d", i) }

// RunPurge runs only the Purge tests, for a store opened with other
// purge settings (a small batch, so every purge takes many steps).
func RunPurge(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := &suite{newStore: newStore, cfg: Config{Items: 250, PageSize: 40, Writers: 8, Increments: 25}}
	t.Run("Purge", s.purge)
}
