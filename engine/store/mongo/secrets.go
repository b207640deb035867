package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

type secretDoc struct {
	Name  string `bson:"_id"`
	Value []byte `bson:"value"`
}

// Secret implements store.Secrets: an insert of fresh, which the unique _id
// makes atomic across replicas, then a read of whatever won.
func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if name == "" || len(fresh) == 0 {
		return nil, fmt.Errorf("secret %q: empty name or value", name)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c := s.db.Collection("secrets")
	if _, err := c.InsertOne(ctx, secretDoc{Name: name, Value: fresh}); err == nil {
		return fresh, nil
	} else if !mongo.IsDuplicateKeyError(err) {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	var d secretDoc
	if err := c.FindOne(ctx, bson.M{"_id": name}).Decode(&d); err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, notFound(err))
	}
	return d.Value, nil
}
