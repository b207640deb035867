package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// findAll decodes every document a query returns.
func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...*options.FindOptions) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// insertNew inserts docs, skipping those whose _id already exists.
func insertNew(ctx context.Context, c *mongo.Collection, docs []any) error {
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 {
				return err
			}
		}
		return nil
	}
	return err
}

// pageAfter filters documents sorted by (at, _id) after the cursor position.
func pageAfter(f bson.D, cursor string) (bson.D, error) {
	if cursor == "" {
		return f, nil
	}
	t, id, err := store.DecodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	return append(f, bson.E{Key: "$or", Value: bson.A{
		bson.M{"at": bson.M{"$gt": t}},
		bson.M{"at": t, "_id": bson.M{"$gt": id}},
	}}), nil
}

var byTime = bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}

// AppendMessages implements store.Messages.
func (s *Store) AppendMessages(ctx context.Context, msgs ...store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	docs := make([]any, len(msgs))
	for i := range msgs {
		docs[i] = &msgs[i]
	}
	if err := insertNew(ctx, s.msgs, docs); err != nil {
		return fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return nil
}

// ListMessages implements store.Messages.
func (s *Store) ListMessages(ctx context.Context, conversationID, cursor string, limit int) ([]store.Message, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit = store.ClampLimit(limit)
	f, err := pageAfter(bson.D{{Key: "conversation_id", Value: conversationID}}, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	out, err := findAll[store.Message](ctx, s.msgs, f, options.Find().SetSort(byTime).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(out[limit-1].At, out[limit-1].ID)
	}
	return out, next, nil
}

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(ctx context.Context, events ...store.Event) error {
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	docs := make([]any, len(events))
	for i := range events {
		// Marked pending for the rollup flush (rollups.go); a duplicate is
		// not inserted, so it is not marked again.
		docs[i] = pendingEvent{Event: events[i], Pending: true}
	}
	if err := insertInOrder(ctx, s.events, docs); err != nil {
		return fmt.Errorf("append %d events: %w", len(events), err)
	}
	return nil
}

// insertInOrder inserts docs one after another in the order given,
// skipping those whose _id already exists. A flush claiming events while
// the insert goes on sees a prefix of them (the store.Events contract), so
// the rest of a change is folded after the part it saw, as if in one
// batch; an unordered insert may store any subset first. A duplicate ends
// an ordered insert, which goes on after it.
func insertInOrder(ctx context.Context, c *mongo.Collection, docs []any) error {
	for len(docs) > 0 {
		_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Code != 11000 {
			return err
		}
		docs = docs[bwe.WriteErrors[0].Index+1:]
	}
	return nil
}

// QueryEvents implements store.Events.
func (s *Store) QueryEvents(ctx context.Context, q store.EventQuery) ([]store.Event, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit := store.ClampLimit(q.Limit)
	f := bson.D{{Key: "bot", Value: q.Bot}}
	if q.Flow != "" {
		f = append(f, bson.E{Key: "flow", Value: q.Flow})
	}
	if len(q.Types) > 0 {
		f = append(f, bson.E{Key: "type", Value: bson.M{"$in": q.Types}})
	}
	rng := bson.M{}
	if !q.From.IsZero() {
		rng["$gte"] = q.From
	}
	if !q.To.IsZero() {
		rng["$lt"] = q.To
	}
	if len(rng) > 0 {
		f = append(f, bson.E{Key: "at", Value: rng})
	}
	f, err := pageAfter(f, q.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("query events of bot %s: %w", q.Bot, err)
	}
	out, err := findAll[store.Event](ctx, s.events, f, options.Find().SetSort(byTime).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("query events of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(out[limit-1].At, out[limit-1].ID)
	}
	return out, next, nil
}

// Purge implements store.Maintenance with plain deletes (no TTL indexes),
// each selecting by an indexed field: at for events and messages, status
// then updated_at for jobs (see ensureIndexes).
func (s *Store) Purge(ctx context.Context, o store.PurgeOptions) (store.PurgeResult, error) {
	var res store.PurgeResult
	del := func(c *mongo.Collection, f bson.M) (int64, error) {
		ctx, cancel := s.ctx(ctx)
		defer cancel()
		r, err := c.DeleteMany(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("purge %s: %w", c.Name(), err)
		}
		return r.DeletedCount, nil
	}
	var err error
	if !o.EventsBefore.IsZero() {
		if res.Events, err = del(s.events, bson.M{"at": bson.M{"$lt": o.EventsBefore}}); err != nil {
			return res, err
		}
	}
	if !o.MessagesBefore.IsZero() {
		if res.Messages, err = del(s.msgs, bson.M{"at": bson.M{"$lt": o.MessagesBefore}}); err != nil {
			return res, err
		}
	}
	if !o.JobsBefore.IsZero() {
		if res.Jobs, err = del(s.jobs, bson.M{"status": bson.M{"$in": bson.A{store.JobDone, store.JobCancelled}},
			"updated_at": bson.M{"$lt": o.JobsBefore}}); err != nil {
			return res, err
		}
	}
	if !o.FailedJobsBefore.IsZero() {
		n, err := del(s.jobs, bson.M{"status": store.JobFailed, "updated_at": bson.M{"$lt": o.FailedJobsBefore}})
		res.Jobs += n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
