package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// CountQueues implements store.InboxCounts: one aggregation that groups
// the open chats by state and queue on the server, selected by the
// (inbox.state, inbox.queue, …) index; only the counts come back.
func (s *Store) CountQueues(ctx context.Context) (map[string]store.QueueTally, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	open := bson.A{store.InboxUnassigned, store.InboxAssigned}
	cur, err := s.convs.Aggregate(ctx, bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "inbox.state", Value: bson.M{"$in": open}}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "s", Value: "$inbox.state"}, {Key: "q", Value: "$inbox.queue"}}},
			{Key: "n", Value: bson.M{"$sum": 1}}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("count inbox queues: %w", err)
	}
	var groups []struct {
		ID struct {
			State string `bson:"s"`
			Queue string `bson:"q"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, fmt.Errorf("count inbox queues: %w", err)
	}
	out := map[string]store.QueueTally{}
	for _, g := range groups {
		t := out[g.ID.Queue]
		if store.InboxState(g.ID.State) == store.InboxUnassigned {
			t.Unassigned += g.N
		} else {
			t.Assigned += g.N
		}
		out[g.ID.Queue] = t
	}
	return out, nil
}

// CountMine implements store.InboxCounts: user's chats by the
// (inbox.assignee, inbox.state, …) index, their queue and unread count only.
func (s *Store) CountMine(ctx context.Context, user string) (map[string]store.QueueTally, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	type mine struct {
		Inbox struct {
			Queue  string `bson:"queue"`
			Unread int    `bson:"unread"`
		} `bson:"inbox"`
	}
	rows, err := findAll[mine](ctx, s.convs, bson.D{{Key: "inbox.assignee", Value: user}, {Key: "inbox.state", Value: store.InboxAssigned}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "inbox.queue", Value: 1}, {Key: "inbox.unread", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("count chats of %s: %w", user, err)
	}
	out := map[string]store.QueueTally{}
	for _, r := range rows {
		t := out[r.Inbox.Queue]
		t.Assigned++
		t.Unread += r.Inbox.Unread
		out[r.Inbox.Queue] = t
	}
	return out, nil
}
