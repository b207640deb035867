package runtime

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// leaseState is this process's lease and what it knows of others'.
//
// Every outbox item names the process that delivers it (OutMessage.Owner).
// Each process renews a lease in the store every Heartbeat (one small write
// per process, not per conversation); an item whose owner's lease ended is
// adopted by whoever meets it first: a step of its conversation, a sender
// waiting behind it, or the sweep that walks the outboxes of expired leases.
// So an outbox a process left is delivered within about LeaseTTL of its
// death, however busy or quiet the chat.
type leaseState struct {
	// until is the end of this process's lease as last written (UnixNano),
	// 0 before the first renewal.
	until atomic.Int64
	// failing says the last renewal failed (the store is unreachable).
	failing atomic.Bool
	// mu serialises renewals (the first commit and the heartbeat).
	mu sync.Mutex
	// renewed is closed and replaced at each renewal, for senders waiting
	// for a lapsed lease to come back.
	renewedMu sync.Mutex
	renewed   chan struct{}

	viewsMu sync.Mutex
	views   map[string]leaseView
}

// leaseView is another process's lease as read at read.
type leaseView struct {
	until, read time.Time
}

func (l *leaseState) init() {
	l.renewed = make(chan struct{})
	l.views = map[string]leaseView{}
}

func (l *leaseState) renewedChan() <-chan struct{} {
	l.renewedMu.Lock()
	defer l.renewedMu.Unlock()
	return l.renewed
}

func (l *leaseState) signal() {
	l.renewedMu.Lock()
	defer l.renewedMu.Unlock()
	close(l.renewed)
	l.renewed = make(chan struct{})
}

// renewLease moves this process's lease to now+LeaseTTL. A lease that had
// lapsed may have let others adopt this process's items, so what the cache
// knows of outboxes is dropped and read again.
func (r *Runtime) renewLease(ctx context.Context) error {
	r.lease.mu.Lock()
	defer r.lease.mu.Unlock()
	now := r.clock.Now()
	until := now.Add(r.opts.LeaseTTL)
	if err := r.st.RenewLease(ctx, r.opts.Owner, until); err != nil {
		r.lease.failing.Store(true)
		return err
	}
	r.lease.failing.Store(false)
	prev := r.lease.until.Swap(until.UnixNano())
	var recheck []string
	if prev != 0 && time.Unix(0, prev).Before(now) {
		r.log.Warn("lease had lapsed; checking outboxes again", "lapsed_for", now.Sub(time.Unix(0, prev)))
		recheck = r.locks.forgetOwnership()
	}
	r.lease.signal()
	for _, id := range recheck {
		r.out.kick(id)
	}
	return nil
}

// ensureLease renews the lease once before this process's first write
// names it as an owner: an owner without a lease counts as dead.
func (r *Runtime) ensureLease(ctx context.Context) error {
	if r.lease.until.Load() != 0 {
		return nil
	}
	if err := r.renewLease(ctx); err != nil {
		return errors.Join(errors.New("renew lease"), err)
	}
	return nil
}

// releaseLease ends the lease now (a clean shutdown), so whatever is left
// in outboxes is adopted at once rather than after LeaseTTL.
func (r *Runtime) releaseLease(ctx context.Context) {
	if r.lease.until.Load() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	r.lease.mu.Lock()
	defer r.lease.mu.Unlock()
	now := r.clock.Now()
	if err := r.st.RenewLease(ctx, r.opts.Owner, now.Add(-time.Millisecond)); err != nil {
		r.log.Warn("release lease", "err", err)
	}
}

// leaseValid reports whether this process may send: not when its lease
// ran out because renewals fail (the store is unreachable, so others may
// be adopting its items) until a renewal succeeds.
func (r *Runtime) leaseValid() bool {
	if !r.lease.failing.Load() {
		return true
	}
	u := r.lease.until.Load()
	return u != 0 && time.Unix(0, u).After(r.clock.Now())
}

// waitLease waits until the lease was renewed or a heartbeat passed.
func (r *Runtime) waitLease(ctx context.Context) bool {
	renewed := r.lease.renewedChan()
	if r.leaseValid() {
		return true // renewed between the caller's look and ours
	}
	select {
	case <-renewed:
		return true
	case <-r.clock.After(r.opts.Heartbeat):
		return true
	case <-ctx.Done():
		return false
	}
}

// heartbeat renews the lease every Heartbeat and sweeps the outboxes of
// expired leases, until ctx ends.
func (r *Runtime) heartbeat(ctx context.Context) {
	for {
		if err := r.renewLease(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("renew lease", "err", err)
			r.stats.errors.Add(1)
		}
		if ctx.Err() == nil {
			r.sweep(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(r.opts.Heartbeat):
		}
	}
}

// alive reports whether owner's lease is current. Leases read from the
// store are reused for a heartbeat. A store error counts as alive: adopting
// on a guess would send twice.
func (r *Runtime) alive(ctx context.Context, owner string) bool {
	if owner == r.opts.Owner {
		return true
	}
	if owner == "" {
		return false // written before items named their owner
	}
	now := r.clock.Now()
	r.lease.viewsMu.Lock()
	v, ok := r.lease.views[owner]
	r.lease.viewsMu.Unlock()
	if !ok || now.Sub(v.read) >= r.opts.Heartbeat || now.Before(v.read) {
		l, err := r.st.GetLease(ctx, owner)
		switch {
		case errors.Is(err, store.ErrNotFound):
			l.Until = time.Time{}
		case err != nil:
			r.log.Warn("read lease", "owner", owner, "err", err)
			return true
		}
		v = leaseView{until: l.Until, read: now}
		r.lease.viewsMu.Lock()
		if len(r.lease.views) > 1000 {
			clear(r.lease.views)
		}
		r.lease.views[owner] = v
		r.lease.viewsMu.Unlock()
	}
	return v.until.After(now)
}

// sweepPage is how many conversations one FindOutboxes call returns.
const sweepPage = 200

// sweep adopts the outboxes of processes whose lease expired: items of a
// chat nobody writes to, which no step would meet. Once every outbox of a
// dead owner is handled its lease is dropped, so it is walked once.
func (r *Runtime) sweep(ctx context.Context) {
	expired, err := r.st.ExpiredLeases(ctx, r.clock.Now(), 10)
	if err != nil {
		r.log.Warn("list expired leases", "err", err)
		return
	}
	for _, l := range expired {
		if l.Owner == r.opts.Owner || ctx.Err() != nil {
			continue
		}
		complete := true
		after := ""
		for {
			convs, next, err := r.st.FindOutboxes(ctx, l.Owner, after, sweepPage)
			if err != nil {
				r.log.Warn("find outboxes of expired lease", "owner", l.Owner, "err", err)
				complete = false
				break
			}
			known, err := r.pageDelivered(ctx, convs, l.Owner)
			if err == nil {
				err = r.appendDeliveredLogs(ctx, convs, known)
			}
			if err != nil {
				r.log.Warn("check delivered items", "owner", l.Owner, "err", err)
				complete = false
				break
			}
			for i := range convs {
				if err := r.adoptStranded(ctx, &convs[i], known); err != nil {
					r.log.Warn("adopt outbox", "conversation", convs[i].ID, "owner", l.Owner, "err", err)
					complete = false
				}
			}
			if next == "" || ctx.Err() != nil {
				break
			}
			after = next
		}
		if complete && ctx.Err() == nil {
			if err := r.st.DropLease(ctx, l.Owner, l.Until); err != nil {
				r.log.Warn("drop expired lease", "owner", l.Owner, "err", err)
			}
		}
	}
}

// appendDeliveredLogs appends, for a page of a dead owner's outboxes, the
// logs its delivered items carry (the owner may have died between the send
// and their append), all in one pair of inserts rather than one per
// conversation; claimKnowing then takes them as appended.
func (r *Runtime) appendDeliveredLogs(ctx context.Context, convs []store.Conversation, known map[string]bool) error {
	var l store.PendingLogs
	for i := range convs {
		for _, m := range convs[i].Outbox {
			if known[m.ID] {
				addLogs(&l, r.logsOf(m))
			}
		}
	}
	if emptyLogs(l) {
		return nil
	}
	return r.appendBoth(ctx, l)
}

// adoptStranded takes over conv's items of dead owners (conv was just read
// from the store) and starts delivering them.
func (r *Runtime) adoptStranded(ctx context.Context, conv *store.Conversation, known map[string]bool) error {
	s := r.locks.of(conv.ID)
	s.mu.Lock()
	c := *conv
	if e := s.offer(conv.ID, &c, r.opts.CachePerStripe); e != nil {
		for _, m := range conv.Outbox {
			if known[m.ID] && m.Logs != nil {
				e.markLogged(m.ID) // appendDeliveredLogs did
			}
		}
	}
	s.mu.Unlock()
	mine, err := r.claimKnowing(ctx, conv.ID, known)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if mine {
		r.out.kick(conv.ID)
	}
	return nil
}

// pageDelivered looks up, in one query, which of owner's message items in a
// page of outboxes already have a delivery event: after a restart a dead
// process's outboxes are mostly delivered items waiting to be pruned.
func (r *Runtime) pageDelivered(ctx context.Context, convs []store.Conversation, owner string) (map[string]bool, error) {
	q := r.newDeliveryQuery()
	for i := range convs {
		for _, m := range convs[i].Outbox {
			if m.Owner == owner {
				q.add(convs[i].Bot, m)
			}
		}
	}
	return q.run(ctx)
}
