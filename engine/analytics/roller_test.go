package analytics_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
)

// watchedRollups counts what the applied batches write, and refuses the
// next fail applies.
type watchedRollups struct {
	store.Store
	states, docs int
	fail         int
}

func (w *watchedRollups) ApplyRollup(ctx context.Context, b store.RollupBatch) error {
	if w.fail > 0 {
		w.fail--
		return errors.New("disk full")
	}
	w.states += len(b.States)
	w.docs += len(b.Deltas)
	return w.Store.ApplyRollup(ctx, b)
}

// TestReceiptsWriteNoFoldState: delivery and read receipts change no
// conversation's fold state, so a flush of only receipts writes none
// (only the counters of their day and month), while a message writes its
// conversation's state once.
func TestReceiptsWriteNoFoldState(t *testing.T) {
	ctx := context.Background()
	st := &watchedRollups{Store: openBolt(t)}
	roller := &analytics.Roller{St: st}
	conv := "shop:whatsapp:1"
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := func(id, typ string, at time.Time, data map[string]any) store.Event {
		return store.Event{ID: conv + "/" + id, Bot: simBot, Flow: "f", FlowVersion: 1, Node: "n", Type: typ,
			Conversation: conv, Channel: "whatsapp", At: at, Data: data}
	}
	change := []store.Event{ev("u1/in", engine.EvMessageIn, t0, nil), ev("u1/0", engine.EvConversationStarted, t0, nil),
		ev("u1/1", engine.EvNodeEntered, t0, nil), ev("m1/sent", engine.EvSent, t0, map[string]any{"by": "bot", "ms": 40.0})}
	if err := st.AppendEvents(ctx, change...); err != nil {
		t.Fatal(err)
	}
	drain(t, ctx, roller)
	if st.states != 1 || st.docs != 2 {
		t.Fatalf("a change wrote %d states and %d counter documents, want 1 and 2 (its day and month)", st.states, st.docs)
	}
	st.states, st.docs = 0, 0
	receipts := []store.Event{ev("m1/delivered", engine.EvDelivered, t0.Add(time.Second), nil),
		ev("m1/read", engine.EvRead, t0.Add(time.Minute), nil)}
	if err := st.AppendEvents(ctx, receipts...); err != nil {
		t.Fatal(err)
	}
	drain(t, ctx, roller)
	if st.states != 0 || st.docs != 2 {
		t.Fatalf("receipts wrote %d states and %d counter documents, want 0 and 2", st.states, st.docs)
	}
	docs, err := analytics.LoadDocs(ctx, st, simBot, "2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	r := analytics.Build(docs, analytics.Query{From: "2026-03-01", To: "2026-03-31"}, receipts2)
	if d := r.Delivery["whatsapp"]; d.Sent != 1 || d.Delivered == nil || *d.Delivered != 1 || d.Read == nil || *d.Read != 1 {
		t.Fatalf("delivery %+v, want 1 sent, delivered and read", d)
	}
}

func receipts2(string) (bool, bool) { return true, true }

// TestLateSentEventCountsNoDayTwice: a bot message queued on one day and
// accepted by the platform after the conversation's next day was folded
// (its sent event carries the queue time) must not count that next day
// twice among the conversations messaged.
func TestLateSentEventCountsNoDayTwice(t *testing.T) {
	ctx := context.Background()
	st := openBolt(t)
	roller := &analytics.Roller{St: st}
	conv := "shop:telegram:1"
	d1 := time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC)
	d2 := d1.Add(2 * time.Hour)
	ev := func(id, typ string, at time.Time, data map[string]any) store.Event {
		return store.Event{ID: conv + "/" + id, Bot: simBot, Flow: "f", FlowVersion: 1, Node: "n", Type: typ,
			Conversation: conv, Channel: "telegram", At: at, Data: data}
	}
	sent := map[string]any{"by": "bot", "ms": 10.0}
	for _, batch := range [][]store.Event{
		{ev("u1/in", engine.EvMessageIn, d1, nil), ev("u1/0", engine.EvConversationStarted, d1, nil)},
		{ev("u2/in", engine.EvMessageIn, d2, nil), ev("m2/sent", engine.EvSent, d2, sent)},
		{ev("m1/sent", engine.EvSent, d1, sent)}, // late: queued on 2 March, accepted on the 3rd
		{ev("m3/sent", engine.EvSent, d2.Add(time.Minute), sent)},
	} {
		if err := st.AppendEvents(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		drain(t, ctx, roller)
	}
	q := analytics.Query{From: "2026-03-03", To: "2026-03-03"}
	docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
	if err != nil {
		t.Fatal(err)
	}
	r := analytics.Build(docs, q, receipts)
	if r.Unsubscribes != 0 || r.Messages.Bot != 2 {
		t.Fatalf("3 March: %+v", r.Messages)
	}
	// unsubscribe_rate's denominator is the conversations messaged: one.
	if err := st.AppendEvents(ctx, ev("u4/1", engine.EvUnsubscribed, d2.Add(2*time.Minute), nil)); err != nil {
		t.Fatal(err)
	}
	drain(t, ctx, roller)
	docs, _ = analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
	r = analytics.Build(docs, q, receipts)
	if r.UnsubRate == nil || *r.UnsubRate != 1 {
		rate := "null"
		if r.UnsubRate != nil {
			rate = fmt.Sprint(*r.UnsubRate)
		}
		t.Fatalf("unsubscribe rate on 3 March %s, want 1 (one conversation messaged, once)", rate)
	}
}

// TestTwoRollersFoldAsOne: two replicas' rollers take turns at the same
// store, each keeping the fold states it stored; a state the other one
// changed since is read from the store, so the figures are the ground
// truth's.
func TestTwoRollersFoldAsOne(t *testing.T) {
	ctx := context.Background()
	st := openBolt(t)
	if err := st.PutBot(ctx, store.Bot{ID: simBot, Name: "Shop", Settings: store.BotSettings{TimeZone: "Europe/Moscow"}}); err != nil {
		t.Fatal(err)
	}
	sim := simulate(1500, 11)
	rollers := []*analytics.Roller{{St: st, Batch: 300}, {St: st, Batch: 300}}
	const chunk = 700
	for i, turn := 0, 0; i < len(sim.events); i += chunk {
		if err := st.AppendEvents(ctx, sim.events[i:min(i+chunk, len(sim.events))]...); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := rollers[turn%2].Flush(ctx); err != nil {
				t.Fatal(err)
			}
			turn++
		}
	}
	drain(t, ctx, rollers[0])
	checkReports(t, ctx, st, sim, "two rollers")
}

// TestLateSentEventKeepsReplyTimes: a reply accepted by the platform after
// the chat's next message was folded (its sent event carries its step's
// time) answers its own message, and the next message still waits for, and
// is answered by, its own reply: two reply times, not one.
func TestLateSentEventKeepsReplyTimes(t *testing.T) {
	ctx := context.Background()
	st := openBolt(t)
	roller := &analytics.Roller{St: st}
	conv := "shop:telegram:1"
	t1 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(2 * time.Second)
	ev := func(id, typ string, at time.Time, data map[string]any) store.Event {
		return store.Event{ID: conv + "/" + id, Bot: simBot, Flow: "f", FlowVersion: 1, Node: "n", Type: typ,
			Conversation: conv, Channel: "telegram", At: at, Data: data}
	}
	for _, batch := range [][]store.Event{
		{ev("u1/in", engine.EvMessageIn, t1, nil), ev("u1/0", engine.EvConversationStarted, t1, nil)},
		{ev("u2/in", engine.EvMessageIn, t2, nil)},
		{ev("m1/sent", engine.EvSent, t1, map[string]any{"by": "bot", "ms": 2500.0})}, // late
		{ev("m2/sent", engine.EvSent, t2, map[string]any{"by": "bot", "ms": 40.0})},
	} {
		if err := st.AppendEvents(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		drain(t, ctx, roller)
	}
	q := analytics.Query{From: "2026-03-02", To: "2026-03-02"}
	docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
	if err != nil {
		t.Fatal(err)
	}
	r := analytics.Build(docs, q, receipts)
	if r.ResponseTime.BotReplies != 2 {
		t.Fatalf("%d bot reply times, want 2 (each message answered by its own reply): %+v", r.ResponseTime.BotReplies, r.ResponseTime)
	}
}

// TestFailedApplyFoldsAgainFromTheStore: a flush whose apply fails has
// folded its events into fold states the roller keeps from the flush
// before; the next flush must fold them again from the stored states, not
// from those, or the day's dialog (counted once per day from the state)
// goes missing.
func TestFailedApplyFoldsAgainFromTheStore(t *testing.T) {
	ctx := context.Background()
	st := &watchedRollups{Store: openBolt(t)}
	roller := &analytics.Roller{St: st}
	conv := "shop:telegram:1"
	d1 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	ev := func(id, typ string, at time.Time) store.Event {
		return store.Event{ID: conv + "/" + id, Bot: simBot, Flow: "f", FlowVersion: 1, Node: "n", Type: typ,
			Conversation: conv, Channel: "telegram", At: at}
	}
	if err := st.AppendEvents(ctx, ev("u1/in", engine.EvMessageIn, d1), ev("u1/0", engine.EvConversationStarted, d1)); err != nil {
		t.Fatal(err)
	}
	drain(t, ctx, roller)
	if err := st.AppendEvents(ctx, ev("u2/in", engine.EvMessageIn, d2)); err != nil {
		t.Fatal(err)
	}
	st.fail = 1
	if _, err := roller.Flush(ctx); err == nil {
		t.Fatal("the flush applied a batch the store refused")
	}
	drain(t, ctx, roller)
	q := analytics.Query{From: "2026-03-03", To: "2026-03-03"}
	docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
	if err != nil {
		t.Fatal(err)
	}
	if r := analytics.Build(docs, q, receipts); r.Dialogs != 1 || r.Messages.In != 1 {
		t.Fatalf("3 March after a refused apply: %d dialogs, %d messages in; want 1 and 1", r.Dialogs, r.Messages.In)
	}
}
