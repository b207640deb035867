package bolt

import (
	"sync"

	"github.com/voronka/voronka/engine/store"
)

// freshEvents keeps the events this process appended until the rollup
// flush takes them, so PendingEvents hands them over as they were given
// instead of decoding each one's JSON again (that decoding was most of
// the flush's CPU). It is only a shortcut: an event not found here (the
// cache full, another process appended it, a restart) is decoded from the
// file as before. Entries go in before the write that stores them, so the
// flush can never see a pending mark whose entry is still on its way, and
// come out when the write fails or stored nothing new (a repeated append),
// when a flush applies their batch, or on a reset.
type freshEvents struct {
	mu sync.Mutex
	m  map[string]store.Event
}

// freshCap bounds the cache: a few flushes' worth of events (without a
// running flusher it fills once and then stays as it is).
const freshCap = 20_000

// add keeps events before the write that stores them and returns which
// keys it added (a key already kept, a repeat of a pending event, stays).
func (f *freshEvents) add(entries []logEntry, events []store.Event) []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]store.Event{}
	}
	added := make([]bool, len(entries))
	for i := range entries {
		if len(f.m) >= freshCap {
			break
		}
		if _, ok := f.m[string(entries[i].key)]; ok {
			continue
		}
		f.m[string(entries[i].key)] = events[i]
		added[i] = true
	}
	return added
}

// settle drops what add added and the write did not store.
func (f *freshEvents) settle(entries []logEntry, added []bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range entries {
		if added[i] && (err != nil || !entries[i].stored) {
			delete(f.m, string(entries[i].key))
		}
	}
}

func (f *freshEvents) get(k []byte) (store.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[string(k)]
	return e, ok
}

func (f *freshEvents) drop(keys []store.EventKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.m, string(eventKey(k)))
	}
}

func (f *freshEvents) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.m)
}

func (f *freshEvents) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}
