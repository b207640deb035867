package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Rollups live in their own buckets: counters by (bot, day, flow, version,
// source), fold states by conversation, and the pending marks appendLog
// writes beside each newly stored event. One write transaction applies a
// batch, so a batch counts entirely or not at all.

func rollupKey(d *store.RollupDoc) []byte {
	return key([]byte(d.Bot), []byte(d.Day), []byte(d.Flow), []byte(strconv.Itoa(d.Version)), []byte(d.Source))
}

func eventKey(k store.EventKey) []byte {
	return append(append(append(append(make([]byte, 0, len(k.Bot)+9+len(k.ID)), k.Bot...), 0), ts(k.At)...), k.ID...)
}

// seqKey holds the last batch number, among the fold states (no
// conversation id starts with a 0 byte).
var seqKey = []byte("\x00seq")

func batchSeq(tx *bolt.Tx) int64 {
	v := tx.Bucket(bRollupStates).Get(seqKey)
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}

// PendingEvents implements store.Rollups: marks in (bot, time, id) order,
// and never part of an instant: past limit it goes on to the last mark of
// the same bot and time. The events of one change share their instant and
// are folded in analytics.Compare order, which is not the order of their
// ids ("/10" sorts before "/2", "/in" after the step's events); a batch
// ending inside an instant would fold the rest after the next batch's
// beginning, out of order.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]store.Event, int64, *store.RollupBatch, error) {
	// Room for what this process appended (most of what is pending): an
	// event is large, and growing the slice copied each several times.
	out := make([]store.Event, 0, min(limit, max(s.fresh.len(), 64)))
	var seq int64
	err := s.read(ctx, func(tx *bolt.Tx) error {
		seq = batchSeq(tx)
		ev := tx.Bucket(bEventByBot)
		c := tx.Bucket(bRollupPending).Cursor()
		var instant []byte // bot, 0, time of the last mark taken
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) < i+9 {
				continue
			}
			if len(out) >= limit && !bytes.Equal(k[:i+9], instant) {
				break
			}
			instant = k[:i+9]
			v := ev.Get(k)
			if v == nil {
				// Purged before it was rolled up: nothing to count, but the
				// mark goes with the batch (an event without a type).
				out = append(out, store.Event{Bot: string(k[:i]), At: tsDecode(k[i+1 : i+9]), ID: string(k[i+9:])})
				continue
			}
			if e, ok := s.fresh.get(k); ok {
				out = append(out, e)
				continue
			}
			e, err := decodeEvent(k, v)
			if err != nil {
				return fmt.Errorf("decode event: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, 0, nil, fmt.Errorf("pending events: %w", err)
	}
	return out, seq, nil, nil
}

// RollupStates implements store.Rollups.
func (s *Store) RollupStates(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRollupStates)
		for _, id := range ids {
			if v := b.Get([]byte(id)); v != nil {
				out[id] = bytes.Clone(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rollup states: %w", err)
	}
	return out, nil
}

// ApplyRollup implements store.Rollups: one transaction.
func (s *Store) ApplyRollup(ctx context.Context, b store.RollupBatch) error {
	keys := make([][]byte, len(b.Deltas))
	for i := range b.Deltas {
		keys[i] = rollupKey(&b.Deltas[i])
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		rb, sb, pb := tx.Bucket(bRollups), tx.Bucket(bRollupStates), tx.Bucket(bRollupPending)
		if b.Seq > 0 {
			if cur := batchSeq(tx); b.Seq != cur+1 {
				return fmt.Errorf("batch %d after %d: %w", b.Seq, cur, store.ErrVersionConflict)
			}
			if err := sb.Put(seqKey, []byte(strconv.FormatInt(b.Seq, 10))); err != nil {
				return err
			}
		}
		for i := range b.Deltas {
			v, err := mergeCounters(rb.Get(keys[i]), b.Deltas[i].C)
			if err != nil {
				return fmt.Errorf("rollup %q: %w", keys[i], err)
			}
			if err := rb.Put(keys[i], v); err != nil {
				return err
			}
		}
		for id, st := range b.States {
			if err := sb.Put([]byte(id), st); err != nil {
				return fmt.Errorf("fold state %s: %w", id, err)
			}
		}
		for _, k := range b.Events {
			if err := pb.Delete(eventKey(k)); err != nil {
				return fmt.Errorf("pending mark of %s: %w", k.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply rollup: %w", err)
	}
	s.fresh.drop(b.Events)
	return nil
}

// RollupDocs implements store.Rollups.
func (s *Store) RollupDocs(ctx context.Context, bot, fromDay, toDay string) ([]store.RollupDoc, error) {
	var out []store.RollupDoc
	p := prefix(bot)
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bRollups).Cursor()
		if store.IsMonth(fromDay) && store.IsMonth(toDay) {
			// Each month's document, skipping the days between them.
			m, err := time.Parse("2006-01", fromDay)
			if err != nil {
				return fmt.Errorf("month %q: %w", fromDay, err)
			}
			for ; m.Format("2006-01") <= toDay; m = m.AddDate(0, 1, 0) {
				mp := append(append(bytes.Clone(p), m.Format("2006-01")...), 0)
				for k, v := c.Seek(mp); k != nil && bytes.HasPrefix(k, mp); k, v = c.Next() {
					d, err := rollupDoc(bot, k[len(p):], v)
					if errors.Is(err, errRollupKey) {
						continue
					}
					if err != nil {
						return err
					}
					out = append(out, d)
				}
			}
			return ctx.Err()
		}
		for k, v := c.Seek(append(bytes.Clone(p), fromDay...)); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if i := bytes.IndexByte(k[len(p):], 0); i >= 0 && string(k[len(p):len(p)+i]) > toDay {
				break
			}
			d, err := rollupDoc(bot, k[len(p):], v)
			if errors.Is(err, errRollupKey) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("rollups of %s: %w", bot, err)
	}
	return out, nil
}

// errRollupKey marks a key not made by rollupKey (a name holding a 0
// byte): skipped, as it always was.
var errRollupKey = errors.New("malformed rollup key")

// rollupDoc decodes a counter document from its key (after the bot's
// prefix: day, flow, version, source) and value.
func rollupDoc(bot string, k, v []byte) (store.RollupDoc, error) {
	parts := bytes.Split(k, []byte{0})
	if len(parts) != 4 {
		return store.RollupDoc{}, errRollupKey
	}
	d := store.RollupDoc{Bot: bot, Day: string(parts[0]), Flow: string(parts[1]), Source: string(parts[3])}
	d.Version, _ = strconv.Atoi(string(parts[2]))
	c, err := decodeCounters(v)
	if err != nil {
		return d, fmt.Errorf("decode rollup %q: %w", k, err)
	}
	d.C = c
	return d, nil
}

// ResetRollups implements store.Rollups, in steps of at most 5,000
// deletions per transaction.
func (s *Store) ResetRollups(ctx context.Context, bot string) error {
	s.fresh.clear()
	for _, r := range []struct {
		bucket []byte
		prefix []byte
	}{
		{bRollups, prefix(bot)},
		{bRollupStates, []byte(bot + ":")},
		{bRollupPending, prefix(bot)},
	} {
		for {
			var keys [][]byte
			err := s.read(ctx, func(tx *bolt.Tx) error {
				c := tx.Bucket(r.bucket).Cursor()
				for k, _ := c.Seek(r.prefix); k != nil && bytes.HasPrefix(k, r.prefix) && len(keys) < 5000; k, _ = c.Next() {
					keys = append(keys, bytes.Clone(k))
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reset rollups of %s: %w", bot, err)
			}
			if len(keys) == 0 {
				break
			}
			err = s.write(ctx, func(tx *bolt.Tx) error {
				b := tx.Bucket(r.bucket)
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reset rollups of %s: %w", bot, err)
			}
		}
	}
	return nil
}
