package server

import (
	"context"
	"sync"

	"github.com/voronka/voronka/engine/store"
)

// queueTally shares the open chats by queue, the part of the inbox counts
// that is the same for every viewer, between the requests of one replica:
// counted once and kept until the next inbox change (this replica's, told
// by the runtime before its request answers, or another replica's, off
// the bus before its events reach this replica's streams). Every open
// inbox page asks for its counts after each change it hears of; with it,
// N pages cost one count per change, not N.
type queueTally struct {
	mu sync.Mutex
	// gen counts changes; val was counted at generation at.
	gen, at uint64
	valid   bool
	val     map[string]store.QueueTally
	// counting is closed when the count in flight ends.
	counting chan struct{}
}

// changed says an inbox change happened: the next request counts again.
func (q *queueTally) changed() {
	q.mu.Lock()
	q.gen++
	q.mu.Unlock()
}

// get returns the tally, counting it with count when no count since the
// last change is kept; callers that arrive during a count wait for it.
func (q *queueTally) get(ctx context.Context, count func(context.Context) (map[string]store.QueueTally, error)) (map[string]store.QueueTally, error) {
	for {
		q.mu.Lock()
		if q.valid && q.at == q.gen {
			v := q.val
			q.mu.Unlock()
			return v, nil
		}
		if w := q.counting; w != nil {
			q.mu.Unlock()
			select {
			case <-w:
				continue // kept if no change came meanwhile, else count again
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		gen, w := q.gen, make(chan struct{})
		q.counting = w
		q.mu.Unlock()
		v, err := count(ctx)
		q.mu.Lock()
		q.counting = nil
		close(w)
		if err == nil && gen == q.gen {
			// A change during the count would make it stale: only a count
			// with none is kept (the caller still gets its own).
			q.val, q.at, q.valid = v, gen, true
		}
		q.mu.Unlock()
		return v, err
	}
}

// queueCounts is the shared tally; callers must not change the map.
func (s *Server) queueCounts(ctx context.Context) (map[string]store.QueueTally, error) {
	return s.tally.get(ctx, s.cfg.Store.CountQueues)
}
