package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func sampleConversation(bot, channel, chat string) *store.Conversation {
	return &store.Conversation{
		ID:      store.ConversationID(bot, channel, chat),
		Bot:     bot,
		Channel: channel,
		Chat:    chat,
		Contact: store.Contact{FirstName: "Анна", LastName: "Smith", Username: "anna", Language: "ru", Phone: "+79990000000"},
		Consent: store.Consent{Subscribed: true, At: at(-time.Hour), Source: "start"},
		FlowID:  "main", FlowVersion: 3, Node: "ask_name", Status: store.StatusWaiting,
		Score: 12.5, Segment: "warm", Tags: []string{"vip", "promo"},
		Vars:  map[string]any{"name": "Anna", "age": 30.0, "agreed": true},
		State: []byte{0, 1, 2, 0xff, 'x'},
		Outbox: []store.OutMessage{{ID: "o1", Kind: "text", Text: "Hi", Attempts: 1, NotBefore: at(time.Minute),
			Buttons: []store.Button{{Label: "Yes", Payload: "yes"}, {Label: "No", Payload: "no"}}},
			// An item carrying its change's logs until its delivery.
			{ID: "o2", Text: "Your name?", Owner: "p1", At: at(time.Second), Logs: &store.PendingLogs{
				Messages: []store.Message{{ID: "m1", ConversationID: "c", Bot: bot, Direction: store.DirectionIn, Text: "Anna", At: at(time.Second)}},
				Events: []store.Event{{ID: "e1", Bot: bot, Flow: "main", FlowVersion: 3, Node: "ask_name", Type: "answer",
					Conversation: "c", Channel: channel, At: at(time.Second), Data: map[string]any{"name": "name", "value": "Anna"}}},
			}}},
		RecentUpdates: []string{"u1", "u2"},
		Operator:      "op1",
		CreatedAt:     at(0), UpdatedAt: at(time.Second), LastInboundAt: at(time.Second),
	}
}

func (s *suite) conversations(t *testing.T) {
	t.Run("create then get returns every field", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		must(t, st.CreateConversation(ctx, c), "create")
		if c.Version != 1 {
			t.Fatalf("version after create = %d, want 1", c.Version)
		}
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		sameJSON(t, "conversation", got, c)
	})

	t.Run("get unknown id is ErrNotFound", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.GetConversation(ctx, "b1:telegram:nobody")
		wantErr(t, err, store.ErrNotFound, "get unknown")
	})

	t.Run("create existing id is ErrDuplicate and keeps the original", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		must(t, st.CreateConversation(ctx, c), "create")
		again := sampleConversation("b1", "telegram", "42")
		again.Node = "other"
		wantErr(t, st.CreateConversation(ctx, again), store.ErrDuplicate, "create twice")
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		if got.Node != "ask_name" || got.Version != 1 {
			t.Fatalf("original overwritten: node %q version %d", got.Node, got.Version)
		}
	})

	t.Run("replace stores the change and increments the version", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		must(t, st.CreateConversation(ctx, c), "create")
		c.Node, c.State, c.Outbox = "next", []byte("new state"), nil
		c.RecentUpdates = append(c.RecentUpdates, "u3")
		must(t, st.ReplaceConversation(ctx, c), "replace")
		if c.Version != 2 {
			t.Fatalf("version after replace = %d, want 2", c.Version)
		}
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		sameJSON(t, "replaced conversation", got, c)
	})

	t.Run("replace with a stale version is ErrVersionConflict", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		must(t, st.CreateConversation(ctx, c), "create")
		stale := *c
		c.Node = "first"
		must(t, st.ReplaceConversation(ctx, c), "first replace")
		stale.Node = "second"
		wantErr(t, st.ReplaceConversation(ctx, &stale), store.ErrVersionConflict, "stale replace")
		if stale.Version != 1 {
			t.Fatalf("losing replace changed the caller's version to %d", stale.Version)
		}
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		if got.Node != "first" || got.Version != 2 {
			t.Fatalf("stored node %q version %d, want first/2", got.Node, got.Version)
		}
	})

	t.Run("replace unknown id is ErrNotFound", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "ghost")
		c.Version = 1
		wantErr(t, st.ReplaceConversation(ctx, c), store.ErrNotFound, "replace unknown")
	})

	t.Run("commit writes the document with its transcript lines and events", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		line := func(id string, sec int) store.Message {
			return store.Message{ID: id, ConversationID: c.ID, Bot: "b1", Direction: store.DirectionBot,
				Text: "line " + id, At: at(time.Duration(sec) * time.Second)}
		}
		event := func(id string, sec int) store.Event {
			return store.Event{ID: id, Bot: "b1", Conversation: c.ID, Type: "node_entered",
				At: at(time.Duration(sec) * time.Second)}
		}
		must(t, st.CommitConversation(ctx, store.ConversationChange{Conversation: c, Create: true,
			Messages: []store.Message{line("in1", 1), line("out1", 1)}, Events: []store.Event{event("e1", 1)}}), "commit create")
		if c.Version != 1 {
			t.Fatalf("version after commit create = %d, want 1", c.Version)
		}
		c.Node = "next"
		// The retried line out1 is not written twice.
		must(t, st.CommitConversation(ctx, store.ConversationChange{Conversation: c,
			Messages: []store.Message{line("out1", 1), line("in2", 2)}, Events: []store.Event{event("e2", 2)}}), "commit replace")
		if c.Version != 2 {
			t.Fatalf("version after commit replace = %d, want 2", c.Version)
		}
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		sameJSON(t, "conversation", got, c)
		msgs, _, err := st.ListMessages(ctx, c.ID, "", 0)
		must(t, err, "list messages")
		if g := ids(msgs, func(m store.Message) string { return m.ID }); !slices.Equal(g, []string{"in1", "out1", "in2"}) {
			t.Fatalf("transcript %v, want [in1 out1 in2]", g)
		}
		evs, _, err := st.QueryEvents(ctx, store.EventQuery{Bot: "b1"})
		must(t, err, "query events")
		if g := ids(evs, func(e store.Event) string { return e.ID }); !slices.Equal(g, []string{"e1", "e2"}) {
			t.Fatalf("events %v, want [e1 e2]", g)
		}
	})

	t.Run("a commit that loses its conditional write writes no logs", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "42")
		must(t, st.CreateConversation(ctx, c), "create")
		stale := *c
		must(t, st.ReplaceConversation(ctx, c), "replace")
		logs := func(id string) store.ConversationChange {
			return store.ConversationChange{
				Messages: []store.Message{{ID: id, ConversationID: c.ID, Bot: "b1", Text: "lost", At: at(0)}},
				Events:   []store.Event{{ID: id, Bot: "b1", Conversation: c.ID, Type: "lost", At: at(0)}},
			}
		}
		ch := logs("stale")
		ch.Conversation = &stale
		wantErr(t, st.CommitConversation(ctx, ch), store.ErrVersionConflict, "commit stale")
		ch = logs("dup")
		ch.Conversation, ch.Create = sampleConversation("b1", "telegram", "42"), true
		wantErr(t, st.CommitConversation(ctx, ch), store.ErrDuplicate, "commit create existing")
		ch = logs("unknown")
		ch.Conversation = sampleConversation("b1", "telegram", "nobody")
		wantErr(t, st.CommitConversation(ctx, ch), store.ErrNotFound, "commit unknown")
		msgs, _, err := st.ListMessages(ctx, c.ID, "", 0)
		must(t, err, "list messages")
		evs, _, err := st.QueryEvents(ctx, store.EventQuery{Bot: "b1"})
		must(t, err, "query events")
		if len(msgs) != 0 || len(evs) != 0 {
			t.Fatalf("failed commits wrote %d lines and %d events, want none", len(msgs), len(evs))
		}
		if stale.Version != 1 {
			t.Fatalf("a failed commit changed the caller's version to %d", stale.Version)
		}
	})

	t.Run("two racing writers: exactly one wins", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "race")
		must(t, st.CreateConversation(ctx, c), "create")
		for round := 0; round < 10; round++ {
			cur, err := st.GetConversation(ctx, c.ID)
			must(t, err, "get")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for w := range 2 {
				mine := *cur
				mine.Node = []string{"left", "right"}[w]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[w] = st.ReplaceConversation(ctx, &mine)
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrVersionConflict):
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d writers won, want exactly 1 (errors %v)", round, wins, errs)
			}
			got, err := st.GetConversation(ctx, c.ID)
			must(t, err, "get")
			if got.Version != cur.Version+1 {
				t.Fatalf("round %d: version %d, want %d", round, got.Version, cur.Version+1)
			}
			winner := "left"
			if errs[0] != nil {
				winner = "right"
			}
			if got.Node != winner {
				t.Fatalf("round %d: stored node %q but the winner wrote %q", round, got.Node, winner)
			}
		}
	})

	t.Run("concurrent read-modify-write loses no update", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "counter")
		c.Score = 0
		must(t, st.CreateConversation(ctx, c), "create")
		var wg sync.WaitGroup
		errc := make(chan error, s.cfg.Writers)
		for range s.cfg.Writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := 0; done < s.cfg.Increments; {
					cur, err := st.GetConversation(ctx, c.ID)
					if err != nil {
						errc <- err
						return
					}
					cur.Score++
					err = st.ReplaceConversation(ctx, cur)
					switch {
					case err == nil:
						done++
					case errors.Is(err, store.ErrVersionConflict):
					default:
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("writer: %v", err)
		}
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		want := s.cfg.Writers * s.cfg.Increments
		if got.Score != float64(want) || got.Version != int64(want)+1 {
			t.Fatalf("score %v version %d, want %d and %d", got.Score, got.Version, want, want+1)
		}
	})

	t.Run("audience: only subscribed, not blocked, matching", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		mk := func(chat string, edit func(c *store.Conversation)) {
			c := sampleConversation("b1", "telegram", chat)
			c.Tags, c.Segment = nil, ""
			edit(c)
			must(t, st.CreateConversation(ctx, c), "create "+chat)
		}
		mk("a", func(c *store.Conversation) { c.Segment = "hot"; c.Tags = []string{"x"} })
		mk("b", func(c *store.Conversation) { c.Segment = "hot"; c.Consent.Subscribed = false })
		mk("c", func(c *store.Conversation) { c.Segment = "hot"; c.Blocked = true })
		mk("d", func(c *store.Conversation) { c.Segment = "cold"; c.Tags = []string{"x", "y"} })
		mk("e", func(c *store.Conversation) { c.Channel = "vk"; c.ID = "b1:vk:e"; c.Tags = []string{"y"} })
		mk("f", func(c *store.Conversation) { c.Bot = "b2"; c.ID = "b2:telegram:f"; c.Segment = "hot" })
		mk("g", func(c *store.Conversation) { c.Contact.Phone = "+100"; c.Contact.Username = "gus" })

		cases := []struct {
			name string
			q    store.AudienceQuery
			want []string
		}{
			{"whole bot", store.AudienceQuery{Bot: "b1"}, []string{"b1:telegram:a", "b1:telegram:d", "b1:telegram:g", "b1:vk:e"}},
			{"segment", store.AudienceQuery{Bot: "b1", Segment: "hot"}, []string{"b1:telegram:a"}},
			{"tag", store.AudienceQuery{Bot: "b1", Tag: "y"}, []string{"b1:telegram:d", "b1:vk:e"}},
			{"segment and tag", store.AudienceQuery{Bot: "b1", Segment: "cold", Tag: "x"}, []string{"b1:telegram:d"}},
			{"channel", store.AudienceQuery{Bot: "b1", Channel: "vk"}, []string{"b1:vk:e"}},
			{"contact phone", store.AudienceQuery{Bot: "b1", Phone: "+100"}, []string{"b1:telegram:g"}},
			{"contact username", store.AudienceQuery{Bot: "b1", Username: "gus"}, []string{"b1:telegram:g"}},
			{"other bot", store.AudienceQuery{Bot: "b2", Segment: "hot"}, []string{"b2:telegram:f"}},
			{"nothing", store.AudienceQuery{Bot: "b1", Segment: "none"}, nil},
		}
		for _, tc := range cases {
			got, next, err := st.FindAudience(ctx, tc.q)
			must(t, err, tc.name)
			if g := ids(got, func(c store.Conversation) string { return c.ID }); !slices.Equal(g, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
			}
			if next != "" {
				t.Errorf("%s: next cursor %q on the only page", tc.name, next)
			}
		}
	})

	t.Run("audience follows segment and tag changes", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := sampleConversation("b1", "telegram", "1")
		c.Segment, c.Tags = "warm", []string{"old"}
		must(t, st.CreateConversation(ctx, c), "create")
		c.Segment, c.Tags = "hot", []string{"new"}
		must(t, st.ReplaceConversation(ctx, c), "replace")
		for _, q := range []store.AudienceQuery{{Bot: "b1", Segment: "warm"}, {Bot: "b1", Tag: "old"}} {
			got, _, err := st.FindAudience(ctx, q)
			must(t, err, "find")
			if len(got) != 0 {
				t.Errorf("query %+v still finds the conversation after it changed", q)
			}
		}
		for _, q := range []store.AudienceQuery{{Bot: "b1", Segment: "hot"}, {Bot: "b1", Tag: "new"}} {
			got, _, err := st.FindAudience(ctx, q)
			must(t, err, "find")
			if len(got) != 1 {
				t.Errorf("query %+v finds %d conversations, want 1", q, len(got))
			}
		}
		c.Consent.Subscribed = false
		must(t, st.ReplaceConversation(ctx, c), "unsubscribe")
		got, _, err := st.FindAudience(ctx, store.AudienceQuery{Bot: "b1", Segment: "hot"})
		must(t, err, "find")
		if len(got) != 0 {
			t.Errorf("unsubscribed conversation is still in the audience")
		}
	})

	t.Run("audience pages by id without gaps or repeats", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var want []string
		for i := range s.cfg.Items {
			c := sampleConversation("b1", "telegram", pad(i))
			c.Segment = "all"
			if i%5 == 0 {
				c.Consent.Subscribed = false // holes inside pages
			} else {
				want = append(want, c.ID)
			}
			must(t, st.CreateConversation(ctx, c), "create")
		}
		for _, seg := range []string{"", "all"} {
			var got []string
			q := store.AudienceQuery{Bot: "b1", Segment: seg, Limit: s.cfg.PageSize}
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatal("paging does not end")
				}
				items, next, err := st.FindAudience(ctx, q)
				must(t, err, "find page")
				if len(items) > s.cfg.PageSize {
					t.Fatalf("page of %d items, limit %d", len(items), s.cfg.PageSize)
				}
				got = append(got, ids(items, func(c store.Conversation) string { return c.ID })...)
				if next == "" {
					break
				}
				q.After = next
			}
			checkPaging(t, "audience segment "+seg, got, want)
		}
	})

	t.Run("inbox lists newest activity first by status with paging", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var handoff, all []string // newest first
		for i := range s.cfg.Items {
			c := sampleConversation("b1", "telegram", pad(i))
			c.UpdatedAt = at(time.Duration(i%17) * time.Minute) // ties on purpose
			c.Status = store.StatusBot
			if i%3 == 0 {
				c.Status = store.StatusHandoff
			}
			must(t, st.CreateConversation(ctx, c), "create")
		}
		other := sampleConversation("b2", "telegram", "x")
		other.Status = store.StatusHandoff
		must(t, st.CreateConversation(ctx, other), "create other bot")
		// Expected order: UpdatedAt desc, then id desc.
		for m := 16; m >= 0; m-- {
			for i := s.cfg.Items - 1; i >= 0; i-- {
				if i%17 != m {
					continue
				}
				id := store.ConversationID("b1", "telegram", pad(i))
				all = append(all, id)
				if i%3 == 0 {
					handoff = append(handoff, id)
				}
			}
		}
		for _, tc := range []struct {
			status store.Status
			want   []string
		}{{store.StatusHandoff, handoff}, {"", all}} {
			var got []string
			q := store.InboxQuery{Bot: "b1", Status: tc.status, Limit: s.cfg.PageSize}
			for pages := 0; ; pages++ {
				if pages > len(tc.want) {
					t.Fatal("paging does not end")
				}
				items, next, err := st.ListInbox(ctx, q)
				must(t, err, "inbox page")
				for _, c := range items {
					if tc.status != "" && c.Status != tc.status {
						t.Fatalf("status %q listed under %q", c.Status, tc.status)
					}
				}
				got = append(got, ids(items, func(c store.Conversation) string { return c.ID })...)
				if next == "" {
					break
				}
				q.Cursor = next
			}
			checkPaging(t, "inbox "+string(tc.status), got, tc.want)
		}
	})

	t.Run("inbox follows status and activity changes", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		a := sampleConversation("b1", "web", "a")
		a.Status, a.UpdatedAt = store.StatusHandoff, at(time.Minute)
		b := sampleConversation("b1", "web", "b")
		b.Status, b.UpdatedAt = store.StatusHandoff, at(2*time.Minute)
		must(t, st.CreateConversation(ctx, a), "create a")
		must(t, st.CreateConversation(ctx, b), "create b")
		a.UpdatedAt = at(3 * time.Minute) // new activity moves a to the top
		must(t, st.ReplaceConversation(ctx, a), "touch a")
		items, _, err := st.ListInbox(ctx, store.InboxQuery{Bot: "b1", Status: store.StatusHandoff})
		must(t, err, "inbox")
		if g := ids(items, func(c store.Conversation) string { return c.ID }); !slices.Equal(g, []string{a.ID, b.ID}) {
			t.Fatalf("handoff inbox %v, want a then b", g)
		}
		b.Status = store.StatusBot // handed back to the bot
		must(t, st.ReplaceConversation(ctx, b), "hand back b")
		items, _, err = st.ListInbox(ctx, store.InboxQuery{Bot: "b1", Status: store.StatusHandoff})
		must(t, err, "inbox")
		if g := ids(items, func(c store.Conversation) string { return c.ID }); !slices.Equal(g, []string{a.ID}) {
			t.Fatalf("handoff inbox after hand-back %v, want only a", g)
		}
		items, _, err = st.ListInbox(ctx, store.InboxQuery{Bot: "b1", Status: store.StatusBot})
		must(t, err, "inbox")
		if len(items) != 1 || items[0].ID != b.ID || items[0].Version != 2 {
			t.Fatalf("bot inbox %+v, want b at version 2", ids(items, func(c store.Conversation) string { return c.ID }))
		}
	})
}
