package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// flowDoc is a flows document: the draft plus a hint of the latest version.
type flowDoc struct {
	ID       string `bson:"_id"`
	HasDraft bool   `bson:"has_draft"`
	Latest   int    `bson:"latest_version"`

	store.FlowDraft `bson:",inline"`
}

// versionDoc is a flow_versions document, _id "bot:flow:version".
type versionDoc struct {
	ID                string `bson:"_id"`
	store.FlowVersion `bson:",inline"`
}

func flowKey(bot, flowID string) string { return bot + ":" + flowID }

func versionKey(bot, flowID string, v int) string {
	return flowKey(bot, flowID) + ":" + strconv.Itoa(v)
}

// PutDraft implements store.Flows.
func (s *Store) PutDraft(ctx context.Context, d store.FlowDraft) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.flows.UpdateOne(ctx, bson.M{"_id": flowKey(d.Bot, d.FlowID)}, bson.M{"$set": bson.M{
		"has_draft": true, "bot": d.Bot, "flow_id": d.FlowID, "doc": d.Doc,
		"updated_at": d.UpdatedAt, "updated_by": d.UpdatedBy,
		"name": d.Name, "errors": d.Errors, "warnings": d.Warnings,
	}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("put draft %s/%s: %w", d.Bot, d.FlowID, err)
	}
	return nil
}

// GetDraft implements store.Flows.
func (s *Store) GetDraft(ctx context.Context, bot, flowID string) (*store.FlowDraft, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var doc flowDoc
	err := notFound(s.flows.FindOne(ctx, bson.M{"_id": flowKey(bot, flowID)}).Decode(&doc))
	if err == nil && !doc.HasDraft {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get draft %s/%s: %w", bot, flowID, err)
	}
	return &doc.FlowDraft, nil
}

// ListDrafts implements store.Flows.
func (s *Store) ListDrafts(ctx context.Context, bot string) ([]store.FlowDraft, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	docs, err := findAll[flowDoc](ctx, s.flows, bson.M{"bot": bot, "has_draft": true}, options.Find().
		SetSort(bson.D{{Key: "flow_id", Value: 1}}).SetProjection(bson.M{"doc": 0}))
	if err != nil {
		return nil, fmt.Errorf("list drafts of %s: %w", bot, err)
	}
	out := make([]store.FlowDraft, len(docs))
	for i := range docs {
		out[i] = docs[i].FlowDraft
	}
	return out, nil
}

// DeleteDraft implements store.Flows. The flows document also holds the
// latest-version hint, so it stays, without the draft, for a published
// flow; a flow never published keeps none.
func (s *Store) DeleteDraft(ctx context.Context, bot, flowID string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	id := flowKey(bot, flowID)
	res, err := s.flows.UpdateOne(ctx, bson.M{"_id": id, "has_draft": true}, bson.M{
		"$set":   bson.M{"has_draft": false},
		"$unset": bson.M{"doc": "", "updated_at": "", "updated_by": "", "name": "", "errors": "", "warnings": ""},
	})
	if err == nil && res.MatchedCount == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete draft %s/%s: %w", bot, flowID, err)
	}
	// A publish that has stored its version but not yet its hint upserts the
	// document again, so this cannot lose a version from the list.
	_, err = s.flows.DeleteOne(ctx, bson.M{"_id": id, "has_draft": false, "$or": bson.A{
		bson.M{"latest_version": bson.M{"$exists": false}}, bson.M{"latest_version": 0}}})
	if err != nil {
		return fmt.Errorf("delete draft %s/%s: %w", bot, flowID, err)
	}
	return nil
}

// latestHint reads the recorded latest version (0 when none).
func (s *Store) latestHint(ctx context.Context, bot, flowID string) (int, error) {
	var doc struct {
		Latest int `bson:"latest_version"`
	}
	err := s.flows.FindOne(ctx, bson.M{"_id": flowKey(bot, flowID)},
		options.FindOne().SetProjection(bson.M{"latest_version": 1})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return doc.Latest, err
}

// PublishFlow implements store.Flows. The version's _id is unique, so the
// insert decides the number; the latest-version hint is updated after it.
func (s *Store) PublishFlow(ctx context.Context, v store.FlowVersion) (*store.FlowVersion, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.latestHint(ctx, v.Bot, v.FlowID)
	if err != nil {
		return nil, fmt.Errorf("publish flow %s/%s: %w", v.Bot, v.FlowID, err)
	}
	for n++; ; n++ {
		v.Version = n
		_, err = s.versions.InsertOne(ctx, versionDoc{ID: versionKey(v.Bot, v.FlowID, n), FlowVersion: v})
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("publish flow %s/%s: %w", v.Bot, v.FlowID, err)
	}
	hint := bson.M{
		"$max":         bson.M{"latest_version": n},
		"$setOnInsert": bson.M{"bot": v.Bot, "flow_id": v.FlowID, "has_draft": false},
	}
	_, err = s.flows.UpdateOne(ctx, bson.M{"_id": flowKey(v.Bot, v.FlowID)}, hint, options.Update().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// A concurrent publish created the flows document first; it exists now.
		_, err = s.flows.UpdateOne(ctx, bson.M{"_id": flowKey(v.Bot, v.FlowID)}, hint)
	}
	if err != nil {
		// The version is stored; LatestFlowVersion probes past a stale hint.
		s.opts.Logger.Warn("update latest flow version hint", "bot", v.Bot, "flow", v.FlowID, "version", n, "err", err)
	}
	return &v, nil
}

func (s *Store) getVersion(ctx context.Context, bot, flowID string, version int) (*store.FlowVersion, error) {
	var doc versionDoc
	if err := s.versions.FindOne(ctx, bson.M{"_id": versionKey(bot, flowID, version)}).Decode(&doc); err != nil {
		return nil, notFound(err)
	}
	return &doc.FlowVersion, nil
}

// GetFlowVersion implements store.Flows.
func (s *Store) GetFlowVersion(ctx context.Context, bot, flowID string, version int) (*store.FlowVersion, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.getVersion(ctx, bot, flowID, version)
	if err != nil {
		return nil, fmt.Errorf("get flow %s/%s version %d: %w", bot, flowID, version, err)
	}
	return v, nil
}

// LatestFlowVersion implements store.Flows with _id lookups: the hint, then
// forward probes in case a publisher stopped before updating the hint.
func (s *Store) LatestFlowVersion(ctx context.Context, bot, flowID string) (*store.FlowVersion, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	latest, err := s.latestVersion(ctx, bot, flowID)
	if err != nil {
		return nil, fmt.Errorf("latest version of flow %s/%s: %w", bot, flowID, err)
	}
	return latest, nil
}

func (s *Store) latestVersion(ctx context.Context, bot, flowID string) (*store.FlowVersion, error) {
	n, err := s.latestHint(ctx, bot, flowID)
	if err != nil {
		return nil, err
	}
	var latest *store.FlowVersion
	if n > 0 {
		if latest, err = s.getVersion(ctx, bot, flowID, n); err != nil {
			return nil, fmt.Errorf("version %d recorded as latest: %w", n, err)
		}
	}
	for {
		v, err := s.getVersion(ctx, bot, flowID, n+1)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		latest, n = v, n+1
	}
	if latest == nil {
		return nil, store.ErrNotFound
	}
	return latest, nil
}

// ListFlowVersions implements store.Flows.
func (s *Store) ListFlowVersions(ctx context.Context, bot, flowID string) ([]store.FlowVersion, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	docs, err := findAll[versionDoc](ctx, s.versions, bson.M{"bot": bot, "flow_id": flowID}, options.Find().
		SetSort(bson.D{{Key: "version", Value: -1}}).SetProjection(bson.M{"doc": 0}))
	if err != nil {
		return nil, fmt.Errorf("list versions of flow %s/%s: %w", bot, flowID, err)
	}
	out := make([]store.FlowVersion, len(docs))
	for i := range docs {
		out[i] = docs[i].FlowVersion
	}
	return out, nil
}
