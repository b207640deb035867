package segment

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func conv(chat string, mod func(c *store.Conversation)) store.Conversation {
	c := store.Conversation{ID: store.ConversationID("b", "telegram", chat), Bot: "b", Channel: "telegram", Chat: chat,
		Consent: store.Consent{Subscribed: true}, Score: 10, Segment: "cold", Tags: []string{"promo"},
		Vars: map[string]any{"budget": 50000.0, "city": "Казань"}, CreatedAt: t0, LastInboundAt: t0.Add(time.Hour),
		Contact: store.Contact{FirstName: "Anna", Source: "ads"}}
	if mod != nil {
		mod(&c)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestMatch(t *testing.T) {
	schema := eval.NewSchema([]eval.Var{{Name: "budget", Type: eval.TypeNumber}, {Name: "city", Type: eval.TypeString}})
	base := conv("1", nil)
	cases := []struct {
		name string
		f    store.SegmentFilter
		c    store.Conversation
		want bool
	}{
		{"empty filter takes everyone", store.SegmentFilter{}, base, true},
		{"lead segment", store.SegmentFilter{Segments: []string{"hot", "warm"}}, base, false},
		{"never scored counts as cold", store.SegmentFilter{Segments: []string{"cold"}}, conv("2", func(c *store.Conversation) { c.Segment = "" }), true},
		{"every tag", store.SegmentFilter{Tags: []string{"promo", "vip"}}, base, false},
		{"tags present", store.SegmentFilter{Tags: []string{"promo"}}, base, true},
		{"score range inclusive", store.SegmentFilter{ScoreMin: ptr(10.0), ScoreMax: ptr(10.0)}, base, true},
		{"score below", store.SegmentFilter{ScoreMin: ptr(30.0)}, base, false},
		{"channel", store.SegmentFilter{Channels: []string{"web"}}, base, false},
		{"source", store.SegmentFilter{Source: "ADS"}, base, true},
		{"other source", store.SegmentFilter{Source: "seo"}, base, false},
		{"first seen after", store.SegmentFilter{FirstSeenFrom: ptr(t0.Add(time.Minute))}, base, false},
		{"last seen within", store.SegmentFilter{LastSeenFrom: ptr(t0), LastSeenTo: ptr(t0.Add(2 * time.Hour))}, base, true},
		{"expression over variables", store.SegmentFilter{Expr: `budget >= 40000 && city == "Казань"`}, base, true},
		{"expression false", store.SegmentFilter{Expr: `budget > 100000`}, base, false},
		{"goal not reached", store.SegmentFilter{Goals: []string{"lead"}}, base, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(tc.f, schema)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(&tc.c); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompileRefusesBadFilters(t *testing.T) {
	schema := eval.NewSchema([]eval.Var{{Name: "budget", Type: eval.TypeNumber}})
	_, err := Compile(store.SegmentFilter{Segments: []string{"lukewarm"}, ScoreMin: ptr(5.0), ScoreMax: ptr(1.0),
		Expr: "budjet > 1"}, schema)
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %v is not a filter error", err)
	}
	fields := map[string]bool{}
	for _, p := range e.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{"segments", "score_min", "expr"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s: %v", f, e.Problems)
		}
	}
	if _, err := Compile(store.SegmentFilter{Expr: `"a" + 1`}, schema); err == nil {
		t.Error("an expression that does not type-check compiled")
	}
}

func TestCountContactsWithGoals(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "v.db"), &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	for i, mod := range []func(c *store.Conversation){
		nil,
		func(c *store.Conversation) { c.Consent.Subscribed = false },
		func(c *store.Conversation) { c.Blocked = true },
		func(c *store.Conversation) { c.Tags = nil },
	} {
		c := conv(string(rune('a'+i)), mod)
		if err := st.CreateConversation(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Compile(store.SegmentFilter{Tags: []string{"promo"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := CountContacts(ctx, st, "b", m)
	if err != nil {
		t.Fatal(err)
	}
	if n != (Count{Members: 3, Reachable: 1, Contacts: 4}) {
		t.Fatalf("count %+v, want 3 members of 4 contacts, 1 reachable", n)
	}
	if err := st.AppendEvents(ctx, store.Event{ID: "g1", Bot: "b", Type: "goal", Conversation: store.ConversationID("b", "telegram", "b"),
		At: t0, Data: map[string]any{"name": "lead"}}); err != nil {
		t.Fatal(err)
	}
	m, _ = Compile(store.SegmentFilter{Goals: []string{"lead"}}, nil)
	if n, err = CountContacts(ctx, st, "b", m); err != nil || n.Members != 1 || n.Reachable != 0 {
		t.Fatalf("goal count %+v (%v), want the one unsubscribed member", n, err)
	}
}
