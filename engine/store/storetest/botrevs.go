package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) botRevs(t *testing.T) {
	t.Run("create once, then update only over the revision read", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		b := store.Bot{ID: "shop", Name: "Shop", CreatedAt: at(0)}
		must(t, st.CreateBot(ctx, &b), "create")
		if b.Rev != 1 {
			t.Fatalf("created with rev %d, want 1", b.Rev)
		}
		again := store.Bot{ID: "shop", Name: "Other"}
		wantErr(t, st.CreateBot(ctx, &again), store.ErrDuplicate, "create twice")

		// Two editors read revision 1; the first write wins, the second is
		// told rather than writing over it.
		first, err := st.GetBot(ctx, "shop")
		must(t, err, "get")
		second, err := st.GetBot(ctx, "shop")
		must(t, err, "get")
		first.Name = "Coffee shop"
		must(t, st.UpdateBot(ctx, first), "first edit")
		if first.Rev != 2 {
			t.Fatalf("rev after an update %d, want 2", first.Rev)
		}
		second.FlowID = "main"
		wantErr(t, st.UpdateBot(ctx, second), store.ErrVersionConflict, "second edit over a stale revision")
		got, err := st.GetBot(ctx, "shop")
		must(t, err, "get")
		if got.Name != "Coffee shop" || got.FlowID != "" || got.Rev != 2 {
			t.Fatalf("after the lost write: %+v", got)
		}
		// Read again and redo: both edits stand.
		got.FlowID = "main"
		must(t, st.UpdateBot(ctx, got), "second edit, again")
		got, err = st.GetBot(ctx, "shop")
		must(t, err, "get")
		if got.Name != "Coffee shop" || got.FlowID != "main" || got.Rev != 3 {
			t.Fatalf("both edits: %+v", got)
		}

		// PutBot (config as code) moves the revision on too.
		stale := *got
		got.Name = "From voronka.yaml"
		must(t, st.PutBot(ctx, *got), "put")
		wantErr(t, st.UpdateBot(ctx, &stale), store.ErrVersionConflict, "update over a revision PutBot replaced")
		if got, err := st.GetBot(ctx, "shop"); err != nil || got.Rev != 4 || got.Name != "From voronka.yaml" {
			t.Fatalf("after put: %+v %v", got, err)
		}

		ghost := store.Bot{ID: "ghost", Rev: 1}
		wantErr(t, st.UpdateBot(ctx, &ghost), store.ErrNotFound, "update of a missing bot")
		if _, err := st.GetBot(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a failed update created the bot: %v", err)
		}
	})

	t.Run("concurrent editors that retry on conflict lose nothing", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		other := s.cfg.Replica(t, st)
		b := store.Bot{ID: "shop", Name: "Shop"}
		must(t, st.CreateBot(ctx, &b), "create")
		const editors = 6
		var wg sync.WaitGroup
		errs := make(chan error, editors)
		for i := range editors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := st
				if i%2 == 1 {
					h = other
				}
				for {
					cur, err := h.GetBot(ctx, "shop")
					if err != nil {
						errs <- err
						return
					}
					cur.Settings.AllowedEnv = append(cur.Settings.AllowedEnv, fmt.Sprintf("E%d", i))
					err = h.UpdateBot(ctx, cur)
					if errors.Is(err, store.ErrVersionConflict) {
						continue // another editor came first: read again
					}
					if err != nil {
						errs <- err
					}
					return
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := st.GetBot(ctx, "shop")
		must(t, err, "get")
		env := slices.Sorted(slices.Values(got.Settings.AllowedEnv))
		if len(env) != editors || got.Rev != 1+editors {
			t.Fatalf("after %d concurrent edits: env %v, rev %d", editors, env, got.Rev)
		}
	})
}
