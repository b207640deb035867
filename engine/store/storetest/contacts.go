package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// contacts checks the contacts table: every sort order pages through all
// matching contacts exactly once in order, the filters and the search
// select what they say, and active contacts are counted.
func (s *suite) contacts(t *testing.T) {
	st := s.newStore(t)
	ctx := ctxFor(t)
	n := s.cfg.Items
	var all []store.Conversation
	for i := 0; i < n; i++ {
		c := store.Conversation{ID: store.ConversationID("shop", "telegram", fmt.Sprint(i)), Bot: "shop", Channel: "telegram", Chat: fmt.Sprint(i),
			Contact: store.Contact{FirstName: fmt.Sprintf("Имя%d", i), Username: fmt.Sprintf("user%d", i), Source: []string{"", "ads", "vk"}[i%3]},
			Status:  []store.Status{store.StatusWaiting, store.StatusHandoff, store.StatusEnded}[i%3],
			Score:   float64((i * 7) % 23), Segment: []string{"cold", "warm", "hot"}[(i*7)%23/8],
			CreatedAt:     at(time.Duration(i) * time.Minute),
			LastInboundAt: at(time.Duration((i*37)%n) * time.Hour),
			Vars:          map[string]any{"email": fmt.Sprintf("lead%d@example.com", i)},
		}
		if i%4 == 0 {
			c.Tags = []string{"vip"}
		}
		if i%5 == 0 {
			c.Channel = "web"
			c.ID = store.ConversationID("shop", "web", fmt.Sprint(i))
		}
		must(t, st.CreateConversation(ctx, &c), "create")
		all = append(all, c)
	}
	other := store.Conversation{ID: "other:telegram:1", Bot: "other", Channel: "telegram", Chat: "1", LastInboundAt: at(time.Hour)}
	must(t, st.CreateConversation(ctx, &other), "create another bot's")
	// A conversation that changes moves in the sort orders, once.
	all[0].Score, all[0].LastInboundAt, all[0].Segment = 22, at(time.Duration(n+5)*time.Hour), "hot"
	must(t, st.ReplaceConversation(ctx, &all[0]), "replace")

	page := func(q store.ContactQuery) []string {
		t.Helper()
		var ids []string
		for i := 0; ; i++ {
			items, next, err := st.ListContacts(ctx, q)
			must(t, err, "list contacts")
			if len(items) > q.Limit {
				t.Fatalf("page of %d, limit %d", len(items), q.Limit)
			}
			for _, c := range items {
				ids = append(ids, c.ID)
				if len(c.State) != 0 {
					t.Fatalf("contact %s carries its engine state", c.ID)
				}
			}
			if next == "" {
				return ids
			}
			if i > n {
				t.Fatal("paging does not end")
			}
			q.Cursor = next
		}
	}
	want := func(keep func(c *store.Conversation) bool, less func(a, b *store.Conversation) int) []string {
		var cs []*store.Conversation
		for i := range all {
			if keep == nil || keep(&all[i]) {
				cs = append(cs, &all[i])
			}
		}
		slices.SortFunc(cs, func(a, b *store.Conversation) int {
			if c := less(a, b); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		return ids
	}
	byTime := func(f func(c *store.Conversation) time.Time, desc bool) func(a, b *store.Conversation) int {
		return func(a, b *store.Conversation) int {
			c := f(a).Compare(f(b))
			if desc {
				return -c
			}
			return c
		}
	}
	seen := func(c *store.Conversation) time.Time { return c.LastInboundAt }
	first := func(c *store.Conversation) time.Time { return c.CreatedAt }
	desc := func(less func(a, b *store.Conversation) int) func(a, b *store.Conversation) int {
		return func(a, b *store.Conversation) int { return -less(a, b) }
	}
	byScore := func(a, b *store.Conversation) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return 0
	}
	min5, max10 := 5.0, 10.0
	cases := []struct {
		name string
		q    store.ContactQuery
		keep func(c *store.Conversation) bool
		less func(a, b *store.Conversation) int
	}{
		{"newest first", store.ContactQuery{}, nil, byTime(seen, true)},
		{"last seen ascending", store.ContactQuery{Sort: "last_seen"}, nil, byTime(seen, false)},
		{"first seen descending", store.ContactQuery{Sort: "-first_seen"}, nil, byTime(first, true)},
		{"score descending", store.ContactQuery{Sort: "-score"}, nil, desc(func(a, b *store.Conversation) int {
			if c := byScore(a, b); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})},
		{"score ascending", store.ContactQuery{Sort: "score"}, nil, byScore},
		{"segment", filtered(t, store.SegmentFilter{Segments: []string{"hot"}}), func(c *store.Conversation) bool { return c.Segment == "hot" }, byTime(seen, true)},
		{"tag", filtered(t, store.SegmentFilter{Tags: []string{"vip"}}), func(c *store.Conversation) bool { return c.HasTag("vip") }, byTime(seen, true)},
		{"status and source", filtered(t, store.SegmentFilter{Statuses: []store.Status{store.StatusHandoff}, Source: "ads"}),
			func(c *store.Conversation) bool { return c.Status == store.StatusHandoff && c.Contact.Source == "ads" }, byTime(seen, true)},
		{"channel", filtered(t, store.SegmentFilter{Channels: []string{"web"}}), func(c *store.Conversation) bool { return c.Channel == "web" }, byTime(seen, true)},
		{"score range", sorted(filtered(t, store.SegmentFilter{ScoreMin: &min5, ScoreMax: &max10}), "-score"),
			func(c *store.Conversation) bool { return c.Score >= 5 && c.Score <= 10 }, desc(func(a, b *store.Conversation) int {
				if c := byScore(a, b); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			})},
		{"last seen within, inclusive", filtered(t, store.SegmentFilter{LastSeenFrom: ptr(at(10 * time.Hour)), LastSeenTo: ptr(at(40 * time.Hour))}),
			func(c *store.Conversation) bool {
				return !c.LastInboundAt.Before(at(10*time.Hour)) && !c.LastInboundAt.After(at(40*time.Hour))
			}, byTime(seen, true)},
		{"search a variable", store.ContactQuery{Search: "LEAD1"}, func(c *store.Conversation) bool {
			return strings.Contains(c.Vars["email"].(string), "lead1")
		}, byTime(seen, true)},
		{"search a name", store.ContactQuery{Search: "имя2"}, func(c *store.Conversation) bool {
			return strings.HasPrefix(c.Contact.FirstName, "Имя2")
		}, byTime(seen, true)},
	}
	for _, c := range cases {
		q := c.q
		q.Bot, q.Limit = "shop", s.cfg.PageSize
		got := page(q)
		w := want(c.keep, c.less)
		if c.less != nil && len(c.q.Sort) > 0 && strings.TrimPrefix(c.q.Sort, "-") == "score" {
			// Ties by score go by id in the sort's direction.
			w = want(c.keep, c.less)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: got %d contacts %v, want %d %v", c.name, len(got), head(got), len(w), head(w))
		}
	}
	if _, _, err := st.ListContacts(ctx, store.ContactQuery{Bot: "shop", Sort: "name"}); err == nil {
		t.Error("an unknown sort was accepted")
	}
	if _, _, err := st.ListContacts(ctx, store.ContactQuery{Bot: "shop", Cursor: "!!"}); err == nil {
		t.Error("a broken cursor was accepted")
	}
	since := at(time.Duration(n-10) * time.Hour)
	var active int64
	for i := range all {
		if !all[i].LastInboundAt.Before(since) {
			active++
		}
	}
	got, err := st.CountActive(ctx, "shop", since)
	must(t, err, "count active")
	if got != active {
		t.Errorf("active since %v = %d, want %d", since, got, active)
	}
}

func head(ids []string) []string {
	if len(ids) > 6 {
		return append(slices.Clone(ids[:6]), "…")
	}
	return ids
}

// filtered is a query with f compiled as the contacts API compiles it.
func filtered(t *testing.T, f store.SegmentFilter) store.ContactQuery {
	t.Helper()
	m, err := segment.Compile(f, nil)
	if err != nil {
		t.Fatalf("compile %+v: %v", f, err)
	}
	return store.ContactQuery{Filter: m}
}

func sorted(q store.ContactQuery, by string) store.ContactQuery {
	q.Sort = by
	return q
}

func ptr[T any](v T) *T { return &v }
