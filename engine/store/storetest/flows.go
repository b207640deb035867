package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) flows(t *testing.T) {
	t.Run("draft put, get and overwrite", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.GetDraft(ctx, "b1", "main")
		wantErr(t, err, store.ErrNotFound, "get missing draft")
		d := store.FlowDraft{Bot: "b1", FlowID: "main", Doc: []byte(`{"nodes":[1]}`), UpdatedAt: at(0), UpdatedBy: "u1"}
		must(t, st.PutDraft(ctx, d), "put")
		d.Doc = []byte(`{"nodes":[1,2]}`)
		must(t, st.PutDraft(ctx, d), "overwrite")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b2", FlowID: "main", Doc: []byte("x")}), "other bot")
		got, err := st.GetDraft(ctx, "b1", "main")
		must(t, err, "get")
		sameJSON(t, "draft", got, d)
	})

	t.Run("publish numbers versions and never overwrites them", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.LatestFlowVersion(ctx, "b1", "main")
		wantErr(t, err, store.ErrNotFound, "latest before publishing")
		for i := 1; i <= 3; i++ {
			v, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "main", Version: 99,
				Doc: fmt.Appendf(nil, `{"v":%d}`, i), Note: fmt.Sprint("release ", i), PublishedAt: at(time.Duration(i) * time.Hour), PublishedBy: "m1"})
			must(t, err, "publish")
			if v.Version != i {
				t.Fatalf("publish %d got version %d", i, v.Version)
			}
		}
		v1, err := st.GetFlowVersion(ctx, "b1", "main", 1)
		must(t, err, "get v1")
		if string(v1.Doc) != `{"v":1}` || v1.Note != "release 1" || !v1.PublishedAt.Equal(at(time.Hour)) {
			t.Fatalf("version 1 is %+v", v1)
		}
		latest, err := st.LatestFlowVersion(ctx, "b1", "main")
		must(t, err, "latest")
		if latest.Version != 3 || string(latest.Doc) != `{"v":3}` {
			t.Fatalf("latest is version %d doc %s", latest.Version, latest.Doc)
		}
		_, err = st.GetFlowVersion(ctx, "b1", "main", 4)
		wantErr(t, err, store.ErrNotFound, "get unpublished version")
		_, err = st.GetFlowVersion(ctx, "b1", "other", 1)
		wantErr(t, err, store.ErrNotFound, "get version of unknown flow")

		list, err := st.ListFlowVersions(ctx, "b1", "main")
		must(t, err, "list")
		if g := ids(list, func(v store.FlowVersion) string { return fmt.Sprint(v.Version) }); !slices.Equal(g, []string{"3", "2", "1"}) {
			t.Fatalf("versions listed %v, want newest first", g)
		}
		if list[2].Note != "release 1" || list[2].PublishedBy != "m1" {
			t.Fatalf("listed metadata %+v", list[2])
		}
		// Re-publishing asks for version 1 again: it must get a new number.
		v, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "main", Version: 1, Doc: []byte("evil")})
		must(t, err, "publish again")
		if v.Version != 4 {
			t.Fatalf("publish after 3 got version %d", v.Version)
		}
		v1again, err := st.GetFlowVersion(ctx, "b1", "main", 1)
		must(t, err, "get v1 again")
		if string(v1again.Doc) != `{"v":1}` {
			t.Fatalf("version 1 changed to %s", v1again.Doc)
		}
	})

	t.Run("concurrent publishes get distinct versions", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		const n = 6
		var wg sync.WaitGroup
		got := make([]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "f", Doc: fmt.Appendf(nil, "%d", i)})
				errs[i] = err
				if err == nil {
					got[i] = v.Version
					stored, err := st.GetFlowVersion(ctx, "b1", "f", v.Version)
					if err != nil || string(stored.Doc) != fmt.Sprint(i) {
						errs[i] = fmt.Errorf("version %d holds %v, %v; want publisher %d's doc", v.Version, stored, err, i)
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			must(t, err, "publish")
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6}) {
			t.Fatalf("concurrent publishes got versions %v", got)
		}
		latest, err := st.LatestFlowVersion(ctx, "b1", "f")
		must(t, err, "latest")
		if latest.Version != n {
			t.Fatalf("latest version %d, want %d", latest.Version, n)
		}
	})
}
