package runtime

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// stripes serialize work on one conversation inside this process: a fixed
// array of mutexes picked by a hash of the conversation id, so memory does not
// grow with the number of chats and different chats rarely wait on each other.
// Each stripe also caches the documents it last wrote, which saves the read on
// the hot path; the cache is safe because every write is conditional on
// Version, and a stale entry only costs a conflict and a reload.
type stripes struct {
	seed maphash.Seed
	s    []stripe
	max  int // cached documents per stripe
}

type stripe struct {
	mu    sync.Mutex
	convs map[string]*cacheEntry
}

type cacheEntry struct {
	// conv is immutable once cached: writers copy before changing.
	conv *store.Conversation
	// resendDue is when the last resend job this process scheduled for the
	// conversation falls due; until then a new outbox needs no new job.
	resendDue time.Time
	// mine are the outbox items this process wrote (or adopted from a dead
	// process): a process delivers only its own items, so two replicas that
	// both stepped a conversation never send the same message twice.
	mine map[string]struct{}
}

// own marks ids as this process's to deliver.
func (e *cacheEntry) own(ids []string) {
	if len(ids) == 0 {
		return
	}
	if e.mine == nil {
		e.mine = make(map[string]struct{}, len(ids))
	}
	for _, id := range ids {
		e.mine[id] = struct{}{}
	}
}

// prune forgets owned ids no longer in the outbox.
func (e *cacheEntry) prune(box []store.OutMessage) {
	for id := range e.mine {
		found := false
		for _, m := range box {
			if m.ID == id {
				found = true
				break
			}
		}
		if !found {
			delete(e.mine, id)
		}
	}
}

func (e *cacheEntry) owns(id string) bool {
	_, ok := e.mine[id]
	return ok
}

func newStripes(n, perStripe int) *stripes {
	s := &stripes{seed: maphash.MakeSeed(), s: make([]stripe, n), max: perStripe}
	for i := range s.s {
		s.s[i].convs = make(map[string]*cacheEntry)
	}
	return s
}

func (s *stripes) of(id string) *stripe {
	return &s.s[maphash.String(s.seed, id)%uint64(len(s.s))]
}

// get returns the cached entry; the stripe must be locked.
func (st *stripe) get(id string) *cacheEntry { return st.convs[id] }

// put caches c; the stripe must be locked.
func (st *stripe) put(id string, c *store.Conversation, max int) *cacheEntry {
	e := st.convs[id]
	if e == nil {
		if len(st.convs) >= max {
			for k := range st.convs { // evict an arbitrary entry
				delete(st.convs, k)
				break
			}
		}
		e = &cacheEntry{}
		st.convs[id] = e
	}
	e.conv = c
	if c != nil && len(e.mine) > 0 {
		e.prune(c.Outbox)
	}
	return e
}

// drop forgets a document known to be stale; the stripe must be locked.
func (st *stripe) drop(id string) {
	if e := st.convs[id]; e != nil {
		e.conv = nil
	}
}

// withOutbox lists cached conversations with something in their outbox.
func (s *stripes) withOutbox() []string {
	var ids []string
	for i := range s.s {
		st := &s.s[i]
		st.mu.Lock()
		for id, e := range st.convs {
			if e.conv != nil && len(e.mine) > 0 {
				ids = append(ids, id)
			}
		}
		st.mu.Unlock()
	}
	return ids
}
