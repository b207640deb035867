package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// inboxConv is a handed-off conversation of bot in queue, state and assignee,
// last active at at(d).
func inboxConv(bot, chat, queue string, state store.InboxState, assignee string, d time.Duration) *store.Conversation {
	c := sampleConversation(bot, "telegram", chat)
	c.Status = store.StatusHandoff
	c.Contact.FirstName = "Клиент " + chat
	c.UpdatedAt = at(d)
	c.Inbox = &store.Inbox{State: state, Queue: queue, Assignee: assignee, Unread: 2, HandoffAt: at(d - time.Minute),
		Note: "Budget 150000", HandoffNode: "human", Last: &store.InboxLast{Direction: store.DirectionIn, Text: "нужна доставка " + chat, At: at(d)}}
	if assignee != "" {
		c.Inbox.AssigneeName = "Op " + assignee
		c.Inbox.AssignedAt = at(d)
	}
	return c
}

func chats(cs []store.Conversation) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Chat)
	}
	return out
}

func (s *suite) inbox(t *testing.T) {
	t.Run("a conversation's inbox state round-trips", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		c := inboxConv("b1", "1", "sales", store.InboxAssigned, "u-a", time.Second)
		c.Inbox.WaitingSince, c.Inbox.FirstReplyAt, c.Inbox.CSAT, c.Inbox.AwaySentAt = at(2*time.Second), at(3*time.Second), 4, at(time.Minute)
		must(t, st.CreateConversation(ctx, c), "create")
		got, err := st.GetConversation(ctx, c.ID)
		must(t, err, "get")
		sameJSON(t, "inbox", got.Inbox, c.Inbox)
		msgs := []store.Message{
			{ID: c.ID + ":n", ConversationID: c.ID, Bot: "b1", Direction: store.DirectionNote, Text: "note", Operator: "u-a", Author: "Анна", At: at(time.Second)},
			{ID: c.ID + ":s", ConversationID: c.ID, Bot: "b1", Direction: store.DirectionSystem, Event: "assigned",
				Data: map[string]any{"user": "u-a", "auto": true}, At: at(2 * time.Second)},
		}
		must(t, st.AppendMessages(ctx, msgs...), "append")
		gotMsgs, _, err := st.ListMessages(ctx, c.ID, "", 10)
		must(t, err, "list messages")
		sameJSON(t, "note and system lines", gotMsgs, msgs)
	})

	t.Run("the inbox lists by state, queue, assignee, bot and search, newest first", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		for _, c := range []*store.Conversation{
			inboxConv("b1", "u1", "sales", store.InboxUnassigned, "", 1*time.Second),
			inboxConv("b1", "a1", "sales", store.InboxAssigned, "u-a", 2*time.Second),
			inboxConv("b1", "r1", "sales", store.InboxResolved, "", 3*time.Second),
			inboxConv("b1", "u2", "support", store.InboxUnassigned, "", 4*time.Second),
			inboxConv("b2", "u3", "sales", store.InboxUnassigned, "", 5*time.Second),
			inboxConv("b1", "a2", "support", store.InboxAssigned, "u-a", 6*time.Second),
		} {
			must(t, st.CreateConversation(ctx, c), "create")
		}
		plain := sampleConversation("b1", "telegram", "bot-only") // never handed off
		must(t, st.CreateConversation(ctx, plain), "create")
		open := []store.InboxState{store.InboxUnassigned, store.InboxAssigned}
		for _, tc := range []struct {
			name string
			bot  string
			f    store.InboxFilter
			want []string
		}{
			{"every state, every bot", "", store.InboxFilter{}, []string{"a2", "u3", "u2", "r1", "a1", "u1"}},
			{"open", "", store.InboxFilter{States: open}, []string{"a2", "u3", "u2", "a1", "u1"}},
			{"open of one bot", "b1", store.InboxFilter{States: open}, []string{"a2", "u2", "a1", "u1"}},
			{"unassigned in sales", "", store.InboxFilter{States: []store.InboxState{store.InboxUnassigned}, Queues: []string{"sales"}}, []string{"u3", "u1"}},
			{"open in two queues", "b1", store.InboxFilter{States: open, Queues: []string{"sales", "support"}}, []string{"a2", "u2", "a1", "u1"}},
			{"resolved", "", store.InboxFilter{States: []store.InboxState{store.InboxResolved}}, []string{"r1"}},
			{"mine", "", store.InboxFilter{States: open, Assignee: "u-a"}, []string{"a2", "a1"}},
			{"mine in a queue", "", store.InboxFilter{States: open, Assignee: "u-a", Queues: []string{"sales"}}, []string{"a1"}},
			{"nobody's", "", store.InboxFilter{States: open, Assignee: store.NoAssignee}, []string{"u3", "u2", "u1"}},
			{"search by name, any case", "", store.InboxFilter{Q: "КЛИЕНТ u2"}, []string{"u2"}},
			{"search by the last text", "", store.InboxFilter{Q: "доставка a1"}, []string{"a1"}},
			{"oldest first", "", store.InboxFilter{States: open, Oldest: true}, []string{"u1", "a1", "u2", "u3", "a2"}},
		} {
			f := tc.f
			items, next, err := st.ListInbox(ctx, store.InboxQuery{Bot: tc.bot, Inbox: &f, Limit: 50})
			must(t, err, tc.name)
			if got := chats(items); !slices.Equal(got, tc.want) || next != "" {
				t.Errorf("%s: got %v (next %q), want %v", tc.name, got, next, tc.want)
			}
		}
	})

	t.Run("inbox pages meet every chat once, across writes", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		n := s.cfg.Items / 5
		want := map[string]bool{}
		for i := range n {
			q := []string{"sales", "support", "vip"}[i%3]
			c := inboxConv("b1", fmt.Sprintf("c%03d", i), q, store.InboxUnassigned, "", time.Duration(i%7)*time.Second)
			must(t, st.CreateConversation(ctx, c), "create")
			if q != "vip" {
				want[c.Chat] = true
			}
		}
		for _, oldest := range []bool{false, true} {
			seen := map[string]bool{}
			cursor := ""
			var last *store.Conversation
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatal("paging does not end")
				}
				items, next, err := st.ListInbox(ctx, store.InboxQuery{Cursor: cursor, Limit: 7,
					Inbox: &store.InboxFilter{States: []store.InboxState{store.InboxUnassigned}, Queues: []string{"support", "sales"}, Oldest: oldest}})
				must(t, err, "page")
				for i := range items {
					c := &items[i]
					if seen[c.Chat] {
						t.Fatalf("%s listed twice", c.Chat)
					}
					seen[c.Chat] = true
					if last != nil {
						later := c.UpdatedAt.After(last.UpdatedAt) || (c.UpdatedAt.Equal(last.UpdatedAt) && c.ID > last.ID)
						if later != oldest {
							t.Fatalf("out of order: %s after %s (oldest %v)", c.ID, last.ID, oldest)
						}
					}
					last = c
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != len(want) {
				t.Fatalf("oldest=%v: listed %d chats, want %d", oldest, len(seen), len(want))
			}
		}
	})

	t.Run("concurrent takes of one chat have one winner, from every replica", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		other := s.cfg.Replica(t, st)
		c := inboxConv("b1", "hot", "sales", store.InboxUnassigned, "", time.Second)
		must(t, st.CreateConversation(ctx, c), "create")
		const takers = 8
		var wg sync.WaitGroup
		won := make([]bool, takers)
		errs := make([]error, takers)
		start := make(chan struct{})
		for i := range takers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := st
				if i%2 == 1 {
					h = other
				}
				cur, err := h.GetConversation(ctx, c.ID)
				if err != nil {
					errs[i] = err
					return
				}
				<-start
				if cur.Inbox.State != store.InboxUnassigned {
					return
				}
				cur.Inbox.State, cur.Inbox.Assignee = store.InboxAssigned, fmt.Sprintf("u-%d", i)
				err = h.ReplaceConversation(ctx, cur)
				switch {
				case err == nil:
					won[i] = true
				case !errors.Is(err, store.ErrVersionConflict):
					errs[i] = err
				}
			}()
		}
		time.Sleep(50 * time.Millisecond) // every taker has read version 1
		close(start)
		wg.Wait()
		winner := -1
		for i := range takers {
			must(t, errs[i], "take")
			if won[i] {
				if winner >= 0 {
					t.Fatalf("takers %d and %d both won", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("nobody won")
		}
		got, err := other.GetConversation(ctx, c.ID)
		must(t, err, "get")
		if got.Inbox.Assignee != fmt.Sprintf("u-%d", winner) || got.Version != 2 {
			t.Fatalf("stored %+v version %d, winner u-%d", got.Inbox, got.Version, winner)
		}
		n, err := st.CountAssigned(ctx, got.Inbox.Assignee)
		must(t, err, "count")
		if n != 1 {
			t.Fatalf("CountAssigned = %d, want 1", n)
		}
	})

	t.Run("assigned chats are counted per operator as they move", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var cs []*store.Conversation
		for i := range 3 {
			c := inboxConv("b1", fmt.Sprint(i), "sales", store.InboxAssigned, "u-a", time.Duration(i)*time.Second)
			must(t, st.CreateConversation(ctx, c), "create")
			cs = append(cs, c)
		}
		cs[0].Inbox.State, cs[0].Inbox.Assignee = store.InboxResolved, "u-a" // resolved chats do not count
		must(t, st.ReplaceConversation(ctx, cs[0]), "resolve")
		cs[1].Inbox.Assignee = "u-b"
		must(t, st.ReplaceConversation(ctx, cs[1]), "transfer")
		for user, want := range map[string]int{"u-a": 1, "u-b": 1, "u-c": 0} {
			n, err := st.CountAssigned(ctx, user)
			must(t, err, "count")
			if n != want {
				t.Errorf("CountAssigned(%s) = %d, want %d", user, n, want)
			}
		}
	})

	t.Run("presence keeps both times", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.TouchPresence(ctx, "u-b", at(2*time.Minute)), "touch")
		must(t, st.NoteAssigned(ctx, "u-b", at(time.Minute)), "note")
		must(t, st.NoteAssigned(ctx, "u-a", at(time.Second)), "note")
		must(t, st.TouchPresence(ctx, "u-b", at(3*time.Minute)), "touch again")
		ps, err := st.ListPresence(ctx)
		must(t, err, "list")
		sameJSON(t, "presence", ps, []store.Presence{
			{User: "u-a", LastAssignedAt: at(time.Second)},
			{User: "u-b", Until: at(3 * time.Minute), LastAssignedAt: at(time.Minute)},
		})
		must(t, st.TouchPresence(ctx, "u-b", time.Time{}), "sign out")
		ps, err = st.ListPresence(ctx)
		must(t, err, "list")
		if !ps[1].Until.IsZero() || !ps[1].LastAssignedAt.Equal(at(time.Minute)) {
			t.Fatalf("after sign-out: %+v", ps[1])
		}
	})

	t.Run("canned replies per bot with unique shortcuts", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		a := store.Canned{ID: "c1", Bot: "b1", Shortcut: "price", Title: "Прайс", Text: "{{ contact.first_name }}, цены", UpdatedAt: at(0), UpdatedBy: "anna"}
		b := store.Canned{ID: "c2", Bot: "b1", Shortcut: "hello", Text: "Здравствуйте", UpdatedAt: at(time.Second)}
		c := store.Canned{ID: "c1", Bot: "b2", Shortcut: "price", Text: "other bot", UpdatedAt: at(0)}
		for _, cr := range []store.Canned{a, b, c} {
			must(t, st.PutCanned(ctx, cr), "put")
		}
		got, err := st.ListCanned(ctx, "b1")
		must(t, err, "list")
		sameJSON(t, "b1's canned replies", got, []store.Canned{b, a})
		dup := store.Canned{ID: "c3", Bot: "b1", Shortcut: "price", Text: "x"}
		wantErr(t, st.PutCanned(ctx, dup), store.ErrDuplicate, "duplicate shortcut")
		a.Text = "changed"
		must(t, st.PutCanned(ctx, a), "replace keeps its own shortcut")
		one, err := st.GetCanned(ctx, "b1", "c1")
		must(t, err, "get")
		sameJSON(t, "replaced", one, a)
		must(t, st.DeleteCanned(ctx, "b1", "c1"), "delete")
		wantErr(t, st.DeleteCanned(ctx, "b1", "c1"), store.ErrNotFound, "delete twice")
		_, err = st.GetCanned(ctx, "b1", "c1")
		wantErr(t, err, store.ErrNotFound, "get deleted")
		if other, err := st.GetCanned(ctx, "b2", "c1"); err != nil || other.Text != "other bot" {
			t.Fatalf("another bot's reply with the same id: %+v %v", other, err)
		}
	})
}
