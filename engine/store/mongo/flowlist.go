package mongo

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// ListFlowIDs implements store.Flows. The flows document of a flow is
// written after its first version, so a crash in between leaves a version
// without one: both collections are asked.
func (s *Store) ListFlowIDs(ctx context.Context, bot string) ([]string, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var ids []string
	cur, err := s.flows.Find(ctx, bson.M{"bot": bot}, options.Find().SetProjection(bson.M{"flow_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("list flows of %s: %w", bot, err)
	}
	var docs []struct {
		FlowID string `bson:"flow_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list flows of %s: %w", bot, err)
	}
	for _, d := range docs {
		ids = append(ids, d.FlowID)
	}
	more, err := s.versions.Distinct(ctx, "flow_id", bson.M{"bot": bot})
	if err != nil {
		return nil, fmt.Errorf("list flows of %s: %w", bot, err)
	}
	for _, v := range more {
		if id, ok := v.(string); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
