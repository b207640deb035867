package storetest

import (
	"slices"
	"testing"

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
}
