package runtime

import (
	"fmt"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

// prune keeps exactly the ids still in the outbox, whether it scans a
// small outbox or indexes a backlog first.
func TestPruneKeepsOnlyWhatIsStillInTheOutbox(t *testing.T) {
	for _, size := range []int{3, pruneScanMax, pruneScanMax + 1, 200} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var box []store.OutMessage
			for i := range size {
				box = append(box, store.OutMessage{ID: fmt.Sprint("in", i)})
			}
			e := &cacheEntry{}
			for i := range size {
				e.own(fmt.Sprint("in", i), fmt.Sprint("gone", i))
				e.markLogged(fmt.Sprint("in", i), fmt.Sprint("gone", i))
			}
			e.finish("in0")
			e.finish("gone0")
			e.unrecorded = map[string]*pendingRecord{"in1": {}, "gone1": {}}
			e.prune(box)
			for name, set := range map[string]map[string]struct{}{"mine": e.mine, "logged": e.logged, "done": e.done} {
				for id := range set {
					if id[:2] != "in" {
						t.Errorf("%s still holds %s, which left the outbox", name, id)
					}
				}
			}
			if len(e.mine) != size-1 || len(e.logged) != size || len(e.done) != 1 {
				t.Errorf("kept %d mine, %d logged, %d done; want %d, %d, 1", len(e.mine), len(e.logged), len(e.done), size-1, size)
			}
			if _, ok := e.unrecorded["in1"]; !ok || len(e.unrecorded) != 1 {
				t.Errorf("unrecorded = %v, want only in1", e.unrecorded)
			}
		})
	}
}

// BenchmarkPruneBacklog is one commit's prune of a chat whose outbox holds
// a backlog of 1,000 messages this process owns (an hour of a channel
// outage, or a chat past its per-chat send rate).
func BenchmarkPruneBacklog(b *testing.B) {
	const n = 1000
	box := make([]store.OutMessage, n)
	ids := make([]string, n)
	for i := range box {
		ids[i] = fmt.Sprint("m", i)
		box[i].ID = ids[i]
	}
	e := &cacheEntry{}
	e.own(ids...)
	for b.Loop() {
		e.prune(box)
	}
}
