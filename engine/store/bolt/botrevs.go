package bolt

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// putBotRev writes b over the stored bot in one transaction: with check,
// only when the stored Rev equals b.Rev (ErrNotFound when there is none);
// without, whatever is stored. It returns the Rev written.
func (s *Store) putBotRev(ctx context.Context, b store.Bot, check bool) (int64, error) {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bBots)
		old, err := get[store.Bot](bk, []byte(b.ID))
		switch {
		case errors.Is(err, store.ErrNotFound) && !check:
			b.Rev = 1
		case err != nil:
			return err
		case check && old.Rev != b.Rev:
			return store.ErrVersionConflict
		default:
			b.Rev = old.Rev + 1
		}
		return put(bk, []byte(b.ID), &b)
	})
	return b.Rev, err
}

// CreateBot implements store.BotRevs.
func (s *Store) CreateBot(ctx context.Context, b *store.Bot) error {
	if b.ID == "" {
		return fmt.Errorf("create bot: empty id")
	}
	next := *b
	next.Rev = 1
	err := s.write(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bBots)
		if bk.Get([]byte(b.ID)) != nil {
			return store.ErrDuplicate
		}
		return put(bk, []byte(b.ID), &next)
	})
	if err != nil {
		return fmt.Errorf("create bot %s: %w", b.ID, err)
	}
	*b = next
	return nil
}

// UpdateBot implements store.BotRevs.
func (s *Store) UpdateBot(ctx context.Context, b *store.Bot) error {
	rev, err := s.putBotRev(ctx, *b, true)
	if err != nil {
		return fmt.Errorf("update bot %s: %w", b.ID, err)
	}
	b.Rev = rev
	return nil
}
