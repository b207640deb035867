package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

var byID = options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})

func getByID[T any](ctx context.Context, c *mongo.Collection, id string) (*T, error) {
	var doc T
	if err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
		return nil, notFound(err)
	}
	return &doc, nil
}

func deleteByID(ctx context.Context, c *mongo.Collection, id string) error {
	res, err := c.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	u, err := getByID[store.User](ctx, s.users, id)
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByLogin implements store.Users (unique index on login).
func (s *Store) GetUserByLogin(ctx context.Context, login string) (*store.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var u store.User
	if err := s.users.FindOne(ctx, bson.M{"login": login}).Decode(&u); err != nil {
		return nil, fmt.Errorf("get user by login %q: %w", login, notFound(err))
	}
	return &u, nil
}

// PutUser implements store.Users.
func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return fmt.Errorf("put user: empty id")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.users.ReplaceOne(ctx, bson.M{"_id": u.ID}, &u, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("put user %s (login %q): %w", u.ID, u.Login, duplicate(err))
	}
	return nil
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.User](ctx, s.users, bson.M{}, byID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := deleteByID(ctx, s.users, id); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// GetBot implements store.Bots.
func (s *Store) GetBot(ctx context.Context, id string) (*store.Bot, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	b, err := getByID[store.Bot](ctx, s.bots, id)
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
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.putBot(ctx, b); err != nil {
		return fmt.Errorf("put bot %s: %w", b.ID, err)
	}
	return nil
}

// ListBots implements store.Bots.
func (s *Store) ListBots(ctx context.Context) ([]store.Bot, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out, err := findAll[store.Bot](ctx, s.bots, bson.M{}, byID)
	if err != nil {
		return nil, fmt.Errorf("list bots: %w", err)
	}
	return out, nil
}

// DeleteBot implements store.Bots.
func (s *Store) DeleteBot(ctx context.Context, id string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := deleteByID(ctx, s.bots, id); err != nil {
		return fmt.Errorf("delete bot %s: %w", id, err)
	}
	return nil
}
