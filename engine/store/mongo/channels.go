package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// TakeChannelLease implements store.ChannelLeases with one conditional
// upsert: the filter matches the lease when it is ours or has ended; when
// another owner holds it, the upsert's insert hits the unique _id and
// fails, so two replicas never both win.
func (s *Store) TakeChannelLease(ctx context.Context, l store.ChannelLease, now time.Time) (store.ChannelLease, bool, error) {
	if l.ID == "" || l.Owner == "" {
		return l, false, fmt.Errorf("take channel lease %q: empty id or owner", l.ID)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c := s.db.Collection("channel_leases")
	filter := bson.M{"_id": l.ID, "$or": bson.A{bson.M{"owner": l.Owner}, bson.M{"until": bson.M{"$lt": now}}}}
	_, err := c.ReplaceOne(ctx, filter, l, options.Replace().SetUpsert(true))
	if err == nil {
		return l, true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return l, false, fmt.Errorf("take channel lease %s: %w", l.ID, err)
	}
	var cur store.ChannelLease
	if err := c.FindOne(ctx, bson.M{"_id": l.ID}).Decode(&cur); err != nil {
		return l, false, fmt.Errorf("take channel lease %s: %w", l.ID, notFound(err))
	}
	return cur, false, nil
}

// GetChannelLease implements store.ChannelLeases.
func (s *Store) GetChannelLease(ctx context.Context, id string) (store.ChannelLease, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var l store.ChannelLease
	if err := s.db.Collection("channel_leases").FindOne(ctx, bson.M{"_id": id}).Decode(&l); err != nil {
		return l, fmt.Errorf("get channel lease %s: %w", id, notFound(err))
	}
	return l, nil
}

// DropChannelLease implements store.ChannelLeases.
func (s *Store) DropChannelLease(ctx context.Context, id, owner string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.db.Collection("channel_leases").DeleteOne(ctx, bson.M{"_id": id, "owner": owner}); err != nil {
		return fmt.Errorf("drop channel lease %s: %w", id, err)
	}
	return nil
}
