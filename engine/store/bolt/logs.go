package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Messages and events share one layout: an ordered bucket (owner \0 at(8)
// id -> document). Files written before appends stopped indexing ids also
// have an id bucket (id -> ordered key), which Purge keeps in step.

// logEntry is one document ready to append: encoded before the write
// transaction, which runs on the store's one writer goroutine.
type logEntry struct {
	id, key, val []byte
	stored       bool // set by appendLog: new, not a repeat
}

// logCompact starts the log values written since they stopped repeating
// what their key holds (owner \0 at(8) id): the id, the owner (a line's
// conversation, an event's bot) and the time. The rest is the document's
// JSON. Older values are whole JSON documents, so start with '{'. A
// message appends two lines and three or four events, most of the bytes
// it writes; leaving these out makes them 30-40 % smaller.
const logCompact = 1

// compactEvent is an event as stored: the fields its key holds shadow
// the embedded ones and are left out (a time the key cannot hold, before
// 1970, is kept). Every other field of store.Event is stored as it is.
type compactEvent struct {
	store.Event
	ID  string     `json:"id,omitempty"`
	Bot string     `json:"bot,omitempty"`
	At  *time.Time `json:"at,omitempty"`
}

// compactMessage is a transcript line as stored, likewise.
type compactMessage struct {
	store.Message
	ID             string     `json:"id,omitempty"`
	ConversationID string     `json:"conversation_id,omitempty"`
	At             *time.Time `json:"at,omitempty"`
}

func logKey(id, owner string, at time.Time) []byte {
	k := make([]byte, 0, len(owner)+1+8+len(id))
	return append(append(append(append(k, owner...), 0), ts(at)...), id...)
}

// keyTime is the time to store beside a key: nil when the key holds at
// exactly (the zero time and times before 1970 it does not).
func keyTime(at time.Time) *time.Time {
	if !at.IsZero() && tsDecode(ts(at)).Equal(at) {
		return nil
	}
	return &at
}

// splitLogKey returns the owner, time and id an ordered log key holds.
func splitLogKey(k []byte) (owner string, at time.Time, id string, err error) {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k) < i+9 {
		return "", time.Time{}, "", fmt.Errorf("malformed log key %q", k)
	}
	return string(k[:i]), tsDecode(k[i+1 : i+9]), string(k[i+9:]), nil
}

// encodeLog encodes one entry of an ordered log: its key, and doc (the
// compact form, without what the key holds) behind the format byte.
func encodeLog(id, owner string, at time.Time, doc any) (logEntry, error) {
	v, err := json.Marshal(doc)
	if err != nil {
		return logEntry{}, fmt.Errorf("%s: encode: %w", id, err)
	}
	// One copy to put the format byte in front: cheaper than an encoder.
	return logEntry{id: []byte(id), key: logKey(id, owner, at), val: append([]byte{logCompact}, v...)}, nil
}

func encodeMessages(msgs []store.Message) ([]logEntry, error) {
	entries := make([]logEntry, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		e, err := encodeLog(m.ID, m.ConversationID, m.At, &compactMessage{Message: *m, At: keyTime(m.At)})
		if err != nil {
			return nil, fmt.Errorf("message %w", err)
		}
		entries[i] = e
	}
	return entries, nil
}

func encodeEvents(events []store.Event) ([]logEntry, error) {
	entries := make([]logEntry, len(events))
	for i := range events {
		e := &events[i]
		le, err := encodeLog(e.ID, e.Bot, e.At, &compactEvent{Event: *e, At: keyTime(e.At)})
		if err != nil {
			return nil, fmt.Errorf("event %w", err)
		}
		entries[i] = le
	}
	return entries, nil
}

// decodeLog decodes v, stored under k: a whole document into whole, or a
// logCompact one into compact, after which fill sets what the key holds.
func decodeLog(k, v []byte, whole, compact any, fill func(owner string, at time.Time, id string)) error {
	if len(v) == 0 || v[0] != logCompact {
		return json.Unmarshal(v, whole)
	}
	if err := json.Unmarshal(v[1:], compact); err != nil {
		return err
	}
	owner, at, id, err := splitLogKey(k)
	if err != nil {
		return err
	}
	fill(owner, at, id)
	return nil
}

// decodeMessage decodes a line stored under k, in either format.
func decodeMessage(k, v []byte) (store.Message, error) {
	var c compactMessage
	err := decodeLog(k, v, &c.Message, &c, func(owner string, at time.Time, id string) {
		c.Message.ID, c.Message.ConversationID, c.Message.At = id, owner, orKey(c.At, at)
	})
	return c.Message, err
}

// decodeEvent decodes an event stored under k, in either format.
func decodeEvent(k, v []byte) (store.Event, error) {
	var c compactEvent
	err := decodeLog(k, v, &c.Event, &c, func(owner string, at time.Time, id string) {
		c.Event.ID, c.Event.Bot, c.Event.At = id, owner, orKey(c.At, at)
	})
	return c.Event, err
}

// orKey is the time a value kept (see keyTime), else its key's.
func orKey(kept *time.Time, key time.Time) time.Time {
	if kept != nil {
		return *kept
	}
	return key
}

// logFill is how full appendLog's splits leave the left page.
const logFill = 0.8

// appendLog stores each entry under its ordered key unless that key is
// taken. An entry is identified by its id and time together (see
// store.Messages): checking the ordered key, on the page the entry goes
// to anyway, makes the append idempotent without an id index, whose random
// pages would double what a message writes. The id bucket only serves
// entries stored before (see purgeLog).
func appendLog(tx *bolt.Tx, ordered []byte, entries []logEntry) error {
	ob := tx.Bucket(ordered)
	// Appends land near the end of their range (a bot's events by time, a
	// conversation's lines after its last), but not exactly there: steps
	// commit a few ms out of time order and a reply's sent event carries
	// its step's time. A split that fills the left page entirely (100 %)
	// leaves no room for those, so the next late insert splits it again
	// into a full page and a nearly empty one: event pages ended 46 % full
	// and a message wrote 16 % more of them than at 80 %. The transcript,
	// split at bbolt's default 50 % before, needs a third fewer pages at
	// 80 % (TestLogPagesStayFull).
	ob.FillPercent = logFill
	var pending *bolt.Bucket
	if bytes.Equal(ordered, bEventByBot) {
		// A newly stored event waits for the rollup flush (rollups.go).
		pending = tx.Bucket(bRollupPending)
		pending.FillPercent = logFill
	}
	for i := range entries {
		e := &entries[i]
		e.stored = false
		if ob.Get(e.key) != nil {
			continue
		}
		if err := ob.Put(e.key, e.val); err != nil {
			return fmt.Errorf("%s: %w", e.id, err)
		}
		if pending != nil {
			if err := pending.Put(e.key, nil); err != nil {
				return fmt.Errorf("%s: mark for rollup: %w", e.id, err)
			}
		}
		e.stored = true
	}
	return nil
}

// scanLog walks owner's documents from the cursor (or from) up to to,
// handing each to visit until it returns false.
func scanLog(tx *bolt.Tx, ordered []byte, owner, cursor string, from, to time.Time, visit func(k, v []byte) (bool, error)) error {
	p := prefix(owner)
	start := append(bytes.Clone(p), ts(from)...)
	skipExact := false
	if cursor != "" {
		t, id, err := store.DecodeCursor(cursor)
		if err != nil {
			return err
		}
		start = append(append(bytes.Clone(p), ts(t)...), id...)
		skipExact = true
	}
	var end []byte
	if !to.IsZero() {
		end = append(bytes.Clone(p), ts(to)...)
	}
	c := tx.Bucket(ordered).Cursor()
	k, v := c.Seek(start)
	if skipExact && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if end != nil && bytes.Compare(k, end) >= 0 {
			return nil
		}
		more, err := visit(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// AppendMessages implements store.Messages.
func (s *Store) AppendMessages(ctx context.Context, msgs ...store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	entries, err := encodeMessages(msgs)
	if err != nil {
		return fmt.Errorf("append messages: %w", err)
	}
	err = s.write(ctx, func(tx *bolt.Tx) error {
		return appendLog(tx, bMsgByConv, entries)
	})
	if err != nil {
		return fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return nil
}

// ListMessages implements store.Messages.
func (s *Store) ListMessages(ctx context.Context, conversationID, cursor string, limit int) ([]store.Message, string, error) {
	limit = store.ClampLimit(limit)
	var out []store.Message
	err := s.read(ctx, func(tx *bolt.Tx) error {
		return scanLog(tx, bMsgByConv, conversationID, cursor, time.Time{}, time.Time{}, func(k, v []byte) (bool, error) {
			m, err := decodeMessage(k, v)
			if err != nil {
				return false, fmt.Errorf("decode: %w", err)
			}
			out = append(out, m)
			return len(out) <= limit, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(tsDecode(ts(out[limit-1].At)), out[limit-1].ID)
	}
	return out, next, nil
}

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(ctx context.Context, events ...store.Event) error {
	if len(events) == 0 {
		return nil
	}
	entries, err := encodeEvents(events)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	added := s.fresh.add(entries, events)
	err = s.write(ctx, func(tx *bolt.Tx) error {
		return appendLog(tx, bEventByBot, entries)
	})
	s.fresh.settle(entries, added, err)
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(events), err)
	}
	return nil
}

// QueryEvents implements store.Events.
func (s *Store) QueryEvents(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	limit := store.ClampLimit(q.Limit)
	var out []store.Event
	err := s.read(ctx, func(tx *bolt.Tx) error {
		return scanLog(tx, bEventByBot, q.Bot, q.Cursor, q.From, q.To, func(k, v []byte) (bool, error) {
			e, err := decodeEvent(k, v)
			if err != nil {
				return false, fmt.Errorf("decode: %w", err)
			}
			if (q.Flow == "" || e.Flow == q.Flow) && (len(q.Types) == 0 || slices.Contains(q.Types, e.Type)) {
				out = append(out, e)
			}
			return len(out) <= limit, ctx.Err()
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("query events of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(tsDecode(ts(out[limit-1].At)), out[limit-1].ID)
	}
	return out, next, nil
}

// StoredEvents implements store.Events: a point lookup per key, on the
// ordered key an append writes (and the id bucket of older files).
func (s *Store) StoredEvents(ctx context.Context, keys []store.EventKey) ([]string, error) {
	var found []string
	err := s.read(ctx, func(tx *bolt.Tx) error {
		ob, ids := tx.Bucket(bEventByBot), tx.Bucket(bEventIDs)
		for _, k := range keys {
			ok := append(append(append(append(make([]byte, 0, len(k.Bot)+9+len(k.ID)), k.Bot...), 0), ts(k.At)...), k.ID...)
			if ob.Get(ok) != nil || ids.Get([]byte(k.ID)) != nil {
				found = append(found, k.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stored events: %w", err)
	}
	return found, nil
}
