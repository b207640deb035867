package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// Rollups on MongoDB, without transactions: a flush claims its events
// (PendingEvents), then journals its
// batch in the meta document (conditional on the last batch number it
// read, so of two flushers only one goes on), then increments each counter
// document only if that document has not taken this batch yet (its seq),
// writes the fold states (absolute values), clears the events' pending
// marks and closes the journal. A flusher that dies midway leaves the
// batch open; the next one applies it again, which adds nothing twice.
const (
	collRollups      = "rollups"
	collRollupMonths = "rollup_months" // month documents (Day YYYY-MM), see isMonth
	collRollupStates = "rollup_states"
	collRollupMeta   = "rollup_meta"
	rollupMetaID     = "flusher"
)

// pendingEvent is an event as appended: marked for the rollup flush.
type pendingEvent struct {
	store.Event `bson:",inline"`
	Pending     bool `bson:"rp,omitempty"`
}

type rollupMeta struct {
	Seq  int64         `bson:"seq"`
	Open *journalBatch `bson:"open,omitempty"`
}

// journalBatch is a RollupBatch in a form MongoDB keeps (no dots in keys).
type journalBatch struct {
	Seq    int64            `bson:"seq"`
	Deltas []journalDoc     `bson:"deltas"`
	States []journalState   `bson:"states"`
	Events []store.EventKey `bson:"events"`
}

type journalDoc struct {
	Bot     string        `bson:"bot"`
	Day     string        `bson:"day"`
	Flow    string        `bson:"flow"`
	Version int           `bson:"version"`
	Source  string        `bson:"source"`
	C       []journalPair `bson:"c"`
}

type journalPair struct {
	K string  `bson:"k"`
	V float64 `bson:"v"`
}

type journalState struct {
	ID string `bson:"id"`
	S  []byte `bson:"s"`
}

func toJournal(b store.RollupBatch) *journalBatch {
	j := &journalBatch{Seq: b.Seq, Events: b.Events}
	for _, d := range b.Deltas {
		jd := journalDoc{Bot: d.Bot, Day: d.Day, Flow: d.Flow, Version: d.Version, Source: d.Source}
		for k, v := range d.C {
			jd.C = append(jd.C, journalPair{k, v})
		}
		j.Deltas = append(j.Deltas, jd)
	}
	for id, s := range b.States {
		j.States = append(j.States, journalState{id, s})
	}
	return j
}

func (j *journalBatch) batch() store.RollupBatch {
	b := store.RollupBatch{Seq: j.Seq, Events: j.Events, States: map[string][]byte{}}
	for _, jd := range j.Deltas {
		d := store.RollupDoc{Bot: jd.Bot, Day: jd.Day, Flow: jd.Flow, Version: jd.Version, Source: jd.Source, C: map[string]float64{}}
		for _, p := range jd.C {
			d.C[p.K] = p.V
		}
		b.Deltas = append(b.Deltas, d)
	}
	for _, s := range j.States {
		b.States[s.ID] = s.S
	}
	return b
}

// Counter names become field names: '%', '.' and '$' are escaped.
var fieldEscaper = strings.NewReplacer("%", "%25", ".", "%2E", "$", "%24")
var fieldUnescaper = strings.NewReplacer("%25", "%", "%2E", ".", "%24", "$")

func (s *Store) meta(ctx context.Context) (*rollupMeta, error) {
	var m rollupMeta
	err := s.db.Collection(collRollupMeta).FindOne(ctx, bson.M{"_id": rollupMetaID}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return &rollupMeta{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// PendingEvents implements store.Rollups. One flusher at a time holds the
// flush lease (a few minutes, renewed by each call); it claims the oldest
// pending events by marking them with the next batch number (rp: seq+1, by
// time range: two updates for the whole batch, not one per event), and
// reads what it claimed. Claimed events a crashed flusher left are read
// again by the next holder.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]store.Event, int64, *store.RollupBatch, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	m, err := s.meta(ctx)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("rollup meta: %w", err)
	}
	if m.Open != nil {
		b := m.Open.batch()
		return nil, m.Seq, &b, nil
	}
	if limit <= 0 {
		return nil, m.Seq, nil, nil
	}
	if ok, err := s.flushLease(ctx); err != nil || !ok {
		return nil, m.Seq, nil, err
	}
	next := m.Seq + 1
	claimed := bson.M{"rp": next}
	out, err := findAll[store.Event](ctx, s.events, claimed)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("claimed events: %w", err)
	}
	if len(out) > 0 {
		return out, m.Seq, nil, nil
	}
	head, err := findAll[store.Event](ctx, s.events, bson.M{"rp": true},
		options.Find().SetSort(bson.D{{Key: "rp", Value: 1}, {Key: "at", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.M{"at": 1}))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("pending events: %w", err)
	}
	if len(head) == 0 {
		return nil, m.Seq, nil, nil
	}
	upTo := head[len(head)-1].At
	if _, err := s.events.UpdateMany(ctx, bson.M{"rp": true, "at": bson.M{"$lte": upTo}}, bson.M{"$set": claimed}); err != nil {
		return nil, 0, nil, fmt.Errorf("claim pending events: %w", err)
	}
	if out, err = findAll[store.Event](ctx, s.events, claimed); err != nil {
		return nil, 0, nil, fmt.Errorf("claimed events: %w", err)
	}
	return out, m.Seq, nil, nil
}

// flushLease takes or renews the flush lease for this store handle.
func (s *Store) flushLease(ctx context.Context) (bool, error) {
	now := time.Now()
	_, err := s.db.Collection(collRollupMeta).UpdateOne(ctx,
		bson.M{"_id": "lease", "$or": bson.A{bson.M{"until": bson.M{"$lt": now}}, bson.M{"owner": s.flusherID}}},
		bson.M{"$set": bson.M{"owner": s.flusherID, "until": now.Add(flushLeaseFor)}}, options.Update().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil // another replica flushes
	}
	if err != nil {
		return false, fmt.Errorf("rollup flush lease: %w", err)
	}
	return true, nil
}

// flushLeaseFor outlasts a flush on a slow server.
const flushLeaseFor = 5 * time.Minute

// RollupStates implements store.Rollups. One lookup per id: the test
// server reads a whole collection for an $in on _id.
func (s *Store) RollupStates(ctx context.Context, ids []string) (map[string][]byte, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c := s.db.Collection(collRollupStates)
	out := make(map[string][]byte, len(ids))
	for _, id := range ids {
		var doc struct {
			S []byte `bson:"s"`
		}
		err := c.FindOne(ctx, bson.M{"_id": id}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rollup state %s: %w", id, err)
		}
		out[id] = doc.S
	}
	return out, nil
}

// ApplyRollup implements store.Rollups.
func (s *Store) ApplyRollup(ctx context.Context, b store.RollupBatch) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	metaC := s.db.Collection(collRollupMeta)
	if b.Seq > 0 {
		// Journal the batch, unless it is the open one being applied again.
		res, err := metaC.UpdateOne(ctx, bson.M{"_id": rollupMetaID, "seq": b.Seq - 1, "open": nil},
			bson.M{"$set": bson.M{"seq": b.Seq, "open": toJournal(b)}})
		if err == nil && res.MatchedCount == 0 && b.Seq == 1 {
			_, err = metaC.InsertOne(ctx, bson.M{"_id": rollupMetaID, "seq": b.Seq, "open": toJournal(b)})
			if mongo.IsDuplicateKeyError(err) {
				err = fmt.Errorf("batch 1: %w", store.ErrVersionConflict)
			}
		} else if err == nil && res.MatchedCount == 0 {
			m, merr := s.meta(ctx)
			if merr != nil {
				return fmt.Errorf("rollup meta: %w", merr)
			}
			if m.Open == nil || m.Open.Seq != b.Seq {
				return fmt.Errorf("rollup batch %d: another flusher went first: %w", b.Seq, store.ErrVersionConflict)
			}
		}
		if err != nil {
			return fmt.Errorf("journal rollup batch %d: %w", b.Seq, err)
		}
	}
	if err := s.applyDeltas(ctx, b); err != nil {
		return err
	}
	if len(b.States) > 0 {
		var ops []mongo.WriteModel
		for id, st := range b.States {
			ops = append(ops, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": id}).
				SetReplacement(bson.M{"_id": id, "s": st}).SetUpsert(true))
		}
		if _, err := s.db.Collection(collRollupStates).BulkWrite(ctx, ops, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("write fold states: %w", err)
		}
	}
	if len(b.Events) > 0 && b.Seq > 0 {
		// The events this batch claimed carry its number.
		if _, err := s.events.UpdateMany(ctx, bson.M{"rp": b.Seq}, bson.M{"$unset": bson.M{"rp": ""}}); err != nil {
			return fmt.Errorf("clear pending marks: %w", err)
		}
	}
	if b.Seq > 0 {
		if _, err := metaC.UpdateOne(ctx, bson.M{"_id": rollupMetaID, "seq": b.Seq}, bson.M{"$unset": bson.M{"open": ""}}); err != nil {
			return fmt.Errorf("close rollup batch %d: %w", b.Seq, err)
		}
	}
	return nil
}

// applyDeltas increments each counter document that has not taken batch
// b.Seq yet (all of them for Seq 0).
func (s *Store) applyDeltas(ctx context.Context, b store.RollupBatch) error {
	if len(b.Deltas) == 0 {
		return nil
	}
	var days, months []mongo.WriteModel
	for i := range b.Deltas {
		d := &b.Deltas[i]
		inc := bson.M{}
		for k, v := range d.C {
			inc["c."+fieldEscaper.Replace(k)] = v
		}
		filter := bson.M{"_id": d.RollupID()}
		// A rebuild (Seq 0) writes seq 0, below every later batch.
		set := bson.M{"bot": d.Bot, "day": d.Day, "flow": d.Flow, "version": d.Version, "source": d.Source, "seq": b.Seq}
		if b.Seq > 0 {
			filter["seq"] = bson.M{"$lt": b.Seq}
		}
		op := mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(bson.M{"$inc": inc, "$set": set}).SetUpsert(true)
		if isMonth(d.Day) {
			months = append(months, op)
		} else {
			days = append(days, op)
		}
	}
	for _, w := range []struct {
		coll string
		ops  []mongo.WriteModel
	}{{collRollups, days}, {collRollupMonths, months}} {
		if len(w.ops) == 0 {
			continue
		}
		if err := counterWrites(s.db.Collection(w.coll).BulkWrite(ctx, w.ops, options.BulkWrite().SetOrdered(false))); err != nil {
			return err
		}
	}
	return nil
}

// isMonth tells a month document (Day YYYY-MM) from a day's. Months live
// in their own collection: a year's report reads a dozen of them per flow
// version and source, and the MongoDB test server (FerretDB) answers a
// query by scanning its collection, which for the days is hundreds of
// documents of thousands of counters each per year (seconds per query).
func isMonth(day string) bool { return store.IsMonth(day) }

// counterWrites is the outcome of a counter bulk write: duplicate keys are
// documents that took this batch already.
func counterWrites(_ *mongo.BulkWriteResult, err error) error {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			// A duplicate key: the document took this batch already (its
			// seq is not below it), so the upsert found no match.
			if we.Code != 11000 {
				return fmt.Errorf("apply rollup counters: %w", err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply rollup counters: %w", err)
	}
	return nil
}

// RollupDocs implements store.Rollups.
func (s *Store) RollupDocs(ctx context.Context, bot, fromDay, toDay string) ([]store.RollupDoc, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var out []store.RollupDoc
	for _, coll := range []string{collRollups, collRollupMonths} {
		if coll == collRollups && isMonth(fromDay) && isMonth(toDay) {
			continue // months only
		}
		docs, err := s.rollupDocs(ctx, coll, bot, fromDay, toDay)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

func (s *Store) rollupDocs(ctx context.Context, coll, bot, fromDay, toDay string) ([]store.RollupDoc, error) {
	cur, err := s.db.Collection(coll).Find(ctx, bson.M{"bot": bot, "day": bson.M{"$gte": fromDay, "$lte": toDay}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("rollups of %s: %w", bot, err)
	}
	defer cur.Close(ctx)
	var out []store.RollupDoc
	for cur.Next(ctx) {
		var raw struct {
			Bot     string             `bson:"bot"`
			Day     string             `bson:"day"`
			Flow    string             `bson:"flow"`
			Version int                `bson:"version"`
			Source  string             `bson:"source"`
			C       map[string]float64 `bson:"c"`
		}
		if err := cur.Decode(&raw); err != nil {
			return nil, fmt.Errorf("decode rollup of %s: %w", bot, err)
		}
		d := store.RollupDoc{Bot: raw.Bot, Day: raw.Day, Flow: raw.Flow, Version: raw.Version, Source: raw.Source,
			C: make(map[string]float64, len(raw.C))}
		for k, v := range raw.C {
			if strings.IndexByte(k, '%') >= 0 { // most names have nothing escaped
				k = fieldUnescaper.Replace(k)
			}
			d.C[k] = v
		}
		out = append(out, d)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("rollups of %s: %w", bot, err)
	}
	return out, nil
}

// ResetRollups implements store.Rollups.
func (s *Store) ResetRollups(ctx context.Context, bot string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	for _, coll := range []string{collRollups, collRollupMonths} {
		if _, err := s.db.Collection(coll).DeleteMany(ctx, bson.M{"bot": bot}); err != nil {
			return fmt.Errorf("reset rollups of %s: %w", bot, err)
		}
	}
	prefix := "^" + regexpQuote(bot+":")
	if _, err := s.db.Collection(collRollupStates).DeleteMany(ctx, bson.M{"_id": bson.M{"$regex": prefix}}); err != nil {
		return fmt.Errorf("reset fold states of %s: %w", bot, err)
	}
	if _, err := s.events.UpdateMany(ctx, bson.M{"bot": bot, "rp": bson.M{"$exists": true}}, bson.M{"$unset": bson.M{"rp": ""}}); err != nil {
		return fmt.Errorf("reset pending marks of %s: %w", bot, err)
	}
	return nil
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// moveRollupMonths moves month documents that databases written before
// the month collection keep among the days, once (a marker in the meta
// collection says it is done). A document is inserted there before it is
// deleted here, so a stop in between moves it again next time, and the
// copy already there is kept.
func (s *Store) moveRollupMonths(ctx context.Context) error {
	meta := s.db.Collection(collRollupMeta)
	const done = "months_moved"
	if n, err := meta.CountDocuments(ctx, bson.M{"_id": done}); err != nil || n > 0 {
		return err
	}
	days := s.db.Collection(collRollups)
	cur, err := days.Find(ctx, bson.M{"day": bson.M{"$regex": `^[0-9]{4}-[0-9]{2}$`}})
	if err != nil {
		return fmt.Errorf("find month rollups: %w", err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("read month rollups: %w", err)
	}
	for _, d := range docs {
		if _, err := s.db.Collection(collRollupMonths).InsertOne(ctx, d); err != nil && !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("move month rollup %v: %w", d["_id"], err)
		}
		if _, err := days.DeleteOne(ctx, bson.M{"_id": d["_id"]}); err != nil {
			return fmt.Errorf("move month rollup %v: %w", d["_id"], err)
		}
	}
	if _, err := meta.InsertOne(ctx, bson.M{"_id": done, "moved": len(docs)}); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mark month rollups moved: %w", err)
	}
	return nil
}
