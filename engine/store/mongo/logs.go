package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
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
// then updated_at for jobs (see ensureIndexes). Each collection is deleted
// oldest first in rounds of about Options.PurgeBatch documents.
func (s *Store) Purge(ctx context.Context, o store.PurgeOptions) (store.PurgeResult, error) {
	var res store.PurgeResult
	var err error
	if !o.EventsBefore.IsZero() {
		if res.Events, err = s.purge(ctx, s.events, bson.M{}, "at", o.EventsBefore); err != nil {
			return res, err
		}
	}
	if !o.MessagesBefore.IsZero() {
		if res.Messages, err = s.purge(ctx, s.msgs, bson.M{}, "at", o.MessagesBefore); err != nil {
			return res, err
		}
	}
	if !o.JobsBefore.IsZero() {
		done := bson.M{"status": bson.M{"$in": bson.A{store.JobDone, store.JobCancelled}}}
		if res.Jobs, err = s.purge(ctx, s.jobs, done, "updated_at", o.JobsBefore); err != nil {
			return res, err
		}
	}
	if !o.FailedJobsBefore.IsZero() {
		n, err := s.purge(ctx, s.jobs, bson.M{"status": store.JobFailed}, "updated_at", o.FailedJobsBefore)
		res.Jobs += n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// purge deletes the documents of c that match base and whose field is
// before the given time, in rounds: each round finds the field's value of
// the PurgeBatch-th oldest and deletes what is older than that.
func (s *Store) purge(ctx context.Context, c *mongo.Collection, base bson.M, field string, before time.Time) (int64, error) {
	match := func(upTo time.Time) bson.M {
		f := bson.M{field: bson.M{"$lt": upTo}}
		for k, v := range base {
			f[k] = v
		}
		return f
	}
	del := func(f bson.M) (int64, error) {
		ctx, cancel := s.ctx(ctx)
		defer cancel()
		r, err := c.DeleteMany(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("purge %s: %w", c.Name(), err)
		}
		return r.DeletedCount, nil
	}
	var total int64
	for {
		var bound bson.M
		fctx, cancel := s.ctx(ctx)
		err := c.FindOne(fctx, match(before), options.FindOne().
			SetSort(bson.D{{Key: field, Value: 1}}).SetSkip(int64(s.opts.PurgeBatch)).
			SetProjection(bson.M{"_id": 0, field: 1})).Decode(&bound)
		cancel()
		if errors.Is(err, mongo.ErrNoDocuments) {
			n, err := del(match(before)) // the last round: fewer than a batch left
			return total + n, err
		}
		if err != nil {
			return total, fmt.Errorf("purge %s: find a round's bound: %w", c.Name(), err)
		}
		t, ok := bound[field].(primitive.DateTime)
		if !ok {
			n, err := del(match(before))
			return total + n, err
		}
		n, err := del(match(t.Time()))
		total += n
		if err != nil || n == 0 {
			// n == 0: more than a batch share the oldest instant; delete the
			// rest in one go rather than loop.
			if err == nil {
				n, err = del(match(before))
				total += n
			}
			return total, err
		}
	}
}
