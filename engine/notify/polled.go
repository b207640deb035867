package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// PolledOptions tune a Polled bus; zero fields take the defaults.
type PolledOptions struct {
	// Interval is the time between polls (default 150 ms): the bus's
	// latency across replicas is about one interval plus a round trip.
	Interval time.Duration
	// GapWait is how long a missing Seq below one already seen is waited
	// for before it is given up (default 10 s). See Polled.
	GapWait time.Duration
	// Keep is how long notifications stay in the store (default 1 min).
	Keep time.Duration
	// Batch is the most notifications one poll reads (default 500).
	Batch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Polled is the bus of replicas that share a store: Publish appends to the
// store's notification log, and Run reads it with one query per poll for
// every subscriber of this replica (two while a number is missing).
//
// Why Seq numbers and a gap wait: the log's numbers are taken (one $inc)
// before the insert commits, so with publishers on several replicas a
// poller can read n+1 before n is visible. Polling "after the last seen"
// (or "after the last seen time") would then skip n for good. Instead the
// poller reads after the highest number it has seen and remembers each
// number it jumped over; those it asks for again by number at every poll,
// delivers when they appear, and gives up after GapWait (their publisher
// died between the $inc and the insert, or the insert failed). Nothing
// waits behind a gap, so a late commit costs only its own latency. The one
// case this cannot catch is an insert that commits more than GapWait after
// its number was taken; Publish bounds its write to a third of GapWait.
type Polled struct {
	st     store.Notifications
	origin string
	opts   PolledOptions
	log    *slog.Logger
	subs   subscribers

	// Publishing: one write in flight per replica (see Publish).
	pubMu   sync.Mutex
	queue   []*waiter
	writing bool

	// Poller state, touched by Run only: every Seq up to maxSeen was
	// delivered or given up, but for those in missing.
	maxSeen int64
	missing map[int64]time.Time // Seqs below maxSeen not seen yet, since when
	mark    purgeMark
}

type purgeMark struct {
	at  time.Time
	seq int64
}

var _ Bus = (*Polled)(nil)

// NewPolled makes a bus on st that delivers what is published from now on
// (it reads the log's last number).
func NewPolled(ctx context.Context, st store.Notifications, opts PolledOptions) (*Polled, error) {
	if opts.Interval <= 0 {
		opts.Interval = 150 * time.Millisecond
	}
	if opts.GapWait <= 0 {
		opts.GapWait = 10 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	last, err := st.LastNotificationSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("start the notification bus: %w", err)
	}
	p := &Polled{st: st, origin: NewOrigin(), opts: opts, log: log.With("component", "notify"),
		maxSeen: last, missing: make(map[int64]time.Time)}
	p.mark = purgeMark{at: opts.Now(), seq: last + 1}
	return p, nil
}

// Origin implements Bus.
func (p *Polled) Origin() string { return p.origin }

// Publish implements Bus. Publishes of one replica are written together:
// whoever finds no write in flight writes everything queued (one $inc, one
// insert), and the oldest waiter writes what queued meanwhile, so a busy
// replica costs the store two round trips per batch rather than per
// message, and its numbers commit in order. A write is bounded to a third
// of GapWait so a poller never gives up a number whose insert may still
// commit. Publish returns ctx's error if ctx ends first; the notification
// may then be published or not.
func (p *Polled) Publish(ctx context.Context, topic string, payload []byte) error {
	w := &waiter{n: store.Notification{Origin: p.origin, Topic: topic, Payload: payload, At: p.opts.Now().UTC()},
		done: make(chan error, 1), lead: make(chan struct{}, 1)}
	p.pubMu.Lock()
	p.queue = append(p.queue, w)
	if !p.writing {
		p.writing = true
		w.lead <- struct{}{}
	}
	p.pubMu.Unlock()
	for {
		select {
		case err := <-w.done:
			if err != nil {
				return fmt.Errorf("publish %s: %w", topic, err)
			}
			return nil
		case <-w.lead:
			p.writeQueued(ctx)
		case <-ctx.Done():
			p.pubMu.Lock()
			select {
			case <-w.lead:
				// Chosen to write just now: the others wait on it.
				p.pubMu.Unlock()
				p.writeQueued(ctx)
				continue
			default:
			}
			if i := slices.Index(p.queue, w); i >= 0 {
				p.queue = slices.Delete(p.queue, i, i+1)
			}
			p.pubMu.Unlock()
			return fmt.Errorf("publish %s: %w", topic, ctx.Err())
		}
	}
}

// waiter is one Publish waiting for its write.
type waiter struct {
	n    store.Notification
	done chan error
	lead chan struct{} // this waiter is to write the queue
}

// writeQueued writes the queue (up to store.MaxLimit) and hands the writing
// on to the oldest waiter left, if any.
func (p *Polled) writeQueued(ctx context.Context) {
	p.pubMu.Lock()
	batch := p.queue[:min(len(p.queue), store.MaxLimit)]
	p.queue = slices.Clone(p.queue[len(batch):])
	p.pubMu.Unlock()

	ns := make([]store.Notification, len(batch))
	for i, w := range batch {
		ns[i] = w.n
	}
	// Others' messages ride on this write: it must not end with the
	// context of the one caller that happens to write them.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.GapWait/3)
	err := p.st.AppendNotifications(wctx, ns)
	cancel()
	for _, w := range batch {
		w.done <- err
	}

	p.pubMu.Lock()
	if len(p.queue) > 0 {
		p.queue[0].lead <- struct{}{}
	} else {
		p.writing = false
	}
	p.pubMu.Unlock()
}

// Subscribe implements Bus.
func (p *Polled) Subscribe(ctx context.Context, prefix string, fn func(Message)) {
	p.subs.add(ctx, prefix, fn)
}

// Run polls until ctx ends. A failed poll is logged and tried again at the
// next interval.
func (p *Polled) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	failing := false
	for {
		full, err := p.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			p.log.Warn("notification bus: poll failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			p.log.Info("notification bus: polling again")
			failing = false
		}
		if full {
			continue // more waiting: read on without a pause
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll reads once and delivers; full says the batch was full.
func (p *Polled) poll(ctx context.Context) (full bool, err error) {
	// New ones first, then the missing ones: a publisher's next message
	// commits only after its previous one, so whatever the first read
	// finds, the second finds everything committed before it.
	ns, err := p.st.NotificationsFrom(ctx, p.maxSeen+1, p.opts.Batch)
	if err != nil {
		return false, err
	}
	full = len(ns) == p.opts.Batch
	if len(p.missing) > 0 {
		seqs := make([]int64, 0, len(p.missing))
		for s := range p.missing {
			seqs = append(seqs, s)
		}
		late, err := p.st.NotificationsIn(ctx, seqs)
		if err != nil {
			return false, err
		}
		ns = append(late, ns...) // late ones have the lower numbers
	}
	now := p.opts.Now()
	for _, n := range ns {
		if n.Seq <= p.maxSeen {
			if _, ok := p.missing[n.Seq]; !ok {
				continue // delivered already, or given up
			}
			delete(p.missing, n.Seq)
		} else {
			for s := p.maxSeen + 1; s < n.Seq && len(p.missing) < maxMissing; s++ {
				p.missing[s] = now
			}
			p.maxSeen = n.Seq
		}
		p.subs.deliver(Message{Topic: n.Topic, Payload: n.Payload, Origin: n.Origin})
	}
	for s, since := range p.missing {
		if now.Sub(since) >= p.opts.GapWait {
			p.log.Warn("notification bus: a notification never appeared; giving it up", "seq", s, "waited", now.Sub(since))
			delete(p.missing, s)
		}
	}
	if now.Sub(p.mark.at) >= p.opts.Keep {
		// Every replica purges what it had finished reading a Keep ago;
		// a replica that far behind has lost its place anyway.
		if err := p.st.PurgeNotifications(ctx, p.mark.seq); err != nil {
			p.log.Warn("notification bus: purge failed", "err", err)
		}
		p.mark = purgeMark{at: now, seq: p.done()}
	}
	return full, nil
}

// done is the lowest Seq not yet delivered or given up.
func (p *Polled) done() int64 {
	low := p.maxSeen + 1
	for s := range p.missing {
		low = min(low, s)
	}
	return low
}

// maxMissing bounds the numbers waited for at once: a jump past it (the
// counter was reset by hand) is not worth a query of that size.
const maxMissing = 10_000
