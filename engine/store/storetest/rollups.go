package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// rollups checks the rollup contract: an event stored for the first time
// is pending once, a batch (which takes every event PendingEvents gave)
// clears them and adds its counters exactly once, a stale or repeated
// batch is refused, and a reset leaves nothing of the bot pending.
func (s *suite) rollups(t *testing.T) {
	st := s.newStore(t)
	ctx := ctxFor(t)
	ev := func(bot, id string, i int) store.Event {
		return store.Event{ID: id, Bot: bot, Type: "message_in", Conversation: bot + ":web:1", At: at(time.Duration(i) * time.Second)}
	}
	must(t, st.AppendEvents(ctx, ev("b", "e1", 1), ev("b", "e2", 2), ev("other", "o1", 3)), "append")
	must(t, st.AppendEvents(ctx, ev("b", "e1", 1)), "append a duplicate")
	pend, seq, open, err := st.PendingEvents(ctx, 10)
	must(t, err, "pending")
	if open != nil {
		t.Fatalf("open batch %+v on a new store", open)
	}
	if len(pend) != 3 {
		t.Fatalf("pending = %d events, want 3 (a duplicate append marks nothing): %+v", len(pend), pend)
	}
	keys := map[string]store.EventKey{}
	for _, e := range pend {
		keys[e.ID] = store.EventKey{Bot: e.Bot, ID: e.ID, At: e.At}
		if e.Type != "message_in" {
			t.Fatalf("pending event %s has type %q", e.ID, e.Type)
		}
	}
	b := store.RollupBatch{Seq: seq + 1,
		Deltas: []store.RollupDoc{
			{Bot: "b", Day: "2030-03-14", Flow: "f", Version: 2, Source: "ads", C: map[string]float64{"in": 2, "ent|a.b$c": 1}},
			{Bot: "b", Day: "2030-03-15", Flow: "f", Version: 2, C: map[string]float64{"in": 1}},
		},
		States: map[string][]byte{"b:web:1": []byte(`{"x":1}`)},
		Events: []store.EventKey{keys["e1"], keys["e2"], keys["o1"]},
	}
	must(t, st.ApplyRollup(ctx, b), "apply")
	err = st.ApplyRollup(ctx, b)
	if !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("applying batch %d twice: %v, want a version conflict", b.Seq, err)
	}
	pend, seq2, _, err := st.PendingEvents(ctx, 10)
	must(t, err, "pending after apply")
	if len(pend) != 0 || seq2 != b.Seq {
		t.Fatalf("pending after apply = %+v (seq %d), want none at seq %d", pend, seq2, b.Seq)
	}
	must(t, st.AppendEvents(ctx, ev("b", "e2", 2), ev("other", "o2", 4)), "append a rolled-up event again, and a new one")
	if pend, _, _, _ = st.PendingEvents(ctx, 10); len(pend) != 1 || pend[0].ID != "o2" {
		t.Fatalf("pending = %+v, want only the new o2 (a rolled-up event appended again is not pending again)", pend)
	}
	// A second batch adds to the same document.
	must(t, st.ApplyRollup(ctx, store.RollupBatch{Seq: seq2 + 1, Events: []store.EventKey{{Bot: "other", ID: "o2", At: at(4 * time.Second)}},
		Deltas: []store.RollupDoc{{Bot: "b", Day: "2030-03-14", Flow: "f", Version: 2, Source: "ads", C: map[string]float64{"in": 3}}}}), "apply 2")
	docs, err := st.RollupDocs(ctx, "b", "2030-03-14", "2030-03-14")
	must(t, err, "docs")
	if len(docs) != 1 || docs[0].C["in"] != 5 || docs[0].C["ent|a.b$c"] != 1 || docs[0].Source != "ads" || docs[0].Version != 2 || docs[0].Flow != "f" {
		t.Fatalf("docs of 14 March = %+v, want one with in=5 and ent|a.b$c=1", docs)
	}
	docs, err = st.RollupDocs(ctx, "b", "2030-03-01", "2030-03-31")
	must(t, err, "docs of March")
	if len(docs) != 2 {
		t.Fatalf("docs of March = %d, want 2", len(docs))
	}
	// Months as the bounds: the month documents only, not their days.
	must(t, st.ApplyRollup(ctx, store.RollupBatch{Deltas: []store.RollupDoc{
		{Bot: "b", Day: "2030-03", Flow: "f", Version: 2, C: map[string]float64{"in": 6}},
		{Bot: "b", Day: "2030-05", Flow: "f", Version: 2, C: map[string]float64{"in": 7}},
		{Bot: "b", Day: "2030-06", Flow: "f", Version: 2, C: map[string]float64{"in": 8}},
		{Bot: "b", Day: "2030-05-02", Flow: "f", Version: 2, C: map[string]float64{"in": 7}},
	}}), "apply months")
	docs, err = st.RollupDocs(ctx, "b", "2030-03", "2030-05")
	must(t, err, "docs of March to May")
	if len(docs) != 2 || docs[0].Day != "2030-03" || docs[1].Day != "2030-05" || docs[1].C["in"] != 7 {
		t.Fatalf("docs of the months March to May = %+v, want the documents of March and May only", docs)
	}
	if docs, _ = st.RollupDocs(ctx, "b", "2030-03-01", "2030-03-31"); len(docs) != 2 {
		t.Fatalf("docs of March's days = %d, want 2 (not the month's)", len(docs))
	}
	if docs, _ := st.RollupDocs(ctx, "other", "2030-03-01", "2030-03-31"); len(docs) != 0 {
		t.Fatalf("another bot's docs: %+v", docs)
	}
	states, err := st.RollupStates(ctx, []string{"b:web:1", "b:web:2"})
	must(t, err, "states")
	if string(states["b:web:1"]) != `{"x":1}` || len(states) != 1 {
		t.Fatalf("states = %q", states)
	}
	// Seq 0 (a rebuild) applies without the journal.
	must(t, st.ApplyRollup(ctx, store.RollupBatch{Deltas: []store.RollupDoc{{Bot: "b", Day: "2030-03-15", Flow: "f", Version: 2, C: map[string]float64{"in": 1}}}}), "apply unjournaled")
	must(t, st.ResetRollups(ctx, "b"), "reset")
	if docs, _ := st.RollupDocs(ctx, "b", "2000-01-01", "2100-01-01"); len(docs) != 0 {
		t.Fatalf("docs after reset: %+v", docs)
	}
	if states, _ := st.RollupStates(ctx, []string{"b:web:1"}); len(states) != 0 {
		t.Fatalf("states after reset: %q", states)
	}
	must(t, st.AppendEvents(ctx, ev("b", "e3", 5), ev("other", "o3", 6)), "append after the last batch")
	must(t, st.ResetRollups(ctx, "b"), "reset again")
	pend, _, _, err = st.PendingEvents(ctx, 10)
	must(t, err, "pending after reset")
	if len(pend) != 1 || pend[0].ID != "o3" {
		t.Fatalf("pending after reset = %+v, want only the other bot's o3", pend)
	}
}
