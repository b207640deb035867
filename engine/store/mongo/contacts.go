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
	var and bson.A
	if q.Filter != nil {
		and = narrowContacts(q.Filter.Fields())
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
		and = append(and, bson.M{"$or": bson.A{bson.M{field: bson.M{cmp: v}}, bson.M{field: v, "_id": bson.M{cmp: c.ID}}}})
	}
	if len(and) > 0 {
		add("$and", and)
	}
	opts := options.Find().SetSort(bson.D{{Key: field, Value: dir}, {Key: "_id", Value: dir}}).
		SetProjection(bson.M{"state": 0, "outbox": 0, "recent_updates": 0})
	search := strings.ToLower(strings.TrimSpace(q.Search))
	if search == "" && q.Filter == nil {
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
		if (q.Filter == nil || q.Filter.Match(&c)) && (search == "" || store.ContactMatchesSearch(&c, search)) {
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

// narrowContacts is the query part of a segment filter: each clause keeps
// at least every contact the filter's Match keeps (Match then decides in
// Go), so the indexes do the bulk and the meaning stays engine/segment's.
// Source (compared ignoring case), goals and the expression are Go's alone.
func narrowContacts(f store.SegmentFilter) bson.A {
	var and bson.A
	if len(f.Segments) > 0 {
		in := bson.A{}
		for _, s := range f.Segments {
			in = append(in, s)
			if s == "cold" { // never scored counts as cold
				in = append(in, "", nil)
			}
		}
		and = append(and, bson.M{"segment": bson.M{"$in": in}})
	}
	if len(f.Tags) > 0 {
		and = append(and, bson.M{"tags": bson.M{"$all": f.Tags}})
	}
	if len(f.Channels) > 0 {
		and = append(and, bson.M{"channel": bson.M{"$in": f.Channels}})
	}
	if len(f.Statuses) > 0 {
		and = append(and, bson.M{"status": bson.M{"$in": f.Statuses}})
	}
	if r := rangeOf(f.ScoreMin, f.ScoreMax); r != nil {
		and = append(and, bson.M{"score": r})
	}
	if r := rangeOf(f.FirstSeenFrom, f.FirstSeenTo); r != nil {
		and = append(and, bson.M{"created_at": r})
	}
	if r := rangeOf(f.LastSeenFrom, f.LastSeenTo); r != nil {
		// Last seen is the creation time for a contact who never wrote.
		and = append(and, bson.M{"$or": bson.A{bson.M{"last_inbound_at": r}, bson.M{"created_at": r}}})
	}
	return and
}

// rangeOf is an inclusive {$gte, $lte} of the bounds set, nil for none.
func rangeOf[T any](lo, hi *T) bson.M {
	r := bson.M{}
	if lo != nil {
		r["$gte"] = *lo
	}
	if hi != nil {
		r["$lte"] = *hi
	}
	if len(r) == 0 {
		return nil
	}
	return r
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
