package bolt

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	var u *store.User
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		u, err = get[store.User](tx.Bucket(bUsers), []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByLogin implements store.Users.
func (s *Store) GetUserByLogin(ctx context.Context, login string) (*store.User, error) {
	var u *store.User
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		id := tx.Bucket(bUserLogins).Get([]byte(login))
		if id == nil {
			return store.ErrNotFound
		}
		u, err = get[store.User](tx.Bucket(bUsers), id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get user by login %q: %w", login, err)
	}
	return u, nil
}

// PutUser implements store.Users.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return fmt.Errorf("put user: empty id")
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		users, logins := tx.Bucket(bUsers), tx.Bucket(bUserLogins)
		if owner := logins.Get([]byte(u.Login)); owner != nil && string(owner) != u.ID {
			return fmt.Errorf("login %q is taken: %w", u.Login, store.ErrDuplicate)
		}
		if old, err := get[store.User](users, []byte(u.ID)); err == nil && old.Login != u.Login {
			if err := logins.Delete([]byte(old.Login)); err != nil {
				return err
			}
		}
		if err := logins.Put([]byte(u.Login), []byte(u.ID)); err != nil {
			return err
		}
		return put(users, []byte(u.ID), &u)
	})
	if err != nil {
		return fmt.Errorf("put user %s: %w", u.ID, err)
	}
	return nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	out, err := list[store.User](ctx, s, bUsers)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		u, err := get[store.User](tx.Bucket(bUsers), []byte(id))
		if err != nil {
			return err
		}
		if err := tx.Bucket(bUserLogins).Delete([]byte(u.Login)); err != nil {
			return err
		}
		return tx.Bucket(bUsers).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// GetBot implements store.Bots.
func (s *Store) GetBot(ctx context.Context, id string) (*store.Bot, error) {
	var b *store.Bot
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		b, err = get[store.Bot](tx.Bucket(bBots), []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get bot %s: %w", id, err)
	}
	return b, nil
}

// PutBot implements store.Bots.
func (s *Store) PutBot(ctx context.Context, b store.Bot) error {
	if b.ID == "" {
		return fmt.Errorf("put bot: empty id")
	}
	if _, err := s.putBotRev(ctx, b, false); err != nil {
		return fmt.Errorf("put bot %s: %w", b.ID, err)
	}
	return nil
}

// ListBots implements store.Bots.
func (s *Store) ListBots(ctx context.Context) ([]store.Bot, error) {
	out, err := list[store.Bot](ctx, s, bBots)
	if err != nil {
		return nil, fmt.Errorf("list bots: %w", err)
	}
	return out, nil
}

// DeleteBot implements store.Bots.
func (s *Store) DeleteBot(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBots)
		if b.Get([]byte(id)) == nil {
			return store.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete bot %s: %w", id, err)
	}
	return nil
}

func list[T any](ctx context.Context, s *Store, bucket []byte) ([]T, error) {
	var out []T
	err := s.read(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, v []byte) error {
			var doc T
			if err := json.Unmarshal(v, &doc); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			out = append(out, doc)
			return nil
		})
	})
	return out, err
}
