package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) leases(t *testing.T) {
	t.Run("renew, get, expire and drop", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.GetLease(ctx, "p1")
		wantErr(t, err, store.ErrNotFound, "lease never renewed")
		must(t, st.RenewLease(ctx, "p1", at(3*time.Second)), "renew p1")
		must(t, st.RenewLease(ctx, "p2", at(2*time.Second)), "renew p2")
		must(t, st.RenewLease(ctx, "p3", at(time.Hour)), "renew p3")
		must(t, st.RenewLease(ctx, "p1", at(4*time.Second)), "renew p1 again")
		l, err := st.GetLease(ctx, "p1")
		must(t, err, "get p1")
		if l.Owner != "p1" || !l.Until.Equal(at(4*time.Second)) {
			t.Fatalf("lease %+v, want p1 until %s", l, at(4*time.Second))
		}
		exp, err := st.ExpiredLeases(ctx, at(5*time.Second), 10)
		must(t, err, "expired")
		if got := ids(exp, func(l store.Lease) string { return l.Owner }); !slices.Equal(got, []string{"p2", "p1"}) {
			t.Fatalf("expired at +5s: %q, want [p2 p1] (longest ended first)", got)
		}
		exp, err = st.ExpiredLeases(ctx, at(5*time.Second), 1)
		must(t, err, "expired, limit 1")
		if len(exp) != 1 || exp[0].Owner != "p2" {
			t.Fatalf("expired with limit 1: %+v", exp)
		}
		// p1 comes back before its lease is dropped: the drop keeps it.
		must(t, st.RenewLease(ctx, "p1", at(10*time.Second)), "p1 renews")
		must(t, st.DropLease(ctx, "p1", at(4*time.Second)), "drop stale p1")
		if _, err := st.GetLease(ctx, "p1"); err != nil {
			t.Fatalf("a renewed lease was dropped: %v", err)
		}
		must(t, st.DropLease(ctx, "p2", at(2*time.Second)), "drop p2")
		_, err = st.GetLease(ctx, "p2")
		wantErr(t, err, store.ErrNotFound, "dropped lease")
		must(t, st.DropLease(ctx, "p2", at(2*time.Second)), "drop p2 again")
		exp, err = st.ExpiredLeases(ctx, at(5*time.Second), 10)
		must(t, err, "expired after drops")
		if len(exp) != 0 {
			t.Fatalf("expired after drops: %+v", exp)
		}
	})
}

func (s *suite) outboxes(t *testing.T) {
	t.Run("find outboxes by owner follows the writes", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var want []string
		for i := range 7 {
			c := sampleConversation("b1", "telegram", pad(i))
			c.Outbox = []store.OutMessage{{ID: "a", Owner: "p1"}, {ID: "b", Owner: "p2"}}
			if i%2 == 1 {
				c.Outbox = []store.OutMessage{{ID: "a", Owner: "p2"}}
			} else {
				want = append(want, c.ID)
			}
			must(t, st.CreateConversation(ctx, c), "create")
		}
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			items, next, err := st.FindOutboxes(ctx, "p1", after, 2)
			must(t, err, "find")
			got = append(got, ids(items, func(c store.Conversation) string { return c.ID })...)
			if next == "" {
				break
			}
			after = next
		}
		checkPaging(t, "outboxes of p1", got, want)

		// Adopted by p3: no longer p1's.
		c, err := st.GetConversation(ctx, want[0])
		must(t, err, "get")
		c.Outbox[0].Owner = "p3"
		must(t, st.ReplaceConversation(ctx, c), "replace")
		items, _, err := st.FindOutboxes(ctx, "p1", "", 100)
		must(t, err, "find after adoption")
		if got := ids(items, func(c store.Conversation) string { return c.ID }); slices.Contains(got, want[0]) || len(got) != len(want)-1 {
			t.Fatalf("outboxes of p1 after %s was adopted: %q", want[0], got)
		}
		items, _, err = st.FindOutboxes(ctx, "p3", "", 100)
		must(t, err, "find p3")
		if len(items) != 1 || items[0].ID != want[0] || items[0].Outbox[0].Owner != "p3" {
			t.Fatalf("outboxes of p3: %+v", items)
		}
	})

	t.Run("stored events are found by bot, id and time", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.AppendEvents(ctx,
			store.Event{ID: "c1:u1:0/sent", Bot: "b1", Type: "sent", Conversation: "c1", At: at(time.Second)},
			store.Event{ID: "c1:u1:1/failed", Bot: "b1", Type: "failed", Conversation: "c1", At: at(time.Second)},
		), "append")
		got, err := st.StoredEvents(ctx, []store.EventKey{
			{Bot: "b1", ID: "c1:u1:0/sent", At: at(time.Second)},
			{Bot: "b1", ID: "c1:u1:1/sent", At: at(time.Second)},
			{Bot: "b1", ID: "c1:u1:1/failed", At: at(time.Second)},
			{Bot: "b1", ID: "c1:u2:0/sent", At: at(2 * time.Second)},
		})
		must(t, err, "stored events")
		slices.Sort(got)
		if want := []string{"c1:u1:0/sent", "c1:u1:1/failed"}; !slices.Equal(got, want) {
			t.Fatalf("stored %q, want %q", got, want)
		}
		got, err = st.StoredEvents(ctx, nil)
		must(t, err, "no keys")
		if len(got) != 0 {
			t.Fatalf("no keys found %q", got)
		}
	})
}
