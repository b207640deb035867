package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) flowList(t *testing.T) {
	t.Run("a bot's flows are those with a draft or a version", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		ids, err := st.ListFlowIDs(ctx, "b1")
		must(t, err, "list an empty bot")
		if len(ids) != 0 {
			t.Fatalf("empty bot lists %v", ids)
		}
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "main", Doc: []byte("d")}), "draft main")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "main2", Doc: []byte("d")}), "draft main2")
		_, err = st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "main", Doc: []byte("v"), PublishedAt: at(0)})
		must(t, err, "publish main")
		_, err = st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "quiz", Doc: []byte("v"), PublishedAt: at(0)})
		must(t, err, "publish quiz without a draft")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b2", FlowID: "other", Doc: []byte("d")}), "another bot's draft")
		_, err = st.PublishFlow(ctx, store.FlowVersion{Bot: "b10", FlowID: "prefix", Doc: []byte("v"), PublishedAt: at(0)})
		must(t, err, "a bot whose id extends b1")
		ids, err = st.ListFlowIDs(ctx, "b1")
		must(t, err, "list")
		if want := []string{"main", "main2", "quiz"}; !slices.Equal(ids, want) {
			t.Fatalf("flows of b1: %v, want %v", ids, want)
		}
	})

	t.Run("drafts are listed with their summary and without their documents", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "quiz", Doc: []byte("q"), UpdatedAt: at(time.Hour), UpdatedBy: "m1",
			Name: "Quiz", Errors: 2, Warnings: 1}), "draft quiz")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "main", Doc: []byte("m"), UpdatedAt: at(0), Name: "Main"}), "draft main")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b10", FlowID: "x", Doc: []byte("x")}), "a bot whose id extends b1")
		_, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "pub", Doc: []byte("v"), PublishedAt: at(0), Name: "Published"})
		must(t, err, "publish a flow without a draft")
		got, err := st.ListDrafts(ctx, "b1")
		must(t, err, "list drafts")
		want := []store.FlowDraft{
			{Bot: "b1", FlowID: "main", UpdatedAt: at(0), Name: "Main"},
			{Bot: "b1", FlowID: "quiz", UpdatedAt: at(time.Hour), UpdatedBy: "m1", Name: "Quiz", Errors: 2, Warnings: 1},
		}
		sameJSON(t, "drafts of b1", got, want)
		v, err := st.LatestFlowVersion(ctx, "b1", "pub")
		must(t, err, "latest of pub")
		if v.Name != "Published" {
			t.Fatalf("published version's name is %q", v.Name)
		}
	})

	t.Run("deleting a draft leaves the published versions", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		wantErr(t, st.DeleteDraft(ctx, "b1", "main"), store.ErrNotFound, "delete a draft that does not exist")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "main", Doc: []byte("d")}), "draft main")
		_, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "main", Doc: []byte("v1"), PublishedAt: at(0)})
		must(t, err, "publish main")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "scratch", Doc: []byte("s")}), "draft scratch")
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b2", FlowID: "main", Doc: []byte("other")}), "another bot's draft")

		must(t, st.DeleteDraft(ctx, "b1", "main"), "delete main's draft")
		must(t, st.DeleteDraft(ctx, "b1", "scratch"), "delete scratch")
		wantErr(t, st.DeleteDraft(ctx, "b1", "main"), store.ErrNotFound, "delete it again")
		_, err = st.GetDraft(ctx, "b1", "main")
		wantErr(t, err, store.ErrNotFound, "get the deleted draft")
		v, err := st.LatestFlowVersion(ctx, "b1", "main")
		must(t, err, "latest version after the draft is gone")
		if string(v.Doc) != "v1" {
			t.Fatalf("latest version holds %q", v.Doc)
		}
		ids, err := st.ListFlowIDs(ctx, "b1")
		must(t, err, "list")
		if want := []string{"main"}; !slices.Equal(ids, want) {
			t.Fatalf("flows of b1 after deleting drafts: %v, want %v (scratch was only a draft)", ids, want)
		}
		drafts, err := st.ListDrafts(ctx, "b1")
		must(t, err, "list drafts")
		if len(drafts) != 0 {
			t.Fatalf("drafts left: %+v", drafts)
		}
		if _, err := st.GetDraft(ctx, "b2", "main"); err != nil {
			t.Fatalf("another bot's draft: %v", err)
		}
		// A new draft after the delete is a draft like any other.
		must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "b1", FlowID: "main", Doc: []byte("again")}), "draft main again")
		d, err := st.GetDraft(ctx, "b1", "main")
		must(t, err, "get the new draft")
		if string(d.Doc) != "again" {
			t.Fatalf("new draft holds %q", d.Doc)
		}
		v, err = st.PublishFlow(ctx, store.FlowVersion{Bot: "b1", FlowID: "main", Doc: []byte("v2"), PublishedAt: at(0)})
		must(t, err, "publish again")
		if v.Version != 2 {
			t.Fatalf("published version %d after deleting the draft, want 2", v.Version)
		}
	})
}
