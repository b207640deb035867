package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Buckets of the broadcasts feature, created on first write (a file from
// before the feature has none; reads treat a missing bucket as empty).
var (
	bSegments    = []byte("segments")           // bot \0 id -> segment
	bBroadcasts  = []byte("broadcasts")         // id -> broadcast
	bReceipts    = []byte("receipts")           // id (broadcast/conversation) -> receipt
	bReceiptConv = []byte("receipts_by_conv")   // conversation \0 at(8) id -> nil
	bSendBudget  = []byte("send_budget")        // key -> granted(8) expires(8)
	bBudgetExp   = []byte("send_budget_expiry") // expires(8) key -> nil
)

func bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if !tx.Writable() {
		return tx.Bucket(name), nil
	}
	b, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b, nil
}

// PutSegment implements store.Broadcasts.
func (s *Store) PutSegment(ctx context.Context, sg store.Segment) error {
	if sg.ID == "" || sg.Bot == "" {
		return fmt.Errorf("put segment: empty id or bot")
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bSegments)
		if err != nil {
			return err
		}
		return put(b, key([]byte(sg.Bot), []byte(sg.ID)), &sg)
	})
	if err != nil {
		return fmt.Errorf("put segment %s of bot %s: %w", sg.ID, sg.Bot, err)
	}
	return nil
}

// GetSegment implements store.Broadcasts.
func (s *Store) GetSegment(ctx context.Context, bot, id string) (*store.Segment, error) {
	var out *store.Segment
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		b := tx.Bucket(bSegments)
		if b == nil {
			return store.ErrNotFound
		}
		out, err = get[store.Segment](b, key([]byte(bot), []byte(id)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get segment %s of bot %s: %w", id, bot, err)
	}
	return out, nil
}

// ListSegments implements store.Broadcasts.
func (s *Store) ListSegments(ctx context.Context, bot string) ([]store.Segment, error) {
	var out []store.Segment
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bSegments)
		if b == nil {
			return nil
		}
		p := prefix(bot)
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			sg, err := get[store.Segment](b, k)
			if err != nil {
				return err
			}
			out = append(out, *sg)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list segments of bot %s: %w", bot, err)
	}
	return out, nil
}

// DeleteSegment implements store.Broadcasts.
func (s *Store) DeleteSegment(ctx context.Context, bot, id string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bSegments)
		if err != nil {
			return err
		}
		k := key([]byte(bot), []byte(id))
		if b.Get(k) == nil {
			return store.ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete segment %s of bot %s: %w", id, bot, err)
	}
	return nil
}

// CreateBroadcast implements store.Broadcasts.
func (s *Store) CreateBroadcast(ctx context.Context, bc *store.Broadcast) error {
	if bc.ID == "" || bc.Bot == "" {
		return fmt.Errorf("create broadcast: empty id or bot")
	}
	next := *bc
	next.Rev = 1
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bBroadcasts)
		if err != nil {
			return err
		}
		if b.Get([]byte(next.ID)) != nil {
			return store.ErrDuplicate
		}
		return put(b, []byte(next.ID), &next)
	})
	if err != nil {
		return fmt.Errorf("create broadcast %s: %w", bc.ID, err)
	}
	*bc = next
	return nil
}

// GetBroadcast implements store.Broadcasts.
func (s *Store) GetBroadcast(ctx context.Context, id string) (*store.Broadcast, error) {
	var out *store.Broadcast
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		b := tx.Bucket(bBroadcasts)
		if b == nil {
			return store.ErrNotFound
		}
		out, err = get[store.Broadcast](b, []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get broadcast %s: %w", id, err)
	}
	return out, nil
}

func (s *Store) scanBroadcasts(ctx context.Context, keep func(*store.Broadcast) bool) ([]store.Broadcast, error) {
	var out []store.Broadcast
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBroadcasts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			bc, err := get[store.Broadcast](b, k)
			if err != nil {
				return err
			}
			if keep(bc) {
				out = append(out, *bc)
			}
			return nil
		})
	})
	return out, err
}

// ListBroadcasts implements store.Broadcasts.
func (s *Store) ListBroadcasts(ctx context.Context, bot string) ([]store.Broadcast, error) {
	out, err := s.scanBroadcasts(ctx, func(b *store.Broadcast) bool { return b.Bot == bot })
	if err != nil {
		return nil, fmt.Errorf("list broadcasts of bot %s: %w", bot, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// ActiveBroadcasts implements store.Broadcasts.
func (s *Store) ActiveBroadcasts(ctx context.Context) ([]store.Broadcast, error) {
	out, err := s.scanBroadcasts(ctx, func(b *store.Broadcast) bool {
		return b.Status == store.BroadcastScheduled || b.Status == store.BroadcastRunning
	})
	if err != nil {
		return nil, fmt.Errorf("list active broadcasts: %w", err)
	}
	return out, nil
}

// UpdateBroadcast implements store.Broadcasts.
func (s *Store) UpdateBroadcast(ctx context.Context, bc *store.Broadcast) error {
	next := *bc
	next.Rev++
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bBroadcasts)
		if err != nil {
			return err
		}
		cur, err := get[store.Broadcast](b, []byte(bc.ID))
		if err != nil {
			return err
		}
		if cur.Rev != bc.Rev {
			return fmt.Errorf("broadcast at rev %d, not %d: %w", cur.Rev, bc.Rev, store.ErrVersionConflict)
		}
		return put(b, []byte(bc.ID), &next)
	})
	if err != nil {
		return fmt.Errorf("update broadcast %s: %w", bc.ID, err)
	}
	*bc = next
	return nil
}

// ScanContacts implements store.Broadcasts.
func (s *Store) ScanContacts(ctx context.Context, bot, after string, limit int) ([]store.Conversation, string, error) {
	limit = store.ClampLimit(limit)
	p := append([]byte{idxBot}, prefix(bot)...)
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		c := tx.Bucket(bConvIdx).Cursor()
		start := append(bytes.Clone(p), after...)
		k, _ := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) <= limit; k, _ = c.Next() {
			conv, err := getConv(docs, k[len(p):])
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			out = append(out, *conv)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("scan contacts of bot %s: %w", bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

func receiptConvKey(r *store.Receipt) []byte {
	return key([]byte(r.Conversation), append(ts(r.At), r.ID...))
}

// PutReceipts implements store.Broadcasts.
func (s *Store) PutReceipts(ctx context.Context, rs ...store.Receipt) error {
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if r.ID == "" || r.Conversation == "" {
			return fmt.Errorf("put receipts: empty id or conversation")
		}
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, bReceipts)
		if err != nil {
			return err
		}
		idx, err := bucket(tx, bReceiptConv)
		if err != nil {
			return err
		}
		for i := range rs {
			r := &rs[i]
			if old, err := get[store.Receipt](b, []byte(r.ID)); err == nil {
				if err := idx.Delete(receiptConvKey(old)); err != nil {
					return err
				}
			}
			if err := put(b, []byte(r.ID), r); err != nil {
				return err
			}
			if err := idx.Put(receiptConvKey(r), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put %d receipts: %w", len(rs), err)
	}
	return nil
}

// GetReceipts implements store.Broadcasts.
func (s *Store) GetReceipts(ctx context.Context, ids []string) ([]store.Receipt, error) {
	var out []store.Receipt
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bReceipts)
		if b == nil {
			return nil
		}
		for _, id := range ids {
			r, err := get[store.Receipt](b, []byte(id))
			if err == nil {
				out = append(out, *r)
			} else if err != store.ErrNotFound {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %d receipts: %w", len(ids), err)
	}
	return out, nil
}

// ListReceipts implements store.Broadcasts.
func (s *Store) ListReceipts(ctx context.Context, broadcast, after string, limit int) ([]store.Receipt, string, error) {
	limit = store.ClampLimit(limit)
	p := []byte(broadcast + "/")
	var out []store.Receipt
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bReceipts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		start := p
		if after != "" {
			start = []byte(after)
		}
		k, v := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) <= limit; k, v = c.Next() {
			r, err := decodeReceipt(v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list receipts of broadcast %s: %w", broadcast, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

func decodeReceipt(v []byte) (store.Receipt, error) {
	var r store.Receipt
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decode receipt: %w", err)
	}
	return r, nil
}

// CountRecentReceipts implements store.Broadcasts.
func (s *Store) CountRecentReceipts(ctx context.Context, conversations []string, since time.Time, except string) (map[string]int, error) {
	out := map[string]int{}
	err := s.read(ctx, func(tx *bolt.Tx) error {
		idx := tx.Bucket(bReceiptConv)
		if idx == nil {
			return nil
		}
		c := idx.Cursor()
		for _, conv := range conversations {
			p := prefix(conv)
			for k, _ := c.Seek(append(bytes.Clone(p), ts(since)...)); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
				id := string(k[len(p)+8:])
				if strings.HasPrefix(id, except+"/") && except != "" {
					continue
				}
				out[conv]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count recent receipts: %w", err)
	}
	return out, nil
}

// TakeSendBudget implements store.Broadcasts. One process owns the file, so
// the transaction alone makes the grant atomic.
func (s *Store) TakeSendBudget(ctx context.Context, k string, capacity, want int, expires time.Time) (int, error) {
	if want <= 0 || capacity <= 0 {
		return 0, nil
	}
	var granted int
	err := s.write(ctx, func(tx *bolt.Tx) error {
		granted = 0
		b, err := bucket(tx, bSendBudget)
		if err != nil {
			return err
		}
		exp, err := bucket(tx, bBudgetExp)
		if err != nil {
			return err
		}
		// Forget windows long past (a few at a time: each call does a little).
		now := ts(time.Now())
		c := exp.Cursor()
		for ek, _ := c.First(); ek != nil && bytes.Compare(ek[:8], now) < 0 && granted < 8; ek, _ = c.First() {
			if err := b.Delete(slices.Clone(ek[8:])); err != nil {
				return err
			}
			if err := exp.Delete(slices.Clone(ek)); err != nil {
				return err
			}
			granted++
		}
		granted = 0
		used := 0
		if v := b.Get([]byte(k)); len(v) >= 8 {
			used = int(binary.BigEndian.Uint64(v[:8]))
		} else if err := exp.Put(append(ts(expires), k...), nil); err != nil {
			return err
		}
		granted = min(want, capacity-used)
		if granted <= 0 {
			granted = 0
			return nil
		}
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v[:8], uint64(used+granted))
		copy(v[8:], ts(expires))
		return b.Put([]byte(k), v)
	})
	if err != nil {
		return 0, fmt.Errorf("take send budget %s: %w", k, err)
	}
	return granted, nil
}
