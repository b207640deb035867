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

// sessions is the collection of signed-in browsers. Sign-in reads it by
// _id only; deleting a user's sessions and purging expired ones filter on
// other fields without an index, which is fine because sessions are few
// (people, not chats) and both are rare.
func (s *Store) sessions() *mongo.Collection { return s.db.Collection("sessions") }

// PutSession implements store.Sessions.
func (s *Store) PutSession(ctx context.Context, sess store.Session) error {
	if sess.ID == "" {
		return fmt.Errorf("put session: empty id")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.sessions().ReplaceOne(ctx, bson.M{"_id": sess.ID}, &sess, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("put session of user %s: %w", sess.UserID, err)
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	sess, err := getByID[store.Session](ctx, s.sessions(), id)
	if err != nil {
		// The id is a token hash: a prefix is enough to tell sessions apart in a log.
		return nil, fmt.Errorf("get session %.8s…: %w", id, err)
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return sess, nil
}

// ExtendSession implements store.Sessions: an update without upsert, so a
// deleted session stays deleted.
func (s *Store) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := s.sessions().UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"expires_at": expiresAt}})
	if err != nil {
		return fmt.Errorf("extend session %.8s…: %w", id, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("extend session %.8s…: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.sessions().DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("delete session %.8s…: %w", id, err)
	}
	return nil
}

// DeleteUserSessions implements store.Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := s.sessions().DeleteMany(ctx, bson.M{"user_id": userID, "_id": bson.M{"$ne": keep}})
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %s: %w", userID, err)
	}
	return res.DeletedCount, nil
}

// PurgeSessions implements store.Sessions.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	res, err := s.sessions().DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}})
	if err != nil {
		return 0, fmt.Errorf("purge sessions expired before %s: %w", now.Format(time.RFC3339), err)
	}
	return res.DeletedCount, nil
}
