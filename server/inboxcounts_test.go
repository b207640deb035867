package server

import (
	"context"
	"slices"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

// countsByWalking is what the inbox's badges say, computed the slow way:
// every open chat read and judged as the viewer sees it.
func countsByWalking(t *testing.T, st store.Store, id string, queues []string) inboxCounts {
	t.Helper()
	var out inboxCounts
	cursor := ""
	for {
		items, next, err := st.ListInbox(context.Background(), store.InboxQuery{Cursor: cursor, Limit: store.MaxLimit,
			Inbox: &store.InboxFilter{States: inboxStatuses["open"]}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range items {
			in := c.Inbox
			works := queues == nil || slices.Contains(queues, in.Queue)
			mine := in.State == store.InboxAssigned && in.Assignee == id
			if !works && !mine {
				continue
			}
			out.All++
			switch {
			case in.State == store.InboxUnassigned:
				out.Unassigned++
			case mine:
				out.Mine++
				out.UnreadMine += in.Unread
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

func TestInboxCountsStayRight(t *testing.T) {
	k := newInboxStack(t)
	admin := signIn(t, k.s, "alice", "password-alice")
	type person struct {
		c      *client
		id     string
		queues []string
	}
	people := map[string]person{
		"alice": {admin, "u-alice", nil},
		"olga":  {signIn(t, k.s, "olga", "password-olga"), "u-olga", []string{"sales"}},
		"ivan":  {signIn(t, k.s, "ivan", "password-ivan"), "u-ivan", []string{"sales"}},
		"petr":  {signIn(t, k.s, "petr", "password-petr"), "u-petr", []string{"support"}},
	}
	counts := func(who string) inboxCounts {
		m := people[who].c.want(200, "GET", "/api/inbox/counts", "")
		return inboxCounts{Mine: int(m["mine"].(float64)), Unassigned: int(m["unassigned"].(float64)),
			All: int(m["all"].(float64)), UnreadMine: int(m["unread_mine"].(float64))}
	}
	queues := func() map[string][2]int {
		out := map[string][2]int{}
		for _, q := range admin.want(200, "GET", "/api/inbox/operators", "")["queues"].([]any) {
			q := q.(map[string]any)
			out[q["name"].(string)] = [2]int{int(q["unassigned"].(float64)), int(q["open"].(float64))}
		}
		return out
	}
	check := func(step string, olga inboxCounts, qs map[string][2]int) {
		t.Helper()
		for who, p := range people {
			want := countsByWalking(t, k.st, p.id, p.queues)
			if got := counts(who); got != want {
				t.Fatalf("%s: %s's counts %+v, every chat read says %+v", step, who, got, want)
			}
		}
		if got := counts("olga"); got != olga {
			t.Fatalf("%s: olga's counts %+v, want %+v", step, got, olga)
		}
		if got := queues(); !mapsEqual(got, qs) {
			t.Fatalf("%s: queues %v, want %v", step, got, qs)
		}
	}

	a, b, c := k.handoff("801"), k.handoff("802"), k.handoff("803")
	check("three chats wait", inboxCounts{Unassigned: 3, All: 3}, map[string][2]int{"sales": {3, 3}, "support": {0, 0}})

	people["olga"].c.want(200, "POST", "/api/conversations/"+a+"/assign", `{"to":"me"}`)
	check("olga takes one", inboxCounts{Mine: 1, Unassigned: 2, All: 3}, map[string][2]int{"sales": {2, 3}, "support": {0, 0}})

	k.say("801", "ещё вопрос")
	k.say("801", "и ещё")
	check("the customer writes twice", inboxCounts{Mine: 1, Unassigned: 2, All: 3, UnreadMine: 2}, map[string][2]int{"sales": {2, 3}, "support": {0, 0}})

	people["olga"].c.want(200, "POST", "/api/conversations/"+a+"/assign", `{"to":"u-ivan"}`)
	check("transferred to ivan", inboxCounts{Unassigned: 2, All: 3}, map[string][2]int{"sales": {2, 3}, "support": {0, 0}})

	admin.want(200, "POST", "/api/conversations/"+b+"/assign", `{"queue":"support"}`)
	check("one moves to support", inboxCounts{Unassigned: 1, All: 2}, map[string][2]int{"sales": {1, 2}, "support": {1, 1}})

	admin.want(200, "POST", "/api/conversations/"+c+"/assign", `{"to":"u-olga","queue":"support"}`)
	check("olga gets a support chat", inboxCounts{Mine: 1, All: 2}, map[string][2]int{"sales": {0, 1}, "support": {1, 2}})

	people["ivan"].c.want(200, "POST", "/api/conversations/"+a+"/resolve", `{}`)
	check("ivan resolves", inboxCounts{Mine: 1, All: 1}, map[string][2]int{"sales": {0, 0}, "support": {1, 2}})

	k.say("801", "я передумал")
	check("the customer reopens it", inboxCounts{Mine: 1, Unassigned: 1, All: 2}, map[string][2]int{"sales": {1, 1}, "support": {1, 2}})

	people["olga"].c.want(200, "POST", "/api/conversations/"+c+"/resolve", `{}`)
	people["petr"].c.want(200, "POST", "/api/conversations/"+b+"/assign", `{"to":"me"}`)
	check("the rest is taken or closed", inboxCounts{Unassigned: 1, All: 1}, map[string][2]int{"sales": {1, 1}, "support": {0, 1}})
}

func mapsEqual(a, b map[string][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
