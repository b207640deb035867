package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// CountInbox implements store.InboxCounts: one aggregation that groups the
// open chats by state and queue on the server, selected by the
// (inbox.state, inbox.queue, …) index, and one query for user's own chats
// (the (inbox.assignee, inbox.state, …) index) for their unread counts.
// Nothing but the counts and those few chats' queue and unread comes back.
func (s *Store) CountInbox(ctx context.Context, user string) (store.InboxTally, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	out := store.InboxTally{Queues: map[string]store.QueueTally{}, Mine: map[string]store.QueueTally{}}
	open := bson.A{store.InboxUnassigned, store.InboxAssigned}
	cur, err := s.convs.Aggregate(ctx, mongoPipeline(
		bson.D{{Key: "$match", Value: bson.D{{Key: "inbox.state", Value: bson.M{"$in": open}}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "s", Value: "$inbox.state"}, {Key: "q", Value: "$inbox.queue"}}},
			{Key: "n", Value: bson.M{"$sum": 1}}}}},
	))
	if err != nil {
		return store.InboxTally{}, fmt.Errorf("count inbox: %w", err)
	}
	var groups []struct {
		ID struct {
			State string `bson:"s"`
			Queue string `bson:"q"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return store.InboxTally{}, fmt.Errorf("count inbox: %w", err)
	}
	for _, g := range groups {
		t := out.Queues[g.ID.Queue]
		if store.InboxState(g.ID.State) == store.InboxUnassigned {
			t.Unassigned += g.N
		} else {
			t.Assigned += g.N
		}
		out.Queues[g.ID.Queue] = t
	}
	if user == "" {
		return out, nil
	}
	type mine struct {
		Inbox struct {
			Queue  string `bson:"queue"`
			Unread int    `bson:"unread"`
		} `bson:"inbox"`
	}
	rows, err := findAll[mine](ctx, s.convs, bson.D{{Key: "inbox.assignee", Value: user}, {Key: "inbox.state", Value: store.InboxAssigned}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "inbox.queue", Value: 1}, {Key: "inbox.unread", Value: 1}}))
	if err != nil {
		return store.InboxTally{}, fmt.Errorf("count chats of %s: %w", user, err)
	}
	for _, r := range rows {
		t := out.Mine[r.Inbox.Queue]
		t.Assigned++
		t.Unread += r.Inbox.Unread
		out.Mine[r.Inbox.Queue] = t
	}
	return out, nil
}

// mongoPipeline is an aggregation pipeline of stages.
func mongoPipeline(stages ...bson.D) bson.A {
	out := make(bson.A, len(stages))
	for i, st := range stages {
		out[i] = st
	}
	return out
}
