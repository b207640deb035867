package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) messages(t *testing.T) {
	t.Run("transcript is chronological and pages without gaps", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		conv := "b1:telegram:1"
		var want []string
		var batch []store.Message
		// Append out of order, with equal times, in a few batches.
		for i := s.cfg.Items - 1; i >= 0; i-- {
			m := store.Message{ID: "m" + pad(i), ConversationID: conv, Bot: "b1", Direction: store.DirectionIn,
				Text: "hello " + pad(i), At: at(time.Duration(i/2) * time.Second)}
			batch = append(batch, m)
			if len(batch) == 50 {
				must(t, st.AppendMessages(ctx, batch...), "append")
				batch = nil
			}
		}
		must(t, st.AppendMessages(ctx, batch...), "append")
		must(t, st.AppendMessages(ctx, store.Message{ID: "other", ConversationID: "b1:telegram:2", At: at(0)}), "append other")
		for i := range s.cfg.Items {
			want = append(want, "m"+pad(i))
		}
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatal("paging does not end")
			}
			items, next, err := st.ListMessages(ctx, conv, cursor, s.cfg.PageSize)
			must(t, err, "list")
			got = append(got, ids(items, func(m store.Message) string { return m.ID })...)
			if next == "" {
				break
			}
			cursor = next
		}
		checkPaging(t, "transcript", got, want)
	})

	t.Run("message fields round-trip and re-append is a no-op", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		m := store.Message{ID: "m1", ConversationID: "c1", Bot: "b1", Direction: store.DirectionOperator,
			Text: "Здравствуйте", Operator: "op7", At: at(0), Buttons: []store.Button{{Label: "OK", Payload: "ok"}}}
		must(t, st.AppendMessages(ctx, m), "append")
		changed := m
		changed.Text = "rewritten"
		must(t, st.AppendMessages(ctx, changed, store.Message{ID: "m2", ConversationID: "c1", At: at(time.Second)}), "re-append")
		items, _, err := st.ListMessages(ctx, "c1", "", 0)
		must(t, err, "list")
		if len(items) != 2 {
			t.Fatalf("%d messages after re-append, want 2", len(items))
		}
		sameJSON(t, "message", items[0], m)
	})
}

func (s *suite) events(t *testing.T) {
	ev := func(i int, typ, flow string) store.Event {
		return store.Event{ID: "e" + pad(i), Bot: "b1", Flow: flow, FlowVersion: 2, Node: "n" + pad(i%7),
			Type: typ, Conversation: "b1:telegram:" + pad(i%13), Channel: "telegram",
			At: at(time.Duration(i/3) * time.Second), Data: map[string]any{"label": "Yes", "n": float64(i)}}
	}

	t.Run("re-appending the same ids writes nothing", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		first := []store.Event{ev(1, "node_entered", "main"), ev(2, "button_pressed", "main")}
		must(t, st.AppendEvents(ctx, first...), "append")
		replay := []store.Event{ev(1, "node_entered", "main"), ev(2, "button_pressed", "main"), ev(3, "goal", "main")}
		replay[0].Node = "changed"
		must(t, st.AppendEvents(ctx, replay...), "replay")
		must(t, st.AppendEvents(ctx, replay...), "replay again")
		items, _, err := st.QueryEvents(ctx, store.EventQuery{Bot: "b1"})
		must(t, err, "query")
		if g := ids(items, func(e store.Event) string { return e.ID }); !slices.Equal(g, []string{"e00001", "e00002", "e00003"}) {
			t.Fatalf("events %v, want each id once", g)
		}
		sameJSON(t, "first write wins", items[0], first[0])
	})

	t.Run("range queries by time, flow and type", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		types := []string{"node_entered", "button_pressed", "goal"}
		var all []store.Event
		for i := range 60 {
			all = append(all, ev(i, types[i%3], []string{"main", "promo"}[i%2]))
		}
		must(t, st.AppendEvents(ctx, all...), "append")
		other := ev(1000, "goal", "main")
		other.Bot = "b2"
		must(t, st.AppendEvents(ctx, other), "append other bot")

		from, to := at(5*time.Second), at(12*time.Second)
		q := store.EventQuery{Bot: "b1", Flow: "main", Types: []string{"goal", "node_entered"}, From: from, To: to}
		var want []string
		for _, e := range all {
			if e.Flow == "main" && (e.Type == "goal" || e.Type == "node_entered") && !e.At.Before(from) && e.At.Before(to) {
				want = append(want, e.ID)
			}
		}
		items, next, err := st.QueryEvents(ctx, q)
		must(t, err, "query")
		if g := ids(items, func(e store.Event) string { return e.ID }); !slices.Equal(g, want) || next != "" {
			t.Fatalf("range query got %v (next %q), want %v", g, next, want)
		}
		items, _, err = st.QueryEvents(ctx, store.EventQuery{Bot: "b2"})
		must(t, err, "query other bot")
		if len(items) != 1 || items[0].ID != other.ID {
			t.Fatalf("other bot sees %d events", len(items))
		}
		sameJSON(t, "event", items[0], other)
	})

	t.Run("event pages cover the range without gaps or repeats", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var all []store.Event
		for i := range s.cfg.Items {
			all = append(all, ev(i, "sent", "main"))
		}
		must(t, st.AppendEvents(ctx, all...), "append")
		want := ids(all, func(e store.Event) string { return e.ID })
		var got []string
		q := store.EventQuery{Bot: "b1", Types: []string{"sent"}, Limit: s.cfg.PageSize}
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatal("paging does not end")
			}
			items, next, err := st.QueryEvents(ctx, q)
			must(t, err, "query page")
			got = append(got, ids(items, func(e store.Event) string { return e.ID })...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		checkPaging(t, "events", got, want)
	})
}
