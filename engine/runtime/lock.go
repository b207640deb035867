package runtime

import (
	"hash/maphash"
	"slices"
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
	// floor is the lowest version a document read from the store may have
	// to be cached here: the version this process last knew, kept when conv
	// is dropped. A read made without the stripe lock can return a version
	// older than one a step has committed since; caching it would hide that
	// step's outbox items from this process's own sender.
	floor int64
	// mine are the outbox items this process is to deliver: it wrote them
	// (or adopted them from a dead process) and has not seen them through.
	// An item that names this process as Owner but is in neither set (the
	// entry was evicted) is checked against the store's delivery events
	// before it is sent.
	mine map[string]struct{}
	// done are the outbox items this process saw through (sent, failed,
	// scheduled as a job): the next write of the conversation prunes them,
	// so delivering costs no conversation write.
	done map[string]struct{}
	// logged are items whose carried logs (OutMessage.Logs) this process
	// appended ahead of their delivery, because the delivery waits.
	logged map[string]struct{}
	// unrecorded are items this process delivered whose record (delivery
	// event, carried logs) the store did not take yet: not to be sent
	// again, and not to be pruned before the record is written.
	unrecorded map[string]*pendingRecord
	// logging are items delivered and recorded whose carried logs are
	// being appended (recordApart): not to be sent again, not yet pruned.
	logging map[string]struct{}
}

func (e *cacheEntry) isLogging(id string) bool {
	if e == nil {
		return false
	}
	_, ok := e.logging[id]
	return ok
}

// pendingRecord is a delivery's record waiting to be appended again.
type pendingRecord struct {
	logs  store.PendingLogs
	since time.Time // first failure, for giving up after SendHorizon
}

// markLogged records that item id's carried logs are appended.
func (e *cacheEntry) markLogged(ids ...string) {
	if e.logged == nil {
		e.logged = make(map[string]struct{}, len(ids))
	}
	for _, id := range ids {
		e.logged[id] = struct{}{}
	}
}

func (e *cacheEntry) isLogged(id string) bool {
	if e == nil {
		return false
	}
	_, ok := e.logged[id]
	return ok
}

// own marks ids as this process's to deliver.
func (e *cacheEntry) own(ids ...string) {
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

// finish records that item id was seen through.
func (e *cacheEntry) finish(id string) {
	delete(e.mine, id)
	if e.done == nil {
		e.done = make(map[string]struct{}, 4)
	}
	e.done[id] = struct{}{}
}

// pruneScanMax is the outbox size up to which prune scans it for each id;
// past it, prune indexes the ids first. mine holds about one id per
// message in the outbox, so scanning a backlog (an outage, a chat past its
// per-chat send rate) would cost its square on every commit of the chat.
const pruneScanMax = 16

// prune forgets ids no longer in the outbox.
func (e *cacheEntry) prune(box []store.OutMessage) {
	gone := func(id string) bool {
		return !slices.ContainsFunc(box, func(m store.OutMessage) bool { return m.ID == id })
	}
	if len(box) > pruneScanMax {
		in := make(map[string]struct{}, len(box))
		for _, m := range box {
			in[m.ID] = struct{}{}
		}
		gone = func(id string) bool { _, ok := in[id]; return !ok }
	}
	for _, set := range [3]map[string]struct{}{e.mine, e.done, e.logged} {
		for id := range set {
			if gone(id) {
				delete(set, id)
			}
		}
	}
	for id := range e.unrecorded {
		if gone(id) {
			delete(e.unrecorded, id)
		}
	}
}

func (e *cacheEntry) owns(id string) bool {
	if e == nil {
		return false
	}
	_, ok := e.mine[id]
	return ok
}

func (e *cacheEntry) isDone(id string) bool {
	if e == nil {
		return false
	}
	_, ok := e.done[id]
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
func (st *stripe) put(id string, c *store.Conversation, limit int) *cacheEntry {
	e := st.convs[id]
	if e == nil {
		if len(st.convs) >= limit {
			// Evict an arbitrary entry, but not one with items still to
			// deliver: forgetting them would leave them to no one (the
			// stripe grows past max instead while deliveries are backed up).
			for k, old := range st.convs {
				if len(old.mine) == 0 {
					delete(st.convs, k)
					break
				}
			}
		}
		e = &cacheEntry{}
		st.convs[id] = e
	}
	e.conv = c
	if c != nil {
		e.floor = max(e.floor, c.Version)
	}
	if c != nil && len(e.mine)+len(e.done)+len(e.logged)+len(e.unrecorded) > 0 {
		e.prune(c.Outbox)
	}
	return e
}

// drop forgets a document known to be stale (a write conditional on its
// version lost); the stripe must be locked.
func (st *stripe) drop(id string) {
	if e := st.convs[id]; e != nil && e.conv != nil {
		e.floor = max(e.floor, e.conv.Version+1)
		e.conv = nil
	}
}

// offer caches c, read from the store without the stripe lock, unless the
// entry knows of a later version (the stripe must be locked). It returns
// the entry, nil when c was not cached. Without an entry c is cached: put
// evicts only entries with nothing left to deliver, so a stale document
// cached after an eviction hides no item, and the next write's version
// conflict reloads it.
func (st *stripe) offer(id string, c *store.Conversation, limit int) *cacheEntry {
	e := st.convs[id]
	switch {
	case e == nil:
	case e.conv != nil && e.conv.Version >= c.Version:
		return nil
	case e.conv == nil && e.floor > c.Version:
		return nil
	}
	return st.put(id, c, limit)
}

// forgetOwnership drops what every entry knows of its outbox ownership
// (and the documents): after this process's lease lapsed, others may have
// adopted its items, so each conversation is read and checked again. What
// the store already holds stays known (items seen through, carried logs
// appended, delivery records still to append): checking or appending it
// again would only load a store that is struggling already (the likely
// reason the lease lapsed). It returns the conversations that had items
// to deliver, to look at again.
func (s *stripes) forgetOwnership() []string {
	var ids []string
	for i := range s.s {
		st := &s.s[i]
		st.mu.Lock()
		for id, e := range st.convs {
			if len(e.mine) > 0 || len(e.unrecorded) > 0 {
				ids = append(ids, id)
			}
			// The entry stays, for its version floor: a read in flight
			// must not bring back a document older than this one.
			if e.conv != nil {
				e.floor = max(e.floor, e.conv.Version)
			}
			e.conv, e.mine = nil, nil
		}
		st.mu.Unlock()
	}
	return ids
}

// withOutbox lists cached conversations with items this process is to deliver.
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
