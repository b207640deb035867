package analytics_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
)

// TestEveryCutOfTheLogFoldsExactly appends the simulated log one event at
// a time and flushes after each: every change is cut at every point, as a
// flush claiming a change half inserted (MongoDB inserts a change's events
// one after another) would see it. The figures must still be exact. The
// 100,000-conversation run found this: a flush between a new
// conversation's inbound message and its conversation_started folded the
// message without the source, so the conversation counted as a dialog of
// two sources.
func TestEveryCutOfTheLogFoldsExactly(t *testing.T) {
	ctx := context.Background()
	st := openBolt(t)
	if err := st.PutBot(ctx, store.Bot{ID: simBot, Settings: store.BotSettings{TimeZone: "Europe/Moscow"}}); err != nil {
		t.Fatal(err)
	}
	sim := simulate(120, 11)
	roller := &analytics.Roller{St: st, Batch: 7}
	for i := range sim.events {
		if err := st.AppendEvents(ctx, sim.events[i]); err != nil {
			t.Fatal(err)
		}
		drain(t, ctx, roller)
	}
	checkReports(t, ctx, st, sim, "flushed after every event")
}

// TestFlushNeverSplitsAnInstant folds a change of many steps (ids /0 to
// /13: "/10" sorts before "/2" in the store) with every batch size: a
// batch must end between instants, or the rest of the change would fold
// out of order (node 10 entered before node 2).
func TestFlushNeverSplitsAnInstant(t *testing.T) {
	for _, st := range []struct {
		name  string
		open  func(testing.TB) store.Store
		sizes []int
	}{
		{"bolt", openBolt, nil},
		{"mongo", openMongo, []int{2, 11}},
	} {
		t.Run(st.name, func(t *testing.T) {
			want := ""
			sizes := st.sizes
			if sizes == nil {
				for b := 1; b <= 17; b++ {
					sizes = append(sizes, b)
				}
			}
			for _, b := range append([]int{1000}, sizes...) {
				got := foldLongChange(t, st.open(t), b)
				if want == "" {
					want = got
					continue
				}
				if got != want {
					t.Errorf("batches of %d:\n got %s\nwant %s", b, got, want)
				}
			}
		})
	}
}

// foldLongChange appends two changes of one conversation, the first
// through twelve nodes, flushes them in batches of batch events and
// returns the report (canonical JSON).
func foldLongChange(t *testing.T, st store.Store, batch int) string {
	t.Helper()
	ctx := context.Background()
	conv := "shop:telegram:1"
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := func(at time.Time, key, idx, typ, node string, data map[string]any) store.Event {
		return store.Event{ID: conv + "/" + key + "/" + idx, Bot: simBot, Flow: "f", FlowVersion: 1, Node: node, Type: typ,
			Conversation: conv, Channel: "telegram", At: at, Data: data}
	}
	first := []store.Event{ev(t0, "u1", "in", engine.EvMessageIn, "", map[string]any{"kind": "text"}),
		ev(t0, "u1", "0", engine.EvConversationStarted, "n0", map[string]any{"source": "ads"})}
	for i := 0; i < 12; i++ {
		n := "n" + strconv.Itoa(i)
		first = append(first, ev(t0, "u1", strconv.Itoa(1+i), engine.EvNodeEntered, n, nil))
	}
	first = append(first, ev(t0, "u1", "13", engine.EvGoal, "n11", map[string]any{"name": "lead", "num": 5.0}))
	t1 := t0.Add(time.Minute)
	second := []store.Event{ev(t1, "u2", "in", engine.EvMessageIn, "n11", map[string]any{"kind": "text"}),
		ev(t1, "u2", "0", engine.EvNodeEntered, "n12", nil)}
	analytics.SortChange(first)
	for _, change := range [][]store.Event{first, second} {
		if err := st.AppendEvents(ctx, change...); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, ctx, &analytics.Roller{St: st, Batch: batch})
	q := analytics.Query{From: "2026-03-01", To: "2026-03-31"}
	docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
	if err != nil {
		t.Fatal(err)
	}
	r := analytics.Build(docs, q, receipts)
	for i := 0; i < 12; i++ {
		from, to := "n"+strconv.Itoa(i), "n"+strconv.Itoa(i+1)
		if f := r.Funnel[from]; f.Entered != 1 || f.Exits[to] != 1 {
			t.Errorf("batches of %d: node %s %+v, want entered 1 and one exit to %s", batch, from, f, to)
		}
	}
	if r.Started != 1 || r.Dialogs != 1 || r.Messages.In != 2 || r.Goals["lead"].Count != 1 {
		t.Errorf("batches of %d: started %d, dialogs %d, in %d, goals %+v; want 1, 1, 2, one lead", batch,
			r.Started, r.Dialogs, r.Messages.In, r.Goals)
	}
	return fmt.Sprint(analytics.Canonical(r))
}
