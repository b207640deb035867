package mongo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// contactCursor is the sort position a page ended at.
type contactCursor struct {
	T  time.Time `json:"t,omitzero"`
	S  float64   `json:"s,omitempty"`
	ID string    `json:"id"`
}

// ListContacts implements store.Contacts: the filters in the query (on
// the indexes (bot, last_inbound_at), (bot, created_at), (bot, score)),
// the search, which reads variables, in Go on what the query returns.
func (s *Store) ListContacts(ctx context.Context, q store.ContactQuery) ([]store.Conversation, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit := store.ClampLimit(q.Limit)
	sort := q.Sort
	if sort == "" {
		sort = store.DefaultContactSort
	}
	desc := strings.HasPrefix(sort, "-")
	var field string
	switch strings.TrimPrefix(sort, "-") {
	case store.SortLastSeen:
		field = "last_inbound_at"
	case store.SortFirstSeen:
		field = "created_at"
	case store.SortScore:
		field = "score"
	default:
		return nil, "", fmt.Errorf("list contacts: unknown sort %q", q.Sort)
	}
	f := bson.D{{Key: "bot", Value: q.Bot}}
	add := func(k string, v any) { f = append(f, bson.E{Key: k, Value: v}) }
	if q.Segment != "" {
		add("segment", q.Segment)
	}
	if q.Tag != "" {
		add("tags", q.Tag)
	}
	if q.Status != "" {
		add("status", q.Status)
	}
	if q.Source != "" {
		add("contact.source", q.Source)
	}
	if q.Channel != "" {
		add("channel", q.Channel)
	}
	score := bson.M{}
	if q.ScoreMin != nil {
		score["$gte"] = *q.ScoreMin
	}
	if q.ScoreMax != nil {
		score["$lte"] = *q.ScoreMax
	}
	if len(score) > 0 {
		add("score", score)
	}
	seen := bson.M{}
	if !q.SeenFrom.IsZero() {
		seen["$gte"] = q.SeenFrom
	}
	if !q.SeenTo.IsZero() {
		seen["$lt"] = q.SeenTo
	}
	if len(seen) > 0 {
		add("last_inbound_at", seen)
	}
	cmp, dir := "$gt", 1
	if desc {
		cmp, dir = "$lt", -1
	}
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c contactCursor
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil || c.ID == "" {
			return nil, "", fmt.Errorf("list contacts: bad cursor: %w", store.ErrBadCursor)
		}
		var v any = c.T
		if field == "score" {
			v = c.S
		}
		add("$or", bson.A{bson.M{field: bson.M{cmp: v}}, bson.M{field: v, "_id": bson.M{cmp: c.ID}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: field, Value: dir}, {Key: "_id", Value: dir}}).
		SetProjection(bson.M{"state": 0, "outbox": 0, "recent_updates": 0})
	search := strings.ToLower(strings.TrimSpace(q.Search))
	if search == "" {
		opts.SetLimit(int64(limit + 1))
	} else {
		opts.SetBatchSize(int32(limit * 4))
	}
	cur, err := s.convs.Find(ctx, f, opts)
	if err != nil {
		return nil, "", fmt.Errorf("list contacts of bot %s: %w", q.Bot, err)
	}
	defer cur.Close(ctx)
	var out []store.Conversation
	for len(out) <= limit && cur.Next(ctx) {
		var c store.Conversation
		if err := cur.Decode(&c); err != nil {
			return nil, "", fmt.Errorf("list contacts of bot %s: %w", q.Bot, err)
		}
		if search == "" || store.ContactMatchesSearch(&c, search) {
			out = append(out, c)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, "", fmt.Errorf("list contacts of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		l := out[limit-1]
		c := contactCursor{ID: l.ID, S: l.Score}
		switch field {
		case "last_inbound_at":
			c.T = l.LastInboundAt
		case "created_at":
			c.T = l.CreatedAt
		}
		b, _ := json.Marshal(c)
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return out, next, nil
}

// CountActive implements store.Contacts.
func (s *Store) CountActive(ctx context.Context, bot string, since time.Time) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.convs.CountDocuments(ctx, bson.M{"bot": bot, "last_inbound_at": bson.M{"$gte": since}})
	if err != nil {
		return 0, fmt.Errorf("count active contacts of bot %s: %w", bot, err)
	}
	return n, nil
}
