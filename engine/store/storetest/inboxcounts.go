package storetest

import (
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) inboxCounts(t *testing.T) {
	t.Run("the inbox counts follow takes, transfers, resolves and reopens", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		convs := map[string]*store.Conversation{}
		for _, c := range []*store.Conversation{
			inboxConv("b1", "u1", "sales", store.InboxUnassigned, "", 1*time.Second),
			inboxConv("b1", "u2", "sales", store.InboxUnassigned, "", 2*time.Second),
			inboxConv("b2", "u3", "support", store.InboxUnassigned, "", 3*time.Second),
			inboxConv("b1", "a1", "sales", store.InboxAssigned, "u-a", 4*time.Second),
			inboxConv("b1", "a2", "", store.InboxAssigned, "u-b", 5*time.Second),
			inboxConv("b1", "r1", "sales", store.InboxResolved, "", 6*time.Second),
		} {
			must(t, st.CreateConversation(ctx, c), "create")
			convs[c.Chat] = c
		}
		must(t, st.CreateConversation(ctx, sampleConversation("b1", "telegram", "bot-only")), "create")
		change := func(chat string, f func(in *store.Inbox)) {
			t.Helper()
			c := convs[chat]
			in := *c.Inbox
			f(&in)
			c.Inbox = &in
			c.UpdatedAt = c.UpdatedAt.Add(time.Minute)
			must(t, st.ReplaceConversation(ctx, c), "replace "+chat)
		}
		type q = store.QueueTally
		check := func(step, user string, queues, mine map[string]q) {
			t.Helper()
			got, err := st.CountQueues(ctx)
			must(t, err, "count queues "+step)
			sameJSON(t, step+": queues", got, queues)
			got, err = st.CountMine(ctx, user)
			must(t, err, "count mine "+step)
			sameJSON(t, step+": mine", got, mine)
		}
		// inboxConv gives every chat 2 unread messages.
		check("start", "u-a", map[string]q{"sales": {Unassigned: 2, Assigned: 1}, "support": {Unassigned: 1}, "": {Assigned: 1}},
			map[string]q{"sales": {Assigned: 1, Unread: 2}})
		check("someone with no chats", "u-z", map[string]q{"sales": {Unassigned: 2, Assigned: 1}, "support": {Unassigned: 1}, "": {Assigned: 1}},
			map[string]q{})

		change("u1", func(in *store.Inbox) { in.State, in.Assignee = store.InboxAssigned, "u-a" })
		check("take", "u-a", map[string]q{"sales": {Unassigned: 1, Assigned: 2}, "support": {Unassigned: 1}, "": {Assigned: 1}},
			map[string]q{"sales": {Assigned: 2, Unread: 4}})

		change("u1", func(in *store.Inbox) { in.Unread = 0 })
		check("read", "u-a", map[string]q{"sales": {Unassigned: 1, Assigned: 2}, "support": {Unassigned: 1}, "": {Assigned: 1}},
			map[string]q{"sales": {Assigned: 2, Unread: 2}})

		change("a1", func(in *store.Inbox) { in.Queue, in.Assignee = "support", "u-b" })
		check("transfer to a user in another queue", "u-a", map[string]q{"sales": {Unassigned: 1, Assigned: 1}, "support": {Unassigned: 1, Assigned: 1}, "": {Assigned: 1}},
			map[string]q{"sales": {Assigned: 1}})
		check("transfer, the other side", "u-b", map[string]q{"sales": {Unassigned: 1, Assigned: 1}, "support": {Unassigned: 1, Assigned: 1}, "": {Assigned: 1}},
			map[string]q{"support": {Assigned: 1, Unread: 2}, "": {Assigned: 1, Unread: 2}})

		change("u3", func(in *store.Inbox) { in.Queue = "sales" })
		check("transfer to a queue", "u-a", map[string]q{"sales": {Unassigned: 2, Assigned: 1}, "support": {Assigned: 1}, "": {Assigned: 1}},
			map[string]q{"sales": {Assigned: 1}})

		change("u1", func(in *store.Inbox) { in.State, in.Unread = store.InboxResolved, 0 })
		change("u2", func(in *store.Inbox) { in.State = store.InboxResolved })
		check("resolve", "u-a", map[string]q{"sales": {Unassigned: 1}, "support": {Assigned: 1}, "": {Assigned: 1}},
			map[string]q{})

		change("r1", func(in *store.Inbox) { in.State, in.Assignee, in.Unread = store.InboxUnassigned, "", 1 })
		check("reopen", "u-a", map[string]q{"sales": {Unassigned: 2}, "support": {Assigned: 1}, "": {Assigned: 1}},
			map[string]q{})

		change("a2", func(in *store.Inbox) { in.State, in.Assignee = store.InboxUnassigned, "" })
		check("unassign", "u-b", map[string]q{"sales": {Unassigned: 2}, "support": {Assigned: 1}, "": {Unassigned: 1}},
			map[string]q{"support": {Assigned: 1, Unread: 2}})
	})
}
