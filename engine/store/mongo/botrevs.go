package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// botRevFilter matches bot id at revision rev; bots stored before Rev
// existed have no rev field and read as revision 0.
func botRevFilter(id string, rev int64) bson.D {
	if rev == 0 {
		return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: bson.M{"$in": bson.A{int64(0), nil}}}}
	}
	return bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: rev}}
}

// CreateBot implements store.BotRevs.
func (s *Store) CreateBot(ctx context.Context, b *store.Bot) error {
	if b.ID == "" {
		return fmt.Errorf("create bot: empty id")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	next := *b
	next.Rev = 1
	if _, err := s.bots.InsertOne(ctx, &next); err != nil {
		return fmt.Errorf("create bot %s: %w", b.ID, duplicate(err))
	}
	*b = next
	return nil
}

// UpdateBot implements store.BotRevs: one filtered replace.
func (s *Store) UpdateBot(ctx context.Context, b *store.Bot) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.updateBot(ctx, b); err != nil {
		return fmt.Errorf("update bot %s: %w", b.ID, err)
	}
	return nil
}

func (s *Store) updateBot(ctx context.Context, b *store.Bot) error {
	next := *b
	next.Rev++
	res, err := s.bots.ReplaceOne(ctx, botRevFilter(b.ID, b.Rev), &next)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		found, err := exists(ctx, s.bots, b.ID)
		switch {
		case err != nil:
			return err
		case found:
			return store.ErrVersionConflict
		}
		return store.ErrNotFound
	}
	*b = next
	return nil
}

// putBot writes b whatever the stored revision, one past it: read the
// revision, replace over it, and go again if another write came between.
func (s *Store) putBot(ctx context.Context, b store.Bot) error {
	for range 20 {
		var cur struct {
			Rev int64 `bson:"rev"`
		}
		err := s.bots.FindOne(ctx, bson.M{"_id": b.ID}, options.FindOne().SetProjection(bson.M{"rev": 1})).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			b.Rev = 1
			if _, err := s.bots.InsertOne(ctx, &b); !mongo.IsDuplicateKeyError(err) {
				return err
			}
			continue // created meanwhile
		}
		if err != nil {
			return err
		}
		b.Rev = cur.Rev
		err = s.updateBot(ctx, &b)
		if !errors.Is(err, store.ErrVersionConflict) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return store.ErrVersionConflict
}
