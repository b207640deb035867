package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) broadcasts(t *testing.T) {
	t.Run("segments are kept per bot", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		lo := 30.0
		sg := store.Segment{ID: "s1", Bot: "b1", Name: "Горячие", CreatedAt: at(0), UpdatedAt: at(0),
			Filter: store.SegmentFilter{Segments: []string{"hot"}, Tags: []string{"vip"}, ScoreMin: &lo, Expr: "budget > 100"}}
		must(t, st.PutSegment(ctx, sg), "put")
		must(t, st.PutSegment(ctx, store.Segment{ID: "s0", Bot: "b1", Name: "all"}), "put s0")
		must(t, st.PutSegment(ctx, store.Segment{ID: "s2", Bot: "b2", Name: "other bot"}), "put s2")
		got, err := st.GetSegment(ctx, "b1", "s1")
		must(t, err, "get")
		sameJSON(t, "segment", got, sg)
		_, err = st.GetSegment(ctx, "b2", "s1")
		wantErr(t, err, store.ErrNotFound, "get with another bot")
		list, err := st.ListSegments(ctx, "b1")
		must(t, err, "list")
		if ids := ids(list, func(s store.Segment) string { return s.ID }); !slices.Equal(ids, []string{"s0", "s1"}) {
			t.Fatalf("segments of b1: %v", ids)
		}
		sg.Name = "renamed"
		must(t, st.PutSegment(ctx, sg), "replace")
		if got, _ := st.GetSegment(ctx, "b1", "s1"); got == nil || got.Name != "renamed" {
			t.Fatalf("replaced segment: %+v", got)
		}
		must(t, st.DeleteSegment(ctx, "b1", "s1"), "delete")
		wantErr(t, st.DeleteSegment(ctx, "b1", "s1"), store.ErrNotFound, "delete again")
		_, err = st.GetSegment(ctx, "b1", "s1")
		wantErr(t, err, store.ErrNotFound, "get deleted")
	})

	t.Run("broadcast updates are conditional on rev", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		b := &store.Broadcast{ID: "bc1", Bot: "b1", Name: "news", Status: store.BroadcastDraft, CreatedAt: at(0),
			Variants: []store.BroadcastVariant{{Name: "A", Weight: 1, Text: "Hi {{ contact.first_name }}",
				Buttons: []store.BroadcastButton{{Label: "Go", Node: "offer"}}}},
			Window:   &store.QuietHours{Start: "10:00", End: "20:00"},
			Template: &store.BroadcastTemplate{Name: "news_digest", Language: "ru", Params: []string{"{{ contact.first_name }}"}}}
		must(t, st.CreateBroadcast(ctx, b), "create")
		if b.Rev != 1 {
			t.Fatalf("rev after create %d", b.Rev)
		}
		wantErr(t, st.CreateBroadcast(ctx, &store.Broadcast{ID: "bc1", Bot: "b1"}), store.ErrDuplicate, "create twice")
		stale := *b
		b.Status = store.BroadcastRunning
		b.Progress = store.BroadcastProgress{Total: 3, Sent: 2, Skipped: map[string]int{"no_consent": 1}, Variants: map[string]int{"A": 2}}
		must(t, st.UpdateBroadcast(ctx, b), "update")
		if b.Rev != 2 {
			t.Fatalf("rev after update %d", b.Rev)
		}
		stale.Status = store.BroadcastCancelled
		wantErr(t, st.UpdateBroadcast(ctx, &stale), store.ErrVersionConflict, "stale update")
		wantErr(t, st.UpdateBroadcast(ctx, &store.Broadcast{ID: "nope", Rev: 1}), store.ErrNotFound, "update unknown")
		got, err := st.GetBroadcast(ctx, "bc1")
		must(t, err, "get")
		sameJSON(t, "broadcast", got, b)

		must(t, st.CreateBroadcast(ctx, &store.Broadcast{ID: "bc2", Bot: "b1", Status: store.BroadcastDone, CreatedAt: at(time.Hour)}), "create bc2")
		must(t, st.CreateBroadcast(ctx, &store.Broadcast{ID: "bc3", Bot: "b2", Status: store.BroadcastScheduled, CreatedAt: at(time.Minute)}), "create bc3")
		list, err := st.ListBroadcasts(ctx, "b1")
		must(t, err, "list")
		if ids := ids(list, func(b store.Broadcast) string { return b.ID }); !slices.Equal(ids, []string{"bc2", "bc1"}) {
			t.Fatalf("broadcasts of b1 newest first: %v", ids)
		}
		active, err := st.ActiveBroadcasts(ctx)
		must(t, err, "active")
		if ids := ids(active, func(b store.Broadcast) string { return b.ID }); !slices.Equal(ids, []string{"bc1", "bc3"}) {
			t.Fatalf("active broadcasts: %v", ids)
		}
	})

	t.Run("contacts are scanned whatever their consent", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		n := min(s.cfg.Items, 60)
		var want []string
		for i := range n {
			c := sampleConversation("b1", "telegram", pad(i))
			c.Outbox = nil
			c.Consent.Subscribed = i%3 != 0
			c.Blocked = i%5 == 0
			must(t, st.CreateConversation(ctx, c), "create")
			want = append(want, c.ID)
		}
		must(t, st.CreateConversation(ctx, sampleConversation("b2", "telegram", "1")), "other bot")
		var got []string
		after := ""
		for {
			page, next, err := st.ScanContacts(ctx, "b1", after, 7)
			must(t, err, "scan")
			got = append(got, ids(page, func(c store.Conversation) string { return c.ID })...)
			if next == "" {
				break
			}
			after = next
		}
		checkPaging(t, "scan", got, want)
	})

	t.Run("receipts: by id, by broadcast, recent per conversation", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		var rs []store.Receipt
		for i := range 12 {
			conv := store.ConversationID("b1", "telegram", pad(i))
			rs = append(rs, store.Receipt{ID: store.ReceiptID("bc1", conv), Broadcast: "bc1", Bot: "b1",
				Conversation: conv, Variant: "A", Status: store.RecipientSending, At: at(time.Duration(i) * time.Second)})
		}
		must(t, st.PutReceipts(ctx, rs...), "put")
		// An older broadcast reached conversation 0 a day and ten days ago.
		c0 := rs[0].Conversation
		must(t, st.PutReceipts(ctx,
			store.Receipt{ID: store.ReceiptID("old", c0), Broadcast: "old", Bot: "b1", Conversation: c0, Status: store.RecipientSent, At: at(-24 * time.Hour)},
			store.Receipt{ID: store.ReceiptID("older", c0), Broadcast: "older", Bot: "b1", Conversation: c0, Status: store.RecipientSent, At: at(-240 * time.Hour)},
		), "put old")
		rs[3].Status, rs[3].At = store.RecipientSent, at(time.Hour)
		must(t, st.PutReceipts(ctx, rs[3]), "replace")

		got, err := st.GetReceipts(ctx, []string{rs[3].ID, "bc1/none", rs[5].ID})
		must(t, err, "get")
		slices.SortFunc(got, func(a, b store.Receipt) int { return compare(a.ID, b.ID) })
		sameJSON(t, "receipts", got, []store.Receipt{rs[3], rs[5]})

		var listed []string
		after := ""
		for {
			page, next, err := st.ListReceipts(ctx, "bc1", after, 5)
			must(t, err, "list")
			listed = append(listed, ids(page, func(r store.Receipt) string { return r.ID })...)
			if next == "" {
				break
			}
			after = next
		}
		checkPaging(t, "receipts of bc1", listed, ids(rs, func(r store.Receipt) string { return r.ID }))

		counts, err := st.CountRecentReceipts(ctx, []string{c0, rs[3].Conversation, "b1:telegram:none"}, at(-7*24*time.Hour), "bc1")
		must(t, err, "count")
		if len(counts) != 1 || counts[c0] != 1 {
			t.Fatalf("recent receipts except bc1: %v, want only %s: 1", counts, c0)
		}
		counts, err = st.CountRecentReceipts(ctx, []string{c0, rs[3].Conversation}, at(-7*24*time.Hour), "")
		must(t, err, "count all")
		if counts[c0] != 2 || counts[rs[3].Conversation] != 1 {
			t.Fatalf("recent receipts: %v (the moved receipt counts once)", counts)
		}
	})

	t.Run("send budget never grants more than its capacity", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		other := s.cfg.Replica(t, st)
		exp := time.Now().Add(time.Minute)
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := st
				if w%2 == 1 {
					h = other
				}
				for range 5 {
					n, err := h.TakeSendBudget(ctx, "b1:telegram:w1", 40, 3, exp)
					if err != nil {
						t.Errorf("take: %v", err)
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if total != 40 {
			t.Fatalf("6 takers × 5 × 3 wanted from a budget of 40 got %d, want 40", total)
		}
		n, err := st.TakeSendBudget(ctx, "b1:telegram:w2", 40, 50, exp)
		must(t, err, "take new window")
		if n != 40 {
			t.Fatalf("a fresh window granted %d of 50 wanted, want its capacity 40", n)
		}
		if n, _ := st.TakeSendBudget(ctx, fmt.Sprint("b1:telegram:w", 2), 40, 1, exp); n != 0 {
			t.Fatalf("a spent window granted %d", n)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
