package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// Collections of the broadcasts feature.
func (s *Store) segmentsC() *mongo.Collection   { return s.db.Collection("segments") }
func (s *Store) broadcastsC() *mongo.Collection { return s.db.Collection("broadcasts") }
func (s *Store) receiptsC() *mongo.Collection   { return s.db.Collection("receipts") }
func (s *Store) budgetC() *mongo.Collection     { return s.db.Collection("send_budget") }

// broadcastIndexes are the indexes ensureIndexes creates for this feature.
func (s *Store) broadcastIndexes(idx func(keys ...string) mongo.IndexModel) []struct {
	c      *mongo.Collection
	models []mongo.IndexModel
} {
	return []struct {
		c      *mongo.Collection
		models []mongo.IndexModel
	}{
		{s.segmentsC(), []mongo.IndexModel{idx("bot", "_id")}},
		{s.broadcastsC(), []mongo.IndexModel{idx("bot", "-created_at"), idx("status")}},
		{s.receiptsC(), []mongo.IndexModel{idx("conversation", "at")}},
		{s.budgetC(), []mongo.IndexModel{idx("expires")}},
	}
}

// PutSegment implements store.Broadcasts. Segment ids are unique across
// bots here (the server makes them random): another bot's id is ErrDuplicate.
func (s *Store) PutSegment(ctx context.Context, sg store.Segment) error {
	if sg.ID == "" || sg.Bot == "" {
		return fmt.Errorf("put segment: empty id or bot")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.segmentsC().ReplaceOne(ctx, bson.M{"_id": sg.ID, "bot": sg.Bot}, &sg, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("put segment %s of bot %s: %w", sg.ID, sg.Bot, duplicate(err))
	}
	return nil
}

// GetSegment implements store.Broadcasts.
func (s *Store) GetSegment(ctx context.Context, bot, id string) (*store.Segment, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var sg store.Segment
	if err := s.segmentsC().FindOne(ctx, bson.M{"_id": id}).Decode(&sg); err != nil {
		return nil, fmt.Errorf("get segment %s of bot %s: %w", id, bot, notFound(err))
	}
	if sg.Bot != bot {
		return nil, fmt.Errorf("get segment %s of bot %s: %w", id, bot, store.ErrNotFound)
	}
	return &sg, nil
}

// ListSegments implements store.Broadcasts.
func (s *Store) ListSegments(ctx context.Context, bot string) ([]store.Segment, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Segment](ctx, s.segmentsC(), bson.M{"bot": bot}, byID)
	if err != nil {
		return nil, fmt.Errorf("list segments of bot %s: %w", bot, err)
	}
	return out, nil
}

// DeleteSegment implements store.Broadcasts.
func (s *Store) DeleteSegment(ctx context.Context, bot, id string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := s.segmentsC().DeleteOne(ctx, bson.M{"_id": id, "bot": bot})
	if err == nil && res.DeletedCount == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete segment %s of bot %s: %w", id, bot, err)
	}
	return nil
}

// CreateBroadcast implements store.Broadcasts.
func (s *Store) CreateBroadcast(ctx context.Context, b *store.Broadcast) error {
	if b.ID == "" || b.Bot == "" {
		return fmt.Errorf("create broadcast: empty id or bot")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	next := *b
	next.Rev = 1
	if _, err := s.broadcastsC().InsertOne(ctx, &next); err != nil {
		return fmt.Errorf("create broadcast %s: %w", b.ID, duplicate(err))
	}
	*b = next
	return nil
}

// GetBroadcast implements store.Broadcasts.
func (s *Store) GetBroadcast(ctx context.Context, id string) (*store.Broadcast, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := getByID[store.Broadcast](ctx, s.broadcastsC(), id)
	if err != nil {
		return nil, fmt.Errorf("get broadcast %s: %w", id, err)
	}
	return b, nil
}

// ListBroadcasts implements store.Broadcasts.
func (s *Store) ListBroadcasts(ctx context.Context, bot string) ([]store.Broadcast, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Broadcast](ctx, s.broadcastsC(), bson.M{"bot": bot},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("list broadcasts of bot %s: %w", bot, err)
	}
	return out, nil
}

// ActiveBroadcasts implements store.Broadcasts.
func (s *Store) ActiveBroadcasts(ctx context.Context) ([]store.Broadcast, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Broadcast](ctx, s.broadcastsC(),
		bson.M{"status": bson.M{"$in": []store.BroadcastStatus{store.BroadcastScheduled, store.BroadcastRunning}}}, byID)
	if err != nil {
		return nil, fmt.Errorf("list active broadcasts: %w", err)
	}
	return out, nil
}

// UpdateBroadcast implements store.Broadcasts.
func (s *Store) UpdateBroadcast(ctx context.Context, b *store.Broadcast) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	next := *b
	next.Rev++
	ok, err := replaceIf(ctx, s.broadcastsC(), b.ID, "rev", b.Rev, &next)
	if err == nil && !ok {
		var found bool
		if found, err = exists(ctx, s.broadcastsC(), b.ID); err == nil {
			err = store.ErrNotFound
			if found {
				err = store.ErrVersionConflict
			}
		}
	}
	if err != nil {
		return fmt.Errorf("update broadcast %s: %w", b.ID, err)
	}
	*b = next
	return nil
}

// ScanContacts implements store.Broadcasts.
func (s *Store) ScanContacts(ctx context.Context, bot, after string, limit int) ([]store.Conversation, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit = store.ClampLimit(limit)
	f := bson.D{{Key: "bot", Value: bot}}
	if after != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.M{"$gt": after}})
	}
	out, err := findAll[store.Conversation](ctx, s.convs, f,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit+1)))
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

// PutReceipts implements store.Broadcasts: one bulk of upserts.
func (s *Store) PutReceipts(ctx context.Context, rs ...store.Receipt) error {
	if len(rs) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	models := make([]mongo.WriteModel, len(rs))
	for i := range rs {
		if rs[i].ID == "" || rs[i].Conversation == "" {
			return fmt.Errorf("put receipts: empty id or conversation")
		}
		models[i] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": rs[i].ID}).SetReplacement(&rs[i]).SetUpsert(true)
	}
	if _, err := s.receiptsC().BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("put %d receipts: %w", len(rs), err)
	}
	return nil
}

// GetReceipts implements store.Broadcasts.
func (s *Store) GetReceipts(ctx context.Context, ids []string) ([]store.Receipt, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if s.idLookups {
		// The test server reads the whole collection for an $in on _id.
		var out []store.Receipt
		for _, id := range ids {
			r, err := getByID[store.Receipt](ctx, s.receiptsC(), id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("get receipt %s: %w", id, err)
			}
			out = append(out, *r)
		}
		return out, nil
	}
	out, err := findAll[store.Receipt](ctx, s.receiptsC(), bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, fmt.Errorf("get %d receipts: %w", len(ids), err)
	}
	return out, nil
}

// ListReceipts implements store.Broadcasts: ids start with the broadcast
// id, so the _id index serves the range.
func (s *Store) ListReceipts(ctx context.Context, broadcast, after string, limit int) ([]store.Receipt, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit = store.ClampLimit(limit)
	from := bson.M{"$gte": broadcast + "/"}
	if after != "" {
		from = bson.M{"$gt": after}
	}
	f := bson.D{{Key: "_id", Value: from}, {Key: "broadcast", Value: broadcast}}
	out, err := findAll[store.Receipt](ctx, s.receiptsC(), f,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit+1)))
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

// CountRecentReceipts implements store.Broadcasts.
func (s *Store) CountRecentReceipts(ctx context.Context, conversations []string, since time.Time, except string) (map[string]int, error) {
	out := map[string]int{}
	if len(conversations) == 0 {
		return out, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	type row struct {
		ID           string `bson:"_id"`
		Conversation string `bson:"conversation"`
	}
	rows, err := findAll[row](ctx, s.receiptsC(),
		bson.M{"conversation": bson.M{"$in": conversations}, "at": bson.M{"$gte": since}},
		options.Find().SetProjection(bson.M{"_id": 1, "conversation": 1}))
	if err != nil {
		return nil, fmt.Errorf("count recent receipts: %w", err)
	}
	for _, r := range rows {
		if except != "" && strings.HasPrefix(r.ID, except+"/") {
			continue
		}
		out[r.Conversation]++
	}
	return out, nil
}

type budgetDoc struct {
	Key     string    `bson:"_id"`
	N       int       `bson:"n"`
	Expires time.Time `bson:"expires"`
}

// TakeSendBudget implements store.Broadcasts: a read and a write conditional
// on what was read (or an insert that only one replica wins), again on a
// lost race.
func (s *Store) TakeSendBudget(ctx context.Context, key string, capacity, want int, expires time.Time) (int, error) {
	if want <= 0 || capacity <= 0 {
		return 0, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c := s.budgetC()
	for attempt := 0; attempt < 50; attempt++ {
		var d budgetDoc
		err := c.FindOne(ctx, bson.M{"_id": key}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			n := min(want, capacity)
			_, err = c.InsertOne(ctx, budgetDoc{Key: key, N: n, Expires: expires})
			if mongo.IsDuplicateKeyError(err) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("take send budget %s: %w", key, err)
			}
			if attempt == 0 {
				// A new window: forget the ones long past.
				_, _ = c.DeleteMany(ctx, bson.M{"expires": bson.M{"$lt": time.Now()}})
			}
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("take send budget %s: %w", key, err)
		}
		n := min(want, capacity-d.N)
		if n <= 0 {
			return 0, nil
		}
		res, err := c.UpdateOne(ctx, bson.M{"_id": key, "n": d.N}, bson.M{"$inc": bson.M{"n": n}})
		if err != nil {
			return 0, fmt.Errorf("take send budget %s: %w", key, err)
		}
		if res.MatchedCount == 1 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("take send budget %s: %w", key, store.ErrVersionConflict)
}
