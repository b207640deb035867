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

// The notification log is two collections: "notifications", one document
// per notification keyed by its Seq, and "notification_seq", one counter
// document. An append takes its numbers from the counter with one $inc and
// then inserts: numbers are unique and grow across replicas, and a reader
// polls with an _id range, the one filter every server (and the test
// server's storage) answers from the _id index. Numbers are taken before the
// insert commits, so a reader can see n+1 before n; engine/notify.Polled
// keeps looking for such a gap for a while instead of skipping it. Old
// entries are deleted by Seq (PurgeNotifications), not by a TTL index, which
// the test server lacks.

var _ store.Notifications = (*Store)(nil)

const notifyCounterID = "seq"

func (s *Store) notifications() *mongo.Collection   { return s.db.Collection("notifications") }
func (s *Store) notificationSeq() *mongo.Collection { return s.db.Collection("notification_seq") }

// AppendNotifications implements store.Notifications: one $inc for the whole
// batch, then one ordered insert.
func (s *Store) AppendNotifications(ctx context.Context, ns []store.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var counter struct {
		N int64 `bson:"n"`
	}
	err := s.notificationSeq().FindOneAndUpdate(ctx, bson.M{"_id": notifyCounterID},
		bson.M{"$inc": bson.M{"n": int64(len(ns))}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&counter)
	if err != nil {
		return fmt.Errorf("append %d notifications: take numbers: %w", len(ns), err)
	}
	first := counter.N - int64(len(ns)) + 1
	docs := make([]any, len(ns))
	now := time.Now().UTC()
	for i := range ns {
		ns[i].Seq = first + int64(i)
		if ns[i].At.IsZero() {
			ns[i].At = now
		}
		docs[i] = &ns[i]
	}
	if _, err := s.notifications().InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("append notifications %d-%d: %w", first, counter.N, err)
	}
	return nil
}

// NotificationsFrom implements store.Notifications.
func (s *Store) NotificationsFrom(ctx context.Context, from int64, limit int) ([]store.Notification, error) {
	limit = store.ClampLimit(limit)
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	cur, err := s.notifications().Find(ctx, bson.M{"_id": bson.M{"$gte": from}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read notifications from %d: %w", from, err)
	}
	var out []store.Notification
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read notifications from %d: %w", from, err)
	}
	return out, nil
}

// NotificationsIn implements store.Notifications.
func (s *Store) NotificationsIn(ctx context.Context, seqs []int64) ([]store.Notification, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	cur, err := s.notifications().Find(ctx, bson.M{"_id": bson.M{"$in": seqs}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read %d missing notifications: %w", len(seqs), err)
	}
	var out []store.Notification
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read %d missing notifications: %w", len(seqs), err)
	}
	return out, nil
}

// LastNotificationSeq implements store.Notifications.
func (s *Store) LastNotificationSeq(ctx context.Context) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var counter struct {
		N int64 `bson:"n"`
	}
	err := s.notificationSeq().FindOne(ctx, bson.M{"_id": notifyCounterID}).Decode(&counter)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the last notification number: %w", err)
	}
	return counter.N, nil
}

// PurgeNotifications implements store.Notifications.
func (s *Store) PurgeNotifications(ctx context.Context, before int64) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.notifications().DeleteMany(ctx, bson.M{"_id": bson.M{"$lt": before}}); err != nil {
		return fmt.Errorf("purge notifications before %d: %w", before, err)
	}
	return nil
}
