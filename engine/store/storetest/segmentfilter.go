package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// segmentFilter checks that one filter selects the same people wherever it
// is asked: the contacts table (ListContacts, every sort order, paged) and
// a segment's count (segment.CountContacts over ScanContacts) both agree
// with what the test works out on its own, for every kind of filter.
func (s *suite) segmentFilter(t *testing.T) {
	st, ctx := s.newStore(t), ctxFor(t)
	n := min(s.cfg.Items, 60)
	var all []store.Conversation
	for i := range n {
		c := store.Conversation{ID: store.ConversationID("shop", "telegram", pad(i)), Bot: "shop", Channel: "telegram", Chat: pad(i),
			Contact:       store.Contact{FirstName: fmt.Sprintf("Имя%d", i), Source: []string{"", "Ads", "ads", "vk"}[i%4]},
			Status:        []store.Status{store.StatusBot, store.StatusWaiting, store.StatusHandoff, store.StatusEnded}[i%4],
			Score:         float64(i % 17),
			Segment:       []string{"", "cold", "warm", "hot"}[(i/2)%4],
			Consent:       store.Consent{Subscribed: i%6 != 0},
			CreatedAt:     at(time.Duration(i) * time.Hour),
			LastInboundAt: at(time.Duration(i+(i*13)%40) * time.Hour),
			Vars:          map[string]any{"budget": float64(i * 1000)},
		}
		if i%7 == 0 {
			// Never wrote: last seen when the conversation was made.
			c.LastInboundAt = time.Time{}
		}
		if i%2 == 0 {
			c.Tags = []string{"vip"}
		}
		if i%3 == 0 {
			c.Tags = append(c.Tags, "buyer")
		}
		if i%5 == 0 {
			c.Channel = "web"
			c.ID = store.ConversationID("shop", "web", pad(i))
		}
		must(t, st.CreateConversation(ctx, &c), "create")
		all = append(all, c)
	}
	var goals []store.Event
	for i := 0; i < n; i += 4 {
		goals = append(goals, store.Event{ID: "g" + pad(i), Bot: "shop", Type: "goal", Conversation: all[i].ID,
			At: at(time.Duration(i) * time.Hour), Data: map[string]any{"name": "lead"}})
	}
	must(t, st.AppendEvents(ctx, goals...), "goal events")
	other := store.Conversation{ID: "other:telegram:1", Bot: "other", Channel: "telegram", Chat: "1", Segment: "hot",
		Tags: []string{"vip"}, Status: store.StatusBot, CreatedAt: at(time.Hour), LastInboundAt: at(time.Hour)}
	must(t, st.CreateConversation(ctx, &other), "create another bot's")

	lastSeen := func(c *store.Conversation) time.Time {
		if c.LastInboundAt.IsZero() {
			return c.CreatedAt
		}
		return c.LastInboundAt
	}
	within := func(v, lo, hi time.Time) bool { return !v.Before(lo) && !v.After(hi) }
	lo, hi := at(12*time.Hour), at(30*time.Hour)
	three, nine := 3.0, 9.0
	cases := []struct {
		name string
		f    store.SegmentFilter
		keep func(i int, c *store.Conversation) bool
	}{
		{"nothing", store.SegmentFilter{}, func(int, *store.Conversation) bool { return true }},
		{"lead segment hot or warm", store.SegmentFilter{Segments: []string{"hot", "warm"}},
			func(_ int, c *store.Conversation) bool { return c.Segment == "hot" || c.Segment == "warm" }},
		{"cold takes the never scored", store.SegmentFilter{Segments: []string{"cold"}},
			func(_ int, c *store.Conversation) bool { return c.Segment == "cold" || c.Segment == "" }},
		{"one tag", store.SegmentFilter{Tags: []string{"buyer"}}, func(i int, _ *store.Conversation) bool { return i%3 == 0 }},
		{"every tag", store.SegmentFilter{Tags: []string{"vip", "buyer"}}, func(i int, _ *store.Conversation) bool { return i%6 == 0 }},
		{"score range, inclusive", store.SegmentFilter{ScoreMin: &three, ScoreMax: &nine},
			func(_ int, c *store.Conversation) bool { return c.Score >= 3 && c.Score <= 9 }},
		{"score from", store.SegmentFilter{ScoreMin: &nine}, func(_ int, c *store.Conversation) bool { return c.Score >= 9 }},
		{"channel", store.SegmentFilter{Channels: []string{"web"}}, func(_ int, c *store.Conversation) bool { return c.Channel == "web" }},
		{"status", store.SegmentFilter{Statuses: []store.Status{store.StatusHandoff, store.StatusEnded}},
			func(_ int, c *store.Conversation) bool {
				return c.Status == store.StatusHandoff || c.Status == store.StatusEnded
			}},
		{"source ignores case", store.SegmentFilter{Source: "ADS"},
			func(_ int, c *store.Conversation) bool { return strings.EqualFold(c.Contact.Source, "ads") }},
		{"first seen within", store.SegmentFilter{FirstSeenFrom: &lo, FirstSeenTo: &hi},
			func(_ int, c *store.Conversation) bool { return within(c.CreatedAt, lo, hi) }},
		{"last seen within, the silent by creation", store.SegmentFilter{LastSeenFrom: &lo, LastSeenTo: &hi},
			func(_ int, c *store.Conversation) bool { return within(lastSeen(c), lo, hi) }},
		{"last seen from", store.SegmentFilter{LastSeenFrom: &hi},
			func(_ int, c *store.Conversation) bool { return !lastSeen(c).Before(hi) }},
		{"goal reached", store.SegmentFilter{Goals: []string{"lead"}}, func(i int, _ *store.Conversation) bool { return i%4 == 0 }},
		{"expression", store.SegmentFilter{Expr: "budget >= 20000 && score < 10"},
			func(i int, c *store.Conversation) bool { return i*1000 >= 20000 && c.Score < 10 }},
		{"all at once", store.SegmentFilter{Segments: []string{"cold", "hot"}, Tags: []string{"vip"}, ScoreMin: &three,
			Channels: []string{"telegram"}, Statuses: []store.Status{store.StatusBot, store.StatusHandoff}, LastSeenFrom: &lo},
			func(i int, c *store.Conversation) bool {
				return c.Segment != "warm" && i%2 == 0 && c.Score >= 3 && c.Channel == "telegram" &&
					(c.Status == store.StatusBot || c.Status == store.StatusHandoff) && !lastSeen(c).Before(lo)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			reachable := 0
			for i := range all {
				if tc.keep(i, &all[i]) {
					want = append(want, all[i].ID)
					if all[i].Consent.Subscribed {
						reachable++
					}
				}
			}
			slices.Sort(want)
			m, err := segment.Compile(tc.f, eval.NewSchema([]eval.Var{{Name: "budget", Type: eval.TypeNumber}}))
			must(t, err, "compile")
			must(t, m.LoadGoals(ctx, st, "shop"), "load goals")
			count, err := segment.CountContacts(ctx, st, "shop", m)
			must(t, err, "count")
			if count.Members != len(want) || count.Reachable != reachable || count.Contacts != n {
				t.Errorf("segment count = %+v, want %d members (%d reachable) of %d", count, len(want), reachable, n)
			}
			for _, sort := range []string{"-last_seen", "first_seen", "-score"} {
				var got []string
				q := store.ContactQuery{Bot: "shop", Filter: m, Sort: sort, Limit: 7}
				for pages := 0; ; pages++ {
					items, next, err := st.ListContacts(ctx, q)
					must(t, err, "list contacts")
					for _, c := range items {
						got = append(got, c.ID)
					}
					if next == "" || pages > n {
						break
					}
					q.Cursor = next
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("contacts by %s: got %d %v, want %d %v", sort, len(got), head(got), len(want), head(want))
				}
			}
		})
	}
}
