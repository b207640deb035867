package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// bChannelLeases holds id -> ChannelLease (JSON), made by the first write
// (see bSessions).
var bChannelLeases = []byte("channel_leases")

// TakeChannelLease implements store.ChannelLeases.
func (s *Store) TakeChannelLease(ctx context.Context, l store.ChannelLease, now time.Time) (store.ChannelLease, bool, error) {
	if l.ID == "" || l.Owner == "" {
		return l, false, fmt.Errorf("take channel lease %q: empty id or owner", l.ID)
	}
	var got store.ChannelLease
	var held bool
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bChannelLeases)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(l.ID)); v != nil {
			var cur store.ChannelLease
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			if cur.Owner != l.Owner && !cur.Until.Before(now) {
				got, held = cur, false
				return nil
			}
		}
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		got, held = l, true
		return b.Put([]byte(l.ID), v)
	})
	if err != nil {
		return l, false, fmt.Errorf("take channel lease %s: %w", l.ID, err)
	}
	return got, held, nil
}

// GetChannelLease implements store.ChannelLeases.
func (s *Store) GetChannelLease(ctx context.Context, id string) (store.ChannelLease, error) {
	var l store.ChannelLease
	err := s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bChannelLeases)
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		return json.Unmarshal(v, &l)
	})
	if err != nil {
		return l, fmt.Errorf("get channel lease %s: %w", id, err)
	}
	return l, nil
}

// DropChannelLease implements store.ChannelLeases.
func (s *Store) DropChannelLease(ctx context.Context, id, owner string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bChannelLeases)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		var cur store.ChannelLease
		if err := json.Unmarshal(v, &cur); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if cur.Owner != owner {
			return nil
		}
		return b.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("drop channel lease %s: %w", id, err)
	}
	return nil
}
