package store

import (
	"context"
	"strconv"
)

// Rollups keeps the analytics counters (per bot, day, flow, version and
// source) that reports read instead of the raw event log. Every event an
// append stores for the first time is marked pending; a single flusher
// reads the pending events, folds them into counters and per-conversation
// fold states (engine/analytics) and applies the result with ApplyRollup,
// which clears the marks. An event is therefore counted exactly once: a
// repeated append stores nothing and marks nothing, and a batch applied
// again after a crash changes nothing (see ApplyRollup). Retention purges
// raw events but never rollups.
type Rollups interface {
	// PendingEvents returns up to limit events stored but not yet rolled
	// up, oldest first; seq is the last batch applied (the next one is
	// seq+1), and open the batch a crashed flusher left (nil when none),
	// which must be applied again before anything else.
	PendingEvents(ctx context.Context, limit int) (events []Event, seq int64, open *RollupBatch, err error)
	// RollupStates returns the fold states of the conversations asked for
	// (absent ones are missing from the map).
	RollupStates(ctx context.Context, conversations []string) (map[string][]byte, error)
	// ApplyRollup adds b.Deltas to the counters, writes b.States and clears
	// the pending marks of b.Events, all or nothing: in one transaction on
	// the embedded store; on MongoDB the batch is journaled first and each
	// counter document remembers the last batch it took, so applying the
	// same batch again (after a crash) adds nothing twice. b.Seq must be
	// the seq PendingEvents returned plus one (ErrVersionConflict when
	// another flusher applied a batch since); Seq 0 applies without the
	// journal, for a rebuild while nothing else writes.
	ApplyRollup(ctx context.Context, b RollupBatch) error
	// RollupDocs returns bot's counter documents with Day in [fromDay,
	// toDay] (YYYY-MM-DD, inclusive). When both are months (YYYY-MM) it
	// returns the month documents of those months only, none of their
	// days: what a report of whole months reads, in one query.
	RollupDocs(ctx context.Context, bot, fromDay, toDay string) ([]RollupDoc, error)
	// ResetRollups deletes bot's counters and fold states and marks none of
	// its events pending: what a rebuild starts from.
	ResetRollups(ctx context.Context, bot string) error
}

// RollupBatch is one flush: counter increments, fold states, and the keys
// of the events it consumed.
type RollupBatch struct {
	// Seq numbers batches (see ApplyRollup).
	Seq    int64             `json:"seq" bson:"seq"`
	Deltas []RollupDoc       `json:"deltas" bson:"deltas"`
	States map[string][]byte `json:"states" bson:"states"`
	Events []EventKey        `json:"events" bson:"events"`
}

// RollupDoc is the counters of one (bot, day, flow, version, source).
type RollupDoc struct {
	Bot     string             `json:"bot" bson:"bot"`
	Day     string             `json:"day" bson:"day"`
	Flow    string             `json:"flow" bson:"flow"`
	Version int                `json:"version" bson:"version"`
	Source  string             `json:"source" bson:"source"`
	C       map[string]float64 `json:"c" bson:"c"`
}

// RollupID is the document key of (bot, day, flow, version, source).
func (d *RollupDoc) RollupID() string {
	return d.Bot + "\x00" + d.Day + "\x00" + d.Flow + "\x00" + strconv.Itoa(d.Version) + "\x00" + d.Source
}

// IsMonth reports whether a counter document's Day names a whole month
// (YYYY-MM) rather than a day.
func IsMonth(day string) bool { return len(day) == len("2006-01") }
