package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Buckets of the operator inbox, created by their first write (a file from
// before the inbox opens unchanged; reads treat a missing bucket as empty).
var (
	bPresence = []byte("presence") // user -> presence
	bCanned   = []byte("canned")   // bot \0 id -> canned reply
)

// anyQueue stands for every queue in idxQueue keys; queue names come from
// flows and never hold control characters (the validator says so).
const anyQueue = "\x01"

// allStates are the states a query with no state filter walks.
var allStates = []store.InboxState{store.InboxUnassigned, store.InboxAssigned, store.InboxResolved}

// appendInboxKeys adds a handed-off conversation's inbox index keys: three,
// as each carries the time and moves with every write (a query for several
// states, or every state, walks their ranges together).
func appendInboxKeys(keys [][]byte, c *store.Conversation, updated []byte) [][]byte {
	in := c.Inbox
	if in == nil || in.State == "" {
		return keys
	}
	tail := append(bytes.Clone(updated), c.ID...)
	st := string(in.State)
	for _, q := range [2]string{in.Queue, anyQueue} {
		keys = append(keys, append(append([]byte{idxQueue}, prefix(st, q)...), tail...))
	}
	if in.Assignee != "" {
		keys = append(keys, append(append([]byte{idxAssignee}, prefix(in.Assignee, st)...), tail...))
	}
	return keys
}

// inboxPrefixes are the index ranges a filtered inbox query walks together.
func inboxPrefixes(f *store.InboxFilter) [][]byte {
	var out [][]byte
	states := f.States
	if len(states) == 0 {
		states = allStates
	}
	states = slices.Compact(slices.Sorted(slices.Values(states)))
	if f.Assignee != "" && f.Assignee != store.NoAssignee {
		for _, st := range states {
			out = append(out, append([]byte{idxAssignee}, prefix(f.Assignee, string(st))...))
		}
		return out
	}
	queues := f.Queues
	if queues == nil {
		queues = []string{anyQueue}
	}
	for _, st := range states {
		for _, q := range queues {
			out = append(out, append([]byte{idxQueue}, prefix(string(st), q)...))
		}
	}
	return out
}

// listInbox serves ListInbox with a filter: it walks every prefix's range
// at once, in (updated, id) order, and keeps what the filter and the bot
// pass. Each range is already narrowed to the state, queue or assignee, so
// the documents decoded are mostly the ones returned.
func (s *Store) listInbox(ctx context.Context, q store.InboxQuery) ([]store.Conversation, string, error) {
	limit := store.ClampLimit(q.Limit)
	f := q.Inbox
	var after []byte // the cursor's (updated, id)
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list inbox: %w", err)
		}
		after = append(tsOf(t), id...)
	}
	prefixes := inboxPrefixes(f)
	needle := searchNeedle(f.Q)
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		idx := tx.Bucket(bConvIdx)
		return walkTogether(ctx, idx, prefixes, after, f.Oldest, func(id, k []byte) (bool, error) {
			if !mayMatch(docs, id, needle) {
				// A search skips what cannot hold the text before
				// decoding it: most of a large inbox.
				return true, nil
			}
			conv, err := getConv(docs, id)
			if err != nil {
				return false, fmt.Errorf("inbox index entry %q: %w", k, err)
			}
			if (q.Bot == "" || conv.Bot == q.Bot) && f.Matches(conv) {
				out = append(out, *conv)
			}
			return len(out) <= limit, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = store.EncodeCursor(tsDecode(tsOf(last.UpdatedAt)), last.ID)
	}
	return out, next, nil
}

// walkTogether walks the ranges of prefixes (keys: prefix, updated(8),
// id) at once in (updated, id) order, newest first or oldest first,
// strictly past after, and hands visit each conversation id once with its
// key, until visit returns false or the ranges end.
func walkTogether(ctx context.Context, idx *bolt.Bucket, prefixes [][]byte, after []byte, oldest bool, visit func(id, k []byte) (bool, error)) error {
	walks := make([]*rangeWalk, 0, len(prefixes))
	for _, p := range prefixes {
		if w := newRangeWalk(idx.Cursor(), p, after, oldest); w.k != nil {
			walks = append(walks, w)
		}
	}
	var seen map[string]bool
	if len(walks) > 1 {
		seen = map[string]bool{}
	}
	for n := 0; len(walks) > 0; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		best := 0
		for i := 1; i < len(walks); i++ {
			c := bytes.Compare(walks[i].tail(), walks[best].tail())
			if (oldest && c < 0) || (!oldest && c > 0) {
				best = i
			}
		}
		w := walks[best]
		id := w.tail()[8:]
		if seen == nil || !seen[string(id)] {
			if seen != nil {
				seen[string(id)] = true
			}
			more, err := visit(id, w.k)
			if err != nil || !more {
				return err
			}
		}
		if !w.step() {
			walks = slices.Delete(walks, best, best+1)
		}
	}
	return nil
}

// tsOf is ts as a fresh slice.
func tsOf(t time.Time) []byte { return bytes.Clone(ts(t)) }

// rangeWalk walks the keys of one prefix, newest first (or oldest first),
// strictly past a cursor tail.
type rangeWalk struct {
	c      *bolt.Cursor
	p      []byte
	k      []byte
	oldest bool
}

func newRangeWalk(c *bolt.Cursor, p, after []byte, oldest bool) *rangeWalk {
	w := &rangeWalk{c: c, p: p, oldest: oldest}
	var k []byte
	if oldest {
		if after == nil {
			k, _ = c.Seek(p)
		} else {
			start := append(bytes.Clone(p), after...)
			k, _ = c.Seek(start)
			if bytes.Equal(k, start) {
				k, _ = c.Next()
			}
		}
	} else {
		start := prefixEnd(p)
		if after != nil {
			start = append(bytes.Clone(p), after...)
		}
		k, _ = c.Seek(start)
		if k == nil {
			k, _ = c.Last()
		}
		if k != nil && bytes.Compare(k, start) >= 0 {
			k, _ = c.Prev()
		}
	}
	if k != nil && bytes.HasPrefix(k, p) && len(k) >= len(p)+8 {
		w.k = k
	}
	return w
}

func (w *rangeWalk) tail() []byte { return w.k[len(w.p):] }

func (w *rangeWalk) step() bool {
	var k []byte
	if w.oldest {
		k, _ = w.c.Next()
	} else {
		k, _ = w.c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, w.p) || len(k) < len(w.p)+8 {
		w.k = nil
		return false
	}
	w.k = k
	return true
}

// CountAssigned implements store.InboxStore: the keys of the user's
// assigned range, no document read.
func (s *Store) CountAssigned(ctx context.Context, user string) (int, error) {
	p := append([]byte{idxAssignee}, prefix(user, string(store.InboxAssigned))...)
	n := 0
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bConvIdx).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count chats of %s: %w", user, err)
	}
	return n, nil
}

// TouchPresence implements store.InboxStore.
func (s *Store) TouchPresence(ctx context.Context, user string, until time.Time) error {
	return s.updatePresence(ctx, user, func(p *store.Presence) { p.Until = until })
}

// NoteAssigned implements store.InboxStore.
func (s *Store) NoteAssigned(ctx context.Context, user string, at time.Time) error {
	return s.updatePresence(ctx, user, func(p *store.Presence) { p.LastAssignedAt = at })
}

func (s *Store) updatePresence(ctx context.Context, user string, change func(p *store.Presence)) error {
	if user == "" {
		return fmt.Errorf("presence: empty user")
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bPresence)
		if err != nil {
			return err
		}
		p := store.Presence{User: user}
		if v := b.Get([]byte(user)); v != nil {
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
		}
		change(&p)
		return put(b, []byte(user), &p)
	})
	if err != nil {
		return fmt.Errorf("presence of %s: %w", user, err)
	}
	return nil
}

// ListPresence implements store.InboxStore.
func (s *Store) ListPresence(ctx context.Context) ([]store.Presence, error) {
	var out []store.Presence
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bPresence)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var p store.Presence
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list presence: %w", err)
	}
	return out, nil
}

// ListCanned implements store.InboxStore.
func (s *Store) ListCanned(ctx context.Context, bot string) ([]store.Canned, error) {
	var out []store.Canned
	err := s.read(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = cannedOf(tx, bot)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list canned replies of %s: %w", bot, err)
	}
	slices.SortFunc(out, func(a, b store.Canned) int {
		if c := bytes.Compare([]byte(a.Shortcut), []byte(b.Shortcut)); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.ID), []byte(b.ID))
	})
	return out, nil
}

func cannedOf(tx *bolt.Tx, bot string) ([]store.Canned, error) {
	b := tx.Bucket(bCanned)
	if b == nil {
		return nil, nil
	}
	var out []store.Canned
	p := prefix(bot)
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var cr store.Canned
		if err := json.Unmarshal(v, &cr); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		out = append(out, cr)
	}
	return out, nil
}

// GetCanned implements store.InboxStore.
func (s *Store) GetCanned(ctx context.Context, bot, id string) (*store.Canned, error) {
	var out *store.Canned
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		b := tx.Bucket(bCanned)
		if b == nil {
			return store.ErrNotFound
		}
		out, err = get[store.Canned](b, key([]byte(bot), []byte(id)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get canned reply %s of %s: %w", id, bot, err)
	}
	return out, nil
}

// PutCanned implements store.InboxStore. Shortcuts are checked against the
// bot's other replies in the write transaction: a bot has a few dozen.
func (s *Store) PutCanned(ctx context.Context, cr store.Canned) error {
	if cr.ID == "" || cr.Bot == "" {
		return fmt.Errorf("put canned reply: empty id or bot")
	}
	v, err := json.Marshal(&cr)
	if err != nil {
		return fmt.Errorf("put canned reply %s: encode: %w", cr.ID, err)
	}
	err = s.write(ctx, func(tx *bolt.Tx) error {
		all, err := cannedOf(tx, cr.Bot)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.ID != cr.ID && o.Shortcut == cr.Shortcut {
				return fmt.Errorf("shortcut %q: %w", cr.Shortcut, store.ErrDuplicate)
			}
		}
		b, err := tx.CreateBucketIfNotExists(bCanned)
		if err != nil {
			return err
		}
		return b.Put(key([]byte(cr.Bot), []byte(cr.ID)), v)
	})
	if err != nil {
		return fmt.Errorf("put canned reply %s of %s: %w", cr.ID, cr.Bot, err)
	}
	return nil
}

// DeleteCanned implements store.InboxStore.
func (s *Store) DeleteCanned(ctx context.Context, bot, id string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCanned)
		k := key([]byte(bot), []byte(id))
		if b == nil || b.Get(k) == nil {
			return store.ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete canned reply %s of %s: %w", id, bot, err)
	}
	return nil
}

// searchNeedle is what a stored document must contain, lowercased, to
// match search q: q lowercased, when JSON stores it as it is (no quotes,
// backslashes, control characters or <>&, which it escapes); nil when
// there is no search or no such shortcut.
func searchNeedle(q string) []byte {
	if q == "" || strings.ContainsAny(q, "\"\\<>&") || strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 || r == 0x2028 || r == 0x2029 }) {
		return nil
	}
	return bytes.ToLower([]byte(q))
}

// mayMatch reports whether the stored document id may match a search for
// needle (always, without a needle).
func mayMatch(docs *bolt.Bucket, id, needle []byte) bool {
	if needle == nil {
		return true
	}
	v := docs.Get(id)
	if v == nil {
		return true // getConv reports it
	}
	_, _, doc, _, err := splitConv(v)
	if err != nil {
		return true
	}
	return bytes.Contains(bytes.ToLower(doc), needle)
}
