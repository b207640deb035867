package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// bSessions holds id -> session. It is created by the first write rather
// than with the other buckets at Open, so a store file written before
// sessions were stored opens unchanged; reads treat a missing bucket as
// empty. Sessions are few (people, not chats), so deleting a user's
// sessions or the expired ones scans the bucket instead of keeping indexes.
var bSessions = []byte("sessions")

// PutSession implements store.Sessions.
func (s *Store) PutSession(ctx context.Context, sess store.Session) error {
	if sess.ID == "" {
		return fmt.Errorf("put session: empty id")
	}
	v, err := json.Marshal(&sess)
	if err != nil {
		return fmt.Errorf("put session of user %s: encode: %w", sess.UserID, err)
	}
	err = s.write(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bSessions)
		if err != nil {
			return err
		}
		return b.Put([]byte(sess.ID), v)
	})
	if err != nil {
		return fmt.Errorf("put session of user %s: %w", sess.UserID, err)
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	var sess *store.Session
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		b := tx.Bucket(bSessions)
		if b == nil {
			return store.ErrNotFound
		}
		sess, err = get[store.Session](b, []byte(id))
		return err
	})
	if err != nil {
		// The id is a token hash: a prefix is enough to tell sessions apart in a log.
		return nil, fmt.Errorf("get session %.8s…: %w", id, err)
	}
	return sess, nil
}

// ExtendSession implements store.Sessions.
func (s *Store) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bSessions)
		if b == nil {
			return store.ErrNotFound
		}
		sess, err := get[store.Session](b, []byte(id))
		if err != nil {
			return err
		}
		sess.ExpiresAt = expiresAt
		return put(b, []byte(id), sess)
	})
	if err != nil {
		return fmt.Errorf("extend session %.8s…: %w", id, err)
	}
	return nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bSessions)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete session %.8s…: %w", id, err)
	}
	return nil
}

// DeleteUserSessions implements store.Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error) {
	n, err := s.deleteSessions(ctx, func(sess *store.Session) bool { return sess.UserID == userID && sess.ID != keep })
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %s: %w", userID, err)
	}
	return n, nil
}

// PurgeSessions implements store.Sessions.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.deleteSessions(ctx, func(sess *store.Session) bool { return sess.ExpiresAt.Before(now) })
	if err != nil {
		return 0, fmt.Errorf("purge sessions expired before %s: %w", now.Format(time.RFC3339), err)
	}
	return n, nil
}

// deleteSessions deletes the sessions match selects. The write function
// may run more than once (see write), so the count is reset on each run.
func (s *Store) deleteSessions(ctx context.Context, match func(*store.Session) bool) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bSessions)
		if b == nil {
			return nil
		}
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var sess store.Session
			if err := json.Unmarshal(v, &sess); err != nil {
				return fmt.Errorf("decode session %.8s…: %w", k, err)
			}
			if match(&sess) {
				doomed = append(doomed, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = int64(len(doomed))
		return nil
	})
	return n, err
}
