package runtime

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/voronka/voronka/engine/store"
)

// Carried logs. On a store that appends transcript lines and events apart
// from the conversation (MongoDB: no transactions), a step would cost the
// conditional write, then the appends, then after the send the delivery
// event: three round trips. Instead the step's lines and events ride in the
// conversation write, on its first message's outbox item (OutMessage.Logs),
// and are appended together with that message's delivery event, one insert
// of each kind in parallel: two round trips per message. The next write of
// the conversation prunes the item, logs and all.
//
// Nothing is lost: until they are appended the logs are in the stored
// conversation, and whoever finishes the item appends them: this process
// after the send, or the process that adopts the item of a dead one (with
// the delivery it makes, or on its own when the item's delivery event shows
// it went out). Appends are idempotent, so doing it twice is harmless. A
// delivery that waits (rate limit, outage, another process's items ahead)
// appends its conversation's carried logs at once rather than hold the
// transcript back.

// addLogs appends src's lines and events to dst.
func addLogs(dst *store.PendingLogs, src *store.PendingLogs) {
	if src == nil {
		return
	}
	dst.Messages = append(dst.Messages, src.Messages...)
	dst.Events = append(dst.Events, src.Events...)
}

func emptyLogs(l store.PendingLogs) bool { return len(l.Messages)+len(l.Events) == 0 }

// carryLogs moves the change's logs onto the first message item the change
// queued, when the store appends logs apart and this process is delivering
// (before Run nothing is sent, so nothing would carry them out). It returns
// the logs still to write with the conversation.
//
// Logs are carried only by a reply that goes out next: no message of the
// chat is queued ahead of it and its channel is not waiting out an outage.
// A reply that waits would hold its logs in the document for as long as it
// waits, and a chat's backlog would grow the document (which every write of
// the conversation rewrites) by a step's logs per message; such a step
// writes its logs with the conversation, as on a store that carries nothing
// (three round trips, not two, for a message that waits anyway).
func (r *Runtime) carryLogs(next *store.Conversation, res *result) store.PendingLogs {
	l := store.PendingLogs{Messages: res.transcript(), Events: res.events}
	if !r.logsApart || emptyLogs(l) || !r.out.delivering() {
		return l
	}
	i := slices.IndexFunc(next.Outbox, func(m store.OutMessage) bool {
		return isMessage(m.Kind) && slices.Contains(res.added, m.ID)
	})
	if i < 0 || slices.ContainsFunc(next.Outbox[:i], func(m store.OutMessage) bool { return isMessage(m.Kind) }) {
		return l
	}
	if next.Outbox[i].Kind == kindOperator {
		// An operator's reply is in the inbox's transcript, shown pending,
		// from the moment it is written: it is not on the hot path.
		return l
	}
	if ch := r.channels[next.Channel]; ch == nil || ch.outage(next.Bot, r.clock.Now()) {
		return l
	}
	box := slices.Clone(next.Outbox)
	box[i].Logs = &l
	next.Outbox = box
	return store.PendingLogs{}
}

// appendBoth appends lines and events, the two inserts in parallel.
func (r *Runtime) appendBoth(ctx context.Context, l store.PendingLogs) error {
	switch {
	case len(l.Messages) == 0:
		return r.st.AppendEvents(ctx, l.Events...)
	case len(l.Events) == 0:
		return r.st.AppendMessages(ctx, l.Messages...)
	}
	var wg sync.WaitGroup
	var merr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		merr = r.st.AppendMessages(ctx, l.Messages...)
	}()
	eerr := r.st.AppendEvents(ctx, l.Events...)
	wg.Wait()
	return errors.Join(merr, eerr)
}

// flushAhead appends now the carried logs of this process's items in the
// conversation's outbox, because its delivery is about to wait: the
// transcript shows what was said without waiting for the replies.
func (r *Runtime) flushAhead(ctx context.Context, id string) {
	s := r.locks.of(id)
	s.mu.Lock()
	e := s.get(id)
	var l store.PendingLogs
	var ids []string
	if e != nil && e.conv != nil {
		for _, m := range e.conv.Outbox {
			if m.Logs != nil && e.owns(m.ID) && !e.isLogged(m.ID) {
				addLogs(&l, m.Logs)
				ids = append(ids, m.ID)
			}
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	if err := r.appendBoth(ctx, l); err != nil {
		// The delivery's record carries them again.
		r.log.Warn("append transcript and events ahead of delivery", "conversation", id, "err", err)
		return
	}
	s.mu.Lock()
	if e := s.get(id); e != nil {
		e.markLogged(ids...)
	}
	s.mu.Unlock()
}
