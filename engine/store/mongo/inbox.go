package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// presence and canned are the operator inbox's small collections: presence
// has one document per user, canned replies a few dozen per bot; both are
// read by _id or by bot, so they need no index beyond _id.
func (s *Store) presence() *mongo.Collection { return s.db.Collection("presence") }
func (s *Store) canned() *mongo.Collection   { return s.db.Collection("canned") }

// listInbox serves ListInbox with a filter; the indexes on inbox.state and
// inbox.queue (or inbox.assignee), then updated_at, serve it.
func (s *Store) listInbox(ctx context.Context, q store.InboxQuery) ([]store.Conversation, string, error) {
	limit := store.ClampLimit(q.Limit)
	f := q.Inbox
	filter := bson.D{}
	if f.Assignee != "" && f.Assignee != store.NoAssignee {
		filter = append(filter, bson.E{Key: "inbox.assignee", Value: f.Assignee})
	}
	if f.States != nil {
		filter = append(filter, bson.E{Key: "inbox.state", Value: bson.M{"$in": f.States}})
	} else {
		filter = append(filter, bson.E{Key: "inbox.state", Value: bson.M{"$exists": true}})
	}
	if f.Queues != nil {
		filter = append(filter, bson.E{Key: "inbox.queue", Value: bson.M{"$in": f.Queues}})
	}
	if f.Assignee == store.NoAssignee {
		filter = append(filter, bson.E{Key: "inbox.assignee", Value: bson.M{"$in": bson.A{"", nil}}})
	}
	if q.Bot != "" {
		filter = append(filter, bson.E{Key: "bot", Value: q.Bot})
	}
	if f.Q != "" {
		re := primitiveRegex(f.Q)
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.M{"contact.first_name": re}, bson.M{"contact.last_name": re}, bson.M{"contact.username": re},
			bson.M{"contact.phone": re}, bson.M{"chat": re}, bson.M{"inbox.last.text": re},
		}})
	}
	dir, cmp := -1, "$lt"
	if f.Oldest {
		dir, cmp = 1, "$gt"
	}
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list inbox: %w", err)
		}
		filter = append(filter, bson.E{Key: "$and", Value: bson.A{bson.M{"$or": bson.A{
			bson.M{"updated_at": bson.M{cmp: t}},
			bson.M{"updated_at": t, "_id": bson.M{cmp: id}},
		}}}})
	}
	out, err := findAll[store.Conversation](ctx, s.convs, filter, options.Find().
		SetSort(bson.D{{Key: "updated_at", Value: dir}, {Key: "_id", Value: dir}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(out[limit-1].UpdatedAt, out[limit-1].ID)
	}
	return out, next, nil
}

// primitiveRegex matches q literally, ignoring case.
func primitiveRegex(q string) bson.M {
	return bson.M{"$regex": regexp.QuoteMeta(q), "$options": "i"}
}

// CountAssigned implements store.InboxStore.
func (s *Store) CountAssigned(ctx context.Context, user string) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.convs.CountDocuments(ctx, bson.D{{Key: "inbox.assignee", Value: user}, {Key: "inbox.state", Value: store.InboxAssigned}})
	if err != nil {
		return 0, fmt.Errorf("count chats of %s: %w", user, err)
	}
	return int(n), nil
}

// TouchPresence implements store.InboxStore.
func (s *Store) TouchPresence(ctx context.Context, user string, until time.Time) error {
	return s.setPresence(ctx, user, "until", until)
}

// NoteAssigned implements store.InboxStore.
func (s *Store) NoteAssigned(ctx context.Context, user string, at time.Time) error {
	return s.setPresence(ctx, user, "last_assigned_at", at)
}

func (s *Store) setPresence(ctx context.Context, user, field string, t time.Time) error {
	if user == "" {
		return fmt.Errorf("presence: empty user")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.presence().UpdateOne(ctx, bson.M{"_id": user}, bson.M{"$set": bson.M{field: t}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("presence of %s: %w", user, err)
	}
	return nil
}

// ListPresence implements store.InboxStore.
func (s *Store) ListPresence(ctx context.Context) ([]store.Presence, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Presence](ctx, s.presence(), bson.M{}, options.Find().SetSort(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("list presence: %w", err)
	}
	for i := range out {
		out[i].Until, out[i].LastAssignedAt = utc(out[i].Until), utc(out[i].LastAssignedAt)
	}
	return out, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// cannedID is the stored _id of a bot's canned reply: ids are chosen per bot.
func cannedID(bot, id string) string { return bot + "\x00" + id }

// toCannedDoc is the stored form: _id is bot and id together, id the id of the API.
func toCannedDoc(c store.Canned) bson.M {
	return bson.M{"_id": cannedID(c.Bot, c.ID), "id": c.ID, "bot": c.Bot, "shortcut": c.Shortcut, "title": c.Title,
		"text": c.Text, "updated_at": c.UpdatedAt, "updated_by": c.UpdatedBy}
}

type cannedRow struct {
	ID        string    `bson:"id"`
	Bot       string    `bson:"bot"`
	Shortcut  string    `bson:"shortcut"`
	Title     string    `bson:"title"`
	Text      string    `bson:"text"`
	UpdatedAt time.Time `bson:"updated_at"`
	UpdatedBy string    `bson:"updated_by"`
}

func (r cannedRow) canned() store.Canned {
	return store.Canned{ID: r.ID, Bot: r.Bot, Shortcut: r.Shortcut, Title: r.Title, Text: r.Text,
		UpdatedAt: utc(r.UpdatedAt), UpdatedBy: r.UpdatedBy}
}

// ListCanned implements store.InboxStore.
func (s *Store) ListCanned(ctx context.Context, bot string) ([]store.Canned, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := findAll[cannedRow](ctx, s.canned(), bson.M{"bot": bot}, options.Find().SetSort(bson.D{{Key: "shortcut", Value: 1}, {Key: "id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list canned replies of %s: %w", bot, err)
	}
	out := make([]store.Canned, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.canned())
	}
	return out, nil
}

// GetCanned implements store.InboxStore.
func (s *Store) GetCanned(ctx context.Context, bot, id string) (*store.Canned, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var r cannedRow
	if err := s.canned().FindOne(ctx, bson.M{"_id": cannedID(bot, id)}).Decode(&r); err != nil {
		return nil, fmt.Errorf("get canned reply %s of %s: %w", id, bot, notFound(err))
	}
	c := r.canned()
	return &c, nil
}

// PutCanned implements store.InboxStore. The shortcut is checked by a
// query first: two people adding the same shortcut to one bot at the same
// instant could both pass, which costs a confusing list, not data.
func (s *Store) PutCanned(ctx context.Context, c store.Canned) error {
	if c.ID == "" || c.Bot == "" {
		return fmt.Errorf("put canned reply: empty id or bot")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	err := s.canned().FindOne(ctx, bson.M{"bot": c.Bot, "shortcut": c.Shortcut, "id": bson.M{"$ne": c.ID}}).Err()
	switch {
	case err == nil:
		return fmt.Errorf("put canned reply %s of %s: shortcut %q: %w", c.ID, c.Bot, c.Shortcut, store.ErrDuplicate)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("put canned reply %s of %s: %w", c.ID, c.Bot, err)
	}
	if _, err := s.canned().ReplaceOne(ctx, bson.M{"_id": cannedID(c.Bot, c.ID)}, toCannedDoc(c), options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("put canned reply %s of %s: %w", c.ID, c.Bot, err)
	}
	return nil
}

// DeleteCanned implements store.InboxStore.
func (s *Store) DeleteCanned(ctx context.Context, bot, id string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := s.canned().DeleteOne(ctx, bson.M{"_id": cannedID(bot, id)})
	if err != nil {
		return fmt.Errorf("delete canned reply %s of %s: %w", id, bot, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("delete canned reply %s of %s: %w", id, bot, store.ErrNotFound)
	}
	return nil
}
