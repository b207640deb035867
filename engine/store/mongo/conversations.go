package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// GetConversation implements store.Conversations.
func (s *Store) GetConversation(ctx context.Context, id string) (*store.Conversation, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var c store.Conversation
	if err := s.convs.FindOne(ctx, bson.M{"_id": id}).Decode(&c); err != nil {
		return nil, fmt.Errorf("get conversation %s: %w", id, notFound(err))
	}
	return &c, nil
}

// CreateConversation implements store.Conversations.
func (s *Store) CreateConversation(ctx context.Context, c *store.Conversation) error {
	if c.ID == "" {
		return fmt.Errorf("create conversation: empty id")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	doc := *c
	doc.Version = 1
	if _, err := s.convs.InsertOne(ctx, &doc); err != nil {
		return fmt.Errorf("create conversation %s: %w", c.ID, duplicate(err))
	}
	c.Version = 1
	return nil
}

// ReplaceConversation implements store.Conversations with a replace
// filtered on _id and version: one round trip, atomic on MongoDB.
func (s *Store) ReplaceConversation(ctx context.Context, c *store.Conversation) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	doc := *c
	doc.Version = c.Version + 1
	matched, err := replaceIf(ctx, s.convs, c.ID, "version", c.Version, &doc)
	if err == nil && !matched {
		err = fmt.Errorf("version %d is not current: %w", c.Version, store.ErrVersionConflict)
		if ok, xerr := exists(ctx, s.convs, c.ID); xerr != nil {
			err = xerr
		} else if !ok {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("replace conversation %s: %w", c.ID, err)
	}
	c.Version = doc.Version
	return nil
}

// CommitConversation implements store.Conversations. MongoDB is used
// without transactions (DESIGN.md), so the transcript lines and events
// follow the conversation write, both in parallel; they are idempotent, so
// a caller that gets ErrLogsNotWritten may append them again.
func (s *Store) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	var err error
	if ch.Create {
		err = s.CreateConversation(ctx, ch.Conversation)
	} else {
		err = s.ReplaceConversation(ctx, ch.Conversation)
	}
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var merr, eerr error
	if len(ch.Messages) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			merr = s.AppendMessages(ctx, ch.Messages...)
		}()
	}
	eerr = s.AppendEvents(ctx, ch.Events...)
	wg.Wait()
	if err := errors.Join(merr, eerr); err != nil {
		return fmt.Errorf("conversation %s: %w: %w", ch.Conversation.ID, store.ErrLogsNotWritten, err)
	}
	return nil
}

// LogsApart implements store.Conversations: without transactions the logs
// are writes of their own.
func (s *Store) LogsApart() bool { return true }

// FindAudience implements store.Conversations.
func (s *Store) FindAudience(ctx context.Context, q store.AudienceQuery) ([]store.Conversation, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	limit := store.ClampLimit(q.Limit)
	f := bson.D{{Key: "bot", Value: q.Bot}}
	for _, kv := range []struct{ k, v string }{{"segment", q.Segment}, {"tags", q.Tag}, {"channel", q.Channel},
		{"contact.phone", q.Phone}, {"contact.username", q.Username}} {
		if kv.v != "" {
			f = append(f, bson.E{Key: kv.k, Value: kv.v})
		}
	}
	f = append(f, bson.E{Key: "consent.subscribed", Value: true}, bson.E{Key: "blocked", Value: false})
	if q.After != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.M{"$gt": q.After}})
	}
	out, err := findAll[store.Conversation](ctx, s.convs, f,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("find audience of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// ListInbox implements store.Conversations.
func (s *Store) ListInbox(ctx context.Context, q store.InboxQuery) ([]store.Conversation, string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if q.Inbox != nil {
		return s.listInbox(ctx, q)
	}
	limit := store.ClampLimit(q.Limit)
	f := bson.D{{Key: "bot", Value: q.Bot}}
	if q.Status != "" {
		f = append(f, bson.E{Key: "status", Value: q.Status})
	}
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list inbox of bot %s: %w", q.Bot, err)
		}
		f = append(f, bson.E{Key: "$or", Value: bson.A{
			bson.M{"updated_at": bson.M{"$lt": t}},
			bson.M{"updated_at": t, "_id": bson.M{"$lt": id}},
		}})
	}
	out, err := findAll[store.Conversation](ctx, s.convs, f, options.Find().
		SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("list inbox of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = store.EncodeCursor(out[limit-1].UpdatedAt, out[limit-1].ID)
	}
	return out, next, nil
}
