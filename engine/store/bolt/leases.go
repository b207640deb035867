package bolt

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// RenewLease implements store.Leases.
func (s *Store) RenewLease(ctx context.Context, owner string, until time.Time) error {
	if owner == "" {
		return fmt.Errorf("renew lease: empty owner")
	}
	v := bytes.Clone(ts(until))
	err := s.write(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bLeases).Put([]byte(owner), v)
	})
	if err != nil {
		return fmt.Errorf("renew lease of %s: %w", owner, err)
	}
	return nil
}

// GetLease implements store.Leases.
func (s *Store) GetLease(ctx context.Context, owner string) (store.Lease, error) {
	var l store.Lease
	err := s.read(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bLeases).Get([]byte(owner))
		if len(v) != 8 {
			return store.ErrNotFound
		}
		l = store.Lease{Owner: owner, Until: tsDecode(v)}
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("get lease of %s: %w", owner, err)
	}
	return l, nil
}

// ExpiredLeases implements store.Leases. Leases are few (one per process
// that ran recently), so it reads them all.
func (s *Store) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]store.Lease, error) {
	limit = store.ClampLimit(limit)
	var out []store.Lease
	err := s.read(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bLeases).ForEach(func(k, v []byte) error {
			if len(v) == 8 && tsDecode(v).Before(now) {
				out = append(out, store.Lease{Owner: string(k), Until: tsDecode(v)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("expired leases: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Lease) int { return a.Until.Compare(b.Until) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DropLease implements store.Leases.
func (s *Store) DropLease(ctx context.Context, owner string, until time.Time) error {
	want := ts(until)
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bLeases)
		if v := b.Get([]byte(owner)); v == nil || !bytes.Equal(v, want) {
			return nil
		}
		return b.Delete([]byte(owner))
	})
	if err != nil {
		return fmt.Errorf("drop lease of %s: %w", owner, err)
	}
	return nil
}
