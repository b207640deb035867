package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// RenewLease implements store.Leases with an upsert by _id.
func (s *Store) RenewLease(ctx context.Context, owner string, until time.Time) error {
	if owner == "" {
		return fmt.Errorf("renew lease: empty owner")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.leases.UpdateOne(ctx, bson.M{"_id": owner}, bson.M{"$set": bson.M{"until": until}},
		options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("renew lease of %s: %w", owner, err)
	}
	return nil
}

// GetLease implements store.Leases.
func (s *Store) GetLease(ctx context.Context, owner string) (store.Lease, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var l store.Lease
	if err := s.leases.FindOne(ctx, bson.M{"_id": owner}).Decode(&l); err != nil {
		return l, fmt.Errorf("get lease of %s: %w", owner, notFound(err))
	}
	return l, nil
}

// ExpiredLeases implements store.Leases.
func (s *Store) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]store.Lease, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Lease](ctx, s.leases, bson.M{"until": bson.M{"$lt": now}},
		options.Find().SetSort(bson.D{{Key: "until", Value: 1}}).SetLimit(int64(store.ClampLimit(limit))))
	if err != nil {
		return nil, fmt.Errorf("expired leases: %w", err)
	}
	return out, nil
}

// DropLease implements store.Leases: a delete filtered on the lease's end,
// so a renewal in between keeps the lease.
func (s *Store) DropLease(ctx context.Context, owner string, until time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.leases.DeleteOne(ctx, bson.M{"_id": owner, "until": until}); err != nil {
		return fmt.Errorf("drop lease of %s: %w", owner, err)
	}
	return nil
}

// FindOutboxes implements store.Conversations.
func (s *Store) FindOutboxes(ctx context.Context, owner, after string, limit int) ([]store.Conversation, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit = store.ClampLimit(limit)
	f := bson.D{{Key: "outbox.owner", Value: owner}}
	if after != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.M{"$gt": after}})
	}
	out, err := findAll[store.Conversation](ctx, s.convs, f,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("find outboxes of %s: %w", owner, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// StoredEvents implements store.Events with one query by _id.
func (s *Store) StoredEvents(ctx context.Context, keys []store.EventKey) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if s.idLookups {
		return s.storedEventsOneByOne(ctx, keys)
	}
	ids := make(bson.A, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	docs, err := findAll[struct {
		ID string `bson:"_id"`
	}](ctx, s.events, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("stored events: %w", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// storedEventsOneByOne is StoredEvents as _id lookups, eight at a time.
func (s *Store) storedEventsOneByOne(ctx context.Context, keys []store.EventKey) ([]string, error) {
	var (
		mu    sync.Mutex
		found []string
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, 8)
	)
	for _, k := range keys {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			err := s.events.FindOne(ctx, bson.M{"_id": k.ID}, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				found = append(found, k.ID)
			case !errors.Is(err, mongo.ErrNoDocuments):
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("stored events: %w", err)
	}
	return found, nil
}
