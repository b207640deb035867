package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
)

// bucket is a token bucket on the runtime's clock (not the wall clock), so
// tests can drive rate limits with a ManualClock.
type bucket struct {
	rate   float64 // tokens per second; 0 = unlimited
	burst  float64
	tokens float64
	last   time.Time
	// paused is when the platform may take sends again after a 429 or
	// while it is failing (5xx, timeouts, resets); probing says one send is
	// testing whether it does, and the others wait for its answer rather
	// than all collecting errors and backing off on their own: when the
	// platform comes back, every chat goes on at once.
	paused  time.Time
	probing bool
	// failures counts the bot's sends that failed in a row (retryably),
	// for the probe's backoff.
	failures int
}

// probeWait is how often a send waiting for a probe looks again.
const probeWait = 200 * time.Millisecond

// wait reports how long until a token is available (0 when one is now).
func (b *bucket) wait(now time.Time) time.Duration {
	if b == nil {
		return 0
	}
	if b.paused.After(now) {
		return b.paused.Sub(now)
	}
	if b.probing {
		return probeWait
	}
	if b.rate <= 0 {
		return 0
	}
	if b.last.IsZero() {
		b.tokens = b.burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *bucket) take() {
	if b != nil && b.rate > 0 {
		b.tokens--
	}
}

// pause makes the bot's bucket wait until at: a 429's retry_after applies
// to the bot as a whole, so its other chats wait too instead of collecting
// 429s of their own.
func (c *outChannel) pause(bot string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bb := c.bots[bot]; bb != nil {
		if at.After(bb.paused) {
			bb.paused = at
		}
		bb.probing = false
	}
}

// failing pauses the bot after a send failed in a way worth retrying that
// came without a retry_after: the platform (or the way to it) is down for
// every chat, so one probe a backoff later tests it for all of them. It
// returns how many sends failed in a row.
func (c *outChannel) failing(bot string, now time.Time, backoff func(n int) time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	bb := c.bots[bot]
	if bb == nil {
		return 0
	}
	bb.failures++
	if at := now.Add(backoff(bb.failures)); at.After(bb.paused) {
		bb.paused = at
	}
	bb.probing = false
	return bb.failures
}

// answered ends a probe: the platform answered, with success or a refusal
// that is not about its own state.
func (c *outChannel) answered(bot string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bb := c.bots[bot]; bb != nil {
		bb.probing = false
		bb.failures = 0
	}
}

// outage reports whether the bot's sends wait for the platform (a pause
// or a probe in progress), as opposed to waiting for rate-limit tokens.
func (c *outChannel) outage(bot string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	bb := c.bots[bot]
	return bb != nil && (bb.paused.After(now) || bb.probing)
}

// idle reports whether the bucket is full again, so it can be forgotten.
func (b *bucket) idle(now time.Time) bool {
	return b.wait(now) == 0 && b.tokens >= b.burst
}

// outChannel applies one channel's limits: one bucket per bot (the platform
// limits a bot token as a whole) and one per chat.
type outChannel struct {
	name    string
	sender  channel.Sender
	limits  channel.Limits
	isGroup func(string) bool
	window  time.Duration // free-form window (WhatsApp's 24 h); 0: none

	mu    sync.Mutex
	bots  map[string]*bucket
	chats map[string]*bucket
}

func newOutChannel(name string, ch Channel) *outChannel {
	c := &outChannel{name: name, sender: ch.Sender, limits: ch.Limits, isGroup: ch.IsGroup, window: ch.Window,
		bots: map[string]*bucket{}, chats: map[string]*bucket{}}
	if c.isGroup == nil {
		c.isGroup = func(chat string) bool { return strings.HasPrefix(chat, "-") }
	}
	return c
}

// rateMargin is the share of a platform's bot-wide rate the sends keep to.
// Our bucket and the platform's count the same sends at slightly different
// moments (a request's way there varies by milliseconds, more on a busy
// machine): sending at exactly the limit, a few of them bunch up on arrival
// and get a 429, which stalls the whole bot for its retry_after. 3% under
// the limit, the platform's bucket keeps slack to absorb that.
const rateMargin = 0.97

// maxChatBuckets bounds remembered per-chat buckets; full ones are dropped.
const maxChatBuckets = 10000

// reserve takes a token from the bot's and the chat's bucket when both have
// one, or reports how long to wait.
func (c *outChannel) reserve(now time.Time, bot, chat string) time.Duration {
	return c.reserveKeeping(now, bot, chat, 0)
}

// reserveKeeping is reserve for sends that must not delay replies
// (broadcasts): it takes the bot's token only while keep more are left for
// the replies to live conversations, so those find one at once.
func (c *outChannel) reserveKeeping(now time.Time, bot, chat string, keep float64) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limits
	bb := c.bots[bot]
	if bb == nil {
		bb = &bucket{rate: l.PerSecond * rateMargin, burst: float64(max(l.Burst, 1))}
		c.bots[bot] = bb
	}
	key := bot + "\x00" + chat
	cb := c.chats[key]
	if cb == nil {
		if len(c.chats) >= maxChatBuckets {
			for k, b := range c.chats {
				if b.idle(now) {
					delete(c.chats, k)
				}
			}
		}
		if c.isGroup(chat) {
			cb = &bucket{rate: l.PerGroupMin / 60, burst: float64(max(l.PerChatBurst, 1))}
		} else {
			cb = &bucket{rate: l.PerChatSecond, burst: float64(max(l.PerChatBurst, 1))}
		}
		c.chats[key] = cb
	}
	if w := max(bb.wait(now), cb.wait(now)); w > 0 {
		return w
	}
	// A small bucket keeps less: what it holds beyond a quarter is the bulk's.
	keep = min(keep, bb.burst/4)
	if keep > 0 && bb.rate > 0 && bb.tokens < 1+keep {
		return time.Duration((1 + keep - bb.tokens) / bb.rate * float64(time.Second))
	}
	bb.take()
	cb.take()
	if !bb.paused.IsZero() {
		// The first send after a pause is the probe.
		bb.paused, bb.probing = time.Time{}, true
	}
	return 0
}

// drainers runs at most one delivery goroutine per conversation in this
// process, which is what keeps a chat's messages in order and keeps the
// resend sweep from sending what a live sender is sending.
type drainers struct {
	r       *Runtime
	mu      sync.Mutex
	m       map[string]*drainState
	started bool
	stopped bool
	wg      sync.WaitGroup
	n       atomic.Int64
}

type drainState struct {
	again bool // more was written while draining: look again before leaving
}

func newDrainers(r *Runtime) *drainers { return &drainers{r: r, m: map[string]*drainState{}} }

func (d *drainers) start() {
	d.mu.Lock()
	d.started = true
	d.mu.Unlock()
}

// kick makes sure the conversation's outbox is being delivered. Before Run
// and after Shutdown it does nothing: the outbox and its resend job wait.
func (d *drainers) kick(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.stopped {
		return false
	}
	if s := d.m[id]; s != nil {
		s.again = true
		return true
	}
	d.m[id] = &drainState{}
	d.wg.Add(1)
	d.n.Add(1)
	go d.run(id)
	return true
}

// busy reports whether this process is delivering the conversation now.
func (d *drainers) busy(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[id] != nil
}

func (d *drainers) active() int64 { return d.n.Load() }

// delivering reports whether kick starts deliveries (between Run and
// Shutdown).
func (d *drainers) delivering() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.started && !d.stopped
}

func (d *drainers) stopAndWait() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *drainers) run(id string) {
	defer d.wg.Done()
	defer d.n.Add(-1)
	ctx := d.r.bg
	for {
		d.mu.Lock()
		s := d.m[id]
		s.again = false
		d.mu.Unlock()
		if d.r.drainOnce(ctx, id) {
			// Another process's messages are ahead of ours (or the store
			// failed): wait for it to deliver them (or for its lease to
			// end), then look at the stored document again.
			if !d.r.sleep(ctx, d.r.opts.ForeignPoll) {
				d.mu.Lock()
				delete(d.m, id)
				d.mu.Unlock()
				return
			}
			if _, err := d.r.fresh(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				d.r.log.Warn("reload conversation", "conversation", id, "err", err)
			}
			continue
		}
		d.mu.Lock()
		if !s.again || ctx.Err() != nil {
			delete(d.m, id)
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

// claim brings a conversation's outbox under this process's knowledge:
// items of owners whose lease ended are adopted (one conditional write),
// after those whose delivery event is already stored are set aside as done;
// items naming this process that it lost track of (its cache entry was
// evicted) are checked the same way. It reports whether any item is this
// process's to deliver.
func (r *Runtime) claim(ctx context.Context, id string) (bool, error) {
	return r.claimKnowing(ctx, id, nil)
}

// claimKnowing is claim with the delivery state of some items already
// looked up (item id → has a delivery event), as the sweep does for a page
// of outboxes at once.
func (r *Runtime) claimKnowing(ctx context.Context, id string, known map[string]bool) (bool, error) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt <= r.opts.ConflictRetries; attempt++ {
		cur, err := r.currentLocked(ctx, s, id)
		if err != nil {
			return false, err
		}
		e := s.get(id)
		// Items of a live process ahead of this process's own are looked
		// up too: that process prunes what it delivered only when it next
		// writes the conversation, so their delivery events say whether
		// ours may go. Its effects ahead of ours this process schedules as
		// well (jobs have deterministic ids: the second schedule is a no-op).
		lastOwn := -1
		for i, m := range cur.Outbox {
			if m.Owner == r.opts.Owner || e.owns(m.ID) {
				lastOwn = i
			}
		}
		var check []store.OutMessage
		for i, m := range cur.Outbox {
			if e.isDone(m.ID) || e.owns(m.ID) {
				continue
			}
			switch {
			case m.Owner == r.opts.Owner || !r.alive(ctx, m.Owner):
				check = append(check, m)
			case i < lastOwn && isMessage(m.Kind):
				check = append(check, m)
			case i < lastOwn:
				e.own(m.ID)
			}
		}
		if len(check) == 0 {
			return len(e.mine) > 0, nil
		}
		var unknown []store.OutMessage
		for _, m := range check {
			if _, ok := known[m.ID]; !ok {
				unknown = append(unknown, m)
			}
		}
		seen, err := r.delivered(ctx, cur, unknown)
		if err != nil {
			return false, err
		}
		for id, ok := range known {
			if ok {
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[id] = true
			}
		}
		// Items that went out are set aside (the next write prunes them):
		// first the logs they carry are appended, which their owner may
		// not have done before it died.
		var carried store.PendingLogs
		for _, m := range check {
			if seen[m.ID] && !e.isLogged(m.ID) {
				addLogs(&carried, r.logsOf(m))
			}
		}
		if !emptyLogs(carried) {
			if err := r.appendBoth(ctx, carried); err != nil {
				return false, fmt.Errorf("append logs of delivered items: %w", err)
			}
		}
		var adopt []string
		for _, m := range check {
			switch {
			case seen[m.ID]:
				e.finish(m.ID)
			case m.Owner == r.opts.Owner:
				e.own(m.ID)
			case !r.alive(ctx, m.Owner):
				adopt = append(adopt, m.ID)
			}
		}
		if len(adopt) == 0 {
			return len(e.mine) > 0, nil
		}
		next := *cur
		next.Outbox = make([]store.OutMessage, 0, len(cur.Outbox))
		for _, m := range cur.Outbox {
			if e.isDone(m.ID) {
				continue
			}
			if slices.Contains(adopt, m.ID) {
				m.Owner = r.opts.Owner
			}
			next.Outbox = append(next.Outbox, m)
		}
		if len(next.Outbox) == 0 {
			next.Outbox = nil
		}
		err = r.st.CommitConversation(ctx, store.ConversationChange{Conversation: &next})
		if errors.Is(err, store.ErrVersionConflict) {
			r.stats.conflicts.Add(1)
			s.drop(id)
			r.contention(attempt)
			continue
		}
		if err != nil {
			return false, fmt.Errorf("adopt outbox: %w", err)
		}
		e = s.put(id, &next, r.opts.CachePerStripe)
		e.own(adopt...)
		r.stats.resends.Add(1)
		r.log.Info("adopted outbox of a process whose lease ended", "conversation", id, "items", len(adopt))
		return true, nil
	}
	return false, fmt.Errorf("adopt outbox: %w", ErrBusy)
}

// delivered asks the store which of items already have a delivery event
// (sent, failed or blocked): those went out, or were given up, before
// their owner died. Effects (timers, webhook calls) have none: scheduling
// their job again is harmless.
func (r *Runtime) delivered(ctx context.Context, conv *store.Conversation, items []store.OutMessage) (map[string]bool, error) {
	q := r.newDeliveryQuery()
	for _, m := range items {
		q.add(conv.Bot, m)
	}
	return q.run(ctx)
}

// deliveryQuery looks up, in one query, whether message items have a
// delivery event.
type deliveryQuery struct {
	r     *Runtime
	keys  []store.EventKey
	known map[string]bool // item id → delivered; false: looked up, not found
}

func (r *Runtime) newDeliveryQuery() *deliveryQuery {
	return &deliveryQuery{r: r, known: map[string]bool{}}
}

// add looks up message item m of bot; an item past the records
// (pastRecords) counts as delivered without a look.
func (q *deliveryQuery) add(bot string, m store.OutMessage) {
	if !isMessage(m.Kind) || m.At.IsZero() {
		return
	}
	if q.r.pastRecords(m) {
		q.known[m.ID] = true
		return
	}
	q.known[m.ID] = false
	for _, typ := range [...]string{"sent", "failed", "blocked"} {
		q.keys = append(q.keys, store.EventKey{Bot: bot, ID: m.ID + "/" + typ, At: m.At})
	}
}

func (q *deliveryQuery) run(ctx context.Context) (map[string]bool, error) {
	if len(q.keys) == 0 {
		return q.known, nil
	}
	found, err := q.r.st.StoredEvents(ctx, q.keys)
	if err != nil {
		return nil, fmt.Errorf("check delivered items: %w", err)
	}
	for _, id := range found {
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			q.known[id[:i]] = true
		}
	}
	return q.known, nil
}

// current returns the conversation as this process last saw it (cache) or
// as stored.
func (r *Runtime) current(ctx context.Context, id string) (*store.Conversation, error) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return r.currentLocked(ctx, s, id)
}

func (r *Runtime) currentLocked(ctx context.Context, s *stripe, id string) (*store.Conversation, error) {
	if e := s.get(id); e != nil && e.conv != nil {
		return e.conv, nil
	}
	c, err := r.st.GetConversation(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	s.put(id, c, r.opts.CachePerStripe)
	return c, nil
}

type itemState uint8

const (
	itemForeign itemState = iota // another (live) process delivers it
	itemMine
	itemDone
	itemUnrecorded // delivered; its record waits to be appended again
)

// plan returns the conversation as this process knows it and what each
// outbox item is to it.
func (r *Runtime) plan(id string) (*store.Conversation, []itemState) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(id)
	if e == nil || e.conv == nil {
		return nil, nil
	}
	states := make([]itemState, len(e.conv.Outbox))
	for i, m := range e.conv.Outbox {
		switch {
		case e.isDone(m.ID):
			states[i] = itemDone
		case e.isLogging(m.ID):
			states[i] = itemDone // delivered; finished once its carried logs are in
		case e.unrecorded[m.ID] != nil:
			states[i] = itemUnrecorded
		case e.owns(m.ID):
			states[i] = itemMine
		}
	}
	return e.conv, states
}

// finishItem records that this process saw item through: the next write of
// the conversation prunes it. It reports false when the item is no longer
// this process's (its lease lapsed and the knowledge was dropped).
func (r *Runtime) finishItem(id, item string) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.get(id); e != nil {
		e.finish(item)
	}
}

// stillMine reports whether item is still this process's to deliver.
func (r *Runtime) stillMine(id, item string) bool {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id).owns(item)
}

type outcome uint8

const (
	outSent outcome = iota
	outFailed
	outBlocked
	outAborted
)

// drainOnce delivers this process's items of the outbox as it stands, in
// order, one at a time. It reports true when it stopped at an item a live
// process owns while items of its own wait behind it.
func (r *Runtime) drainOnce(ctx context.Context, id string) (waiting bool) {
	if _, err := r.claim(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false
		}
		// The store is struggling: look again after a pause rather than
		// leave this process's items to no one.
		r.log.Warn("drain outbox", "conversation", id, "err", err)
		return ctx.Err() == nil
	}
	conv, states := r.plan(id)
	if !slices.Contains(states, itemMine) && !slices.Contains(states, itemUnrecorded) {
		return false
	}
	ch := r.channels[conv.Channel]
	blocked := conv.Blocked
	for i, m := range conv.Outbox {
		if ctx.Err() != nil {
			return false
		}
		switch states[i] {
		case itemDone:
			continue
		case itemForeign:
			if !slices.Contains(states[i:], itemMine) {
				return false
			}
			r.flushAhead(ctx, id)
			return true
		case itemUnrecorded:
			if !r.recordAgain(ctx, conv, m) {
				return true // the store still fails: look again after a pause
			}
			continue
		}
		if !r.stillMine(id, m.ID) {
			return false // the lease lapsed meanwhile: claim again
		}
		switch m.Kind {
		case kindJoined:
			// Only channels that can show it (the web chat) are told.
			if n, ok := channelNoticer(ch); ok && !blocked {
				if err := n.Joined(ctx, conv.Bot, conv.Chat, m.Text); err != nil {
					r.log.Debug("operator joined notice", "conversation", id, "err", err)
				}
			}
			r.finishItem(id, m.ID)
			continue
		case kindTimer, kindWebhook, kindExpire:
			if err := r.scheduleItem(ctx, conv, m); err != nil {
				r.log.Warn("schedule job from outbox", "conversation", id, "item", m.ID, "err", err)
				r.stats.errors.Add(1)
				return true // keep order: look again after a pause
			}
			r.finishItem(id, m.ID)
			continue
		}
		if blocked {
			const why = "not sent: the chat has blocked the bot"
			if !r.record(ctx, conv, m, nil, failedLine(conv, m, why)) {
				return true
			}
			r.noteDelivery(ctx, conv, m, "blocked", why)
			continue
		}
		if ch == nil {
			r.stats.sendFailed.Add(1)
			r.log.Error("no sender for channel", "channel", conv.Channel, "conversation", id)
			reason := "no sender for channel " + conv.Channel
			ev := r.deliveryEvent(conv, m, "failed", map[string]any{"error": reason})
			if !r.record(ctx, conv, m, &ev, failedLine(conv, m, reason)) {
				return true
			}
			r.noteDelivery(ctx, conv, m, "failed", reason)
			continue
		}
		res, sent, attempts, serr := r.deliver(ctx, ch, conv, m)
		switch res {
		case outAborted:
			return false
		case outSent:
			data := map[string]any{"platform_id": sent.PlatformID, "attempts": attempts, engine.DataBy: sentBy(m),
				engine.DataMS: max(r.clock.Now().Sub(m.At).Milliseconds(), 0)}
			ev := r.deliveryEvent(conv, m, "sent", data)
			if !r.record(ctx, conv, m, &ev) {
				return true
			}
			r.noteDelivery(ctx, conv, m, "sent", "")
		case outFailed:
			ev := r.deliveryEvent(conv, m, "failed", map[string]any{"error": errText(serr), "attempts": attempts, engine.DataBy: sentBy(m)})
			if !r.record(ctx, conv, m, &ev, failedLine(conv, m, errText(serr))) {
				return true
			}
			r.noteDelivery(ctx, conv, m, "failed", errText(serr))
		case outBlocked:
			blocked = true
			ev := r.deliveryEvent(conv, m, "blocked", map[string]any{"error": errText(serr), engine.DataBy: sentBy(m)})
			r.markBlocked(ctx, conv, m, ev, failedLine(conv, m, errText(serr)))
			r.noteDelivery(ctx, conv, m, "blocked", errText(serr))
		}
	}
	return false
}

// record appends what became of item m (its delivery event, transcript
// lines) with the logs the item carries, one insert of each kind in
// parallel, and marks it seen through. The appends are idempotent, so an
// item delivered again after a crash records nothing twice; the
// conversation is not written: the next step prunes the item. When the
// store fails, the record is kept to be appended again (recordAgain) and
// record reports false: the item is neither sent again nor pruned.
func (r *Runtime) record(ctx context.Context, conv *store.Conversation, m store.OutMessage, ev *store.Event, lines ...store.Message) bool {
	var l, carried store.PendingLogs
	if ev != nil {
		// Were the inserts cut short after it, whoever finds the event
		// stored appends the item's logs (claimKnowing, carry, the sweep).
		l.Events = append(l.Events, *ev)
	}
	s := r.locks.of(conv.ID)
	s.mu.Lock()
	if !s.get(conv.ID).isLogged(m.ID) {
		addLogs(&carried, m.Logs)
	}
	s.mu.Unlock()
	l.Messages = append(l.Messages, lines...)
	// The carried events go in the delivery event's insert; the carried
	// lines in a transcript insert beside it (one round trip for both),
	// which the chat's next message need not wait for: only the event
	// decides whether a crash sends this one again.
	l.Events = append(l.Events, carried.Events...)
	// In fold order: the step's events, then the delivery's (a flush may
	// see a prefix of the insert).
	analytics.SortChange(l.Events)
	if ev != nil && len(lines) == 0 && len(carried.Messages) > 0 {
		return r.recordApart(ctx, conv, m, l, store.PendingLogs{Messages: carried.Messages})
	}
	l.Messages = append(l.Messages, carried.Messages...)
	err := r.appendBoth(ctx, l)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(conv.ID)
	if err != nil {
		r.log.Warn("append delivery record", "conversation", conv.ID, "item", m.ID, "err", err)
		r.stats.errors.Add(1)
		if e != nil && e.owns(m.ID) {
			if e.unrecorded == nil {
				e.unrecorded = map[string]*pendingRecord{}
			}
			e.unrecorded[m.ID] = &pendingRecord{logs: l, since: r.clock.Now()}
			return false
		}
		// The item is no longer this process's (its lease lapsed): the
		// adopter records it.
		return true
	}
	if e != nil {
		e.finish(m.ID)
	}
	return true
}

// recordApart writes a delivery's event (and lines) and, in parallel, the
// logs its item carried. It returns once the event is written; the item is
// seen through (prunable) once the logs are too, and until then it is
// neither sent again nor pruned (cacheEntry.logging). Logs the store
// refuses become a record to append again.
func (r *Runtime) recordApart(ctx context.Context, conv *store.Conversation, m store.OutMessage, l, carried store.PendingLogs) bool {
	s := r.locks.of(conv.ID)
	s.mu.Lock()
	e := s.get(conv.ID)
	if e == nil {
		s.mu.Unlock()
		addLogs(&l, &carried)
		return r.appendBoth(ctx, l) == nil
	}
	if e.logging == nil {
		e.logging = map[string]struct{}{}
	}
	e.logging[m.ID] = struct{}{}
	s.mu.Unlock()
	// Both halves write under the stripe lock; the second to succeed
	// sees the item through. A failed half is a record to append again.
	var eventOK, logsOK bool
	keep := func(e *cacheEntry, logs store.PendingLogs) {
		if e.unrecorded == nil {
			e.unrecorded = map[string]*pendingRecord{}
		}
		if old := e.unrecorded[m.ID]; old != nil {
			addLogs(&old.logs, &logs)
		} else {
			e.unrecorded[m.ID] = &pendingRecord{logs: logs, since: r.clock.Now()}
		}
	}
	r.out.wg.Add(1)
	r.out.n.Add(1)
	go func() {
		defer r.out.wg.Done()
		defer r.out.n.Add(-1)
		err := r.appendBoth(ctx, carried)
		s.mu.Lock()
		defer s.mu.Unlock()
		e := s.get(conv.ID)
		if e == nil {
			return
		}
		delete(e.logging, m.ID)
		if err != nil {
			r.log.Warn("append carried transcript and events", "conversation", conv.ID, "item", m.ID, "err", err)
			r.stats.errors.Add(1)
			keep(e, carried)
		} else {
			logsOK = true
			if eventOK && e.unrecorded[m.ID] == nil {
				e.finish(m.ID)
			}
		}
		if e.unrecorded[m.ID] != nil {
			r.out.kick(conv.ID)
		}
	}()
	err := r.appendBoth(ctx, l)
	s.mu.Lock()
	defer s.mu.Unlock()
	e = s.get(conv.ID)
	if e == nil {
		return true
	}
	if err != nil {
		r.log.Warn("append delivery record", "conversation", conv.ID, "item", m.ID, "err", err)
		r.stats.errors.Add(1)
		keep(e, l)
		return false
	}
	eventOK = true
	if logsOK && e.unrecorded[m.ID] == nil {
		e.finish(m.ID)
	}
	return true
}

// recordAgain appends a delivery record the store did not take before. It
// gives up (logging the loss) a SendHorizon after the first failure, so a
// store that refuses one record for good does not hold the chat forever.
func (r *Runtime) recordAgain(ctx context.Context, conv *store.Conversation, m store.OutMessage) bool {
	s := r.locks.of(conv.ID)
	s.mu.Lock()
	var rec *pendingRecord
	if e := s.get(conv.ID); e != nil {
		rec = e.unrecorded[m.ID]
	}
	s.mu.Unlock()
	if rec == nil {
		return true
	}
	err := r.appendBoth(ctx, rec.logs)
	if err != nil && r.clock.Now().Sub(rec.since) < r.opts.SendHorizon {
		r.log.Warn("append delivery record", "conversation", conv.ID, "item", m.ID, "err", err)
		r.stats.errors.Add(1)
		return false
	}
	if err != nil {
		r.log.Error("delivery record not written; giving up", "conversation", conv.ID, "item", m.ID,
			"lines", len(rec.logs.Messages), "events", len(rec.logs.Events), "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.get(conv.ID); e != nil {
		delete(e.unrecorded, m.ID)
		e.finish(m.ID)
	}
	return true
}

// markBlocked records that the chat blocked the bot while m was sent: the
// chat is marked blocked and its queued messages dropped, each shown as
// failed in the transcript.
func (r *Runtime) markBlocked(ctx context.Context, conv *store.Conversation, m store.OutMessage, ev store.Event, line store.Message) {
	r.finishItem(conv.ID, m.ID)
	// The rewrite drops m with the chat's other messages; the logs they
	// carry (m's even if it was pruned already: appends are idempotent)
	// go with it.
	err := r.rewrite(ctx, conv.ID, []store.Event{ev}, []store.Message{line}, func(cur, next *store.Conversation) store.PendingLogs {
		next.Blocked = true
		var out store.PendingLogs
		addLogs(&out, m.Logs)
		for _, o := range cur.Outbox {
			if isMessage(o.Kind) && o.ID != m.ID {
				out.Messages = append(out.Messages, failedLine(cur, o, "not sent: the chat has blocked the bot"))
				addLogs(&out, o.Logs)
			}
		}
		next.Outbox, _ = dropMessages(cur.Outbox)
		next.UpdatedAt = cur.UpdatedAt
		return out
	})
	if err != nil {
		r.log.Warn("mark chat blocked", "conversation", conv.ID, "err", err)
		r.stats.errors.Add(1)
	}
}

// deliveryEvent is the event recording what became of outbox item m. Its id
// derives from the item and its time is the item's, so a repeated delivery
// (after a crash) records nothing twice.
func (r *Runtime) deliveryEvent(conv *store.Conversation, m store.OutMessage, typ string, data map[string]any) store.Event {
	at := m.At
	if at.IsZero() {
		at = r.clock.Now() // an item queued before items carried their time
	}
	return store.Event{ID: m.ID + "/" + typ, Bot: conv.Bot, Flow: conv.FlowID,
		FlowVersion: conv.FlowVersion, Node: conv.Node, Type: typ, Conversation: conv.ID,
		Channel: conv.Channel, At: at, Data: data}
}

// sentBy says who wrote an outbox message, for its delivery events.
func sentBy(m store.OutMessage) string {
	if m.Kind == kindOperator {
		return "operator"
	}
	return "bot"
}

// failedLine is the transcript line that shows message m was never
// delivered; it sorts right after the message's own line.
func failedLine(conv *store.Conversation, m store.OutMessage, reason string) store.Message {
	dir := store.DirectionBot
	if m.Kind == kindOperator {
		dir = store.DirectionOperator
	}
	return store.Message{ID: m.ID + "/failed", ConversationID: conv.ID, Bot: conv.Bot, Direction: dir,
		Text: m.Text, Buttons: m.Buttons, At: m.At, Status: store.MessageFailed, Error: reason}
}

func engineButton(b store.Button) engine.Button {
	return engine.Button{Label: b.Label, Payload: b.Payload}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// deliver sends one message under the rate limits, retrying what may
// succeed later until SendHorizon after its first failure. The retry state
// (when the failures began) is written to the outbox item, so a restart,
// or the process that adopts the item, keeps the horizon.
func (r *Runtime) deliver(ctx context.Context, ch *outChannel, conv *store.Conversation, m store.OutMessage) (outcome, channel.Sent, int, error) {
	attempts, since := m.Attempts, m.FailingSince
	// The horizon counts from when the item was queued (or first failed,
	// for items queued before they carried their time): an item that only
	// waits behind the bot's outage, probed by another send, never fails
	// itself, and the chat's later items must not each wait a horizon of
	// their own.
	horizonFrom := r.clock.Now()
	for _, t := range []time.Time{m.At, m.FailingSince} {
		if !t.IsZero() && t.Before(horizonFrom) {
			horizonFrom = t
		}
	}
	deadline := horizonFrom.Add(r.opts.SendHorizon)
	msg := channel.Outbound{ID: m.ID, IdempotencyKey: m.ID, Bot: conv.Bot, Chat: conv.Chat, Text: m.Text,
		LastInbound: conv.LastInboundAt, Author: m.Author}
	if t := m.Template; t != nil {
		msg.Template = &channel.Template{Name: t.Name, Language: t.Language, Params: t.Params}
	}
	for _, b := range m.Buttons {
		msg.Buttons = append(msg.Buttons, engineButton(b))
	}
	for {
		for {
			if !r.leaseValid() {
				// Others may be adopting this process's items: send
				// nothing until the lease is renewed.
				if !r.waitLease(ctx) {
					return outAborted, channel.Sent{}, attempts, ctx.Err()
				}
				continue
			}
			if !r.stillMine(conv.ID, m.ID) {
				return outAborted, channel.Sent{}, attempts, errors.New("item no longer ours")
			}
			now := r.clock.Now()
			w := ch.reserve(now, conv.Bot, conv.Chat)
			if w == 0 {
				break
			}
			if ch.outage(conv.Bot, now) && !now.Before(deadline) {
				return r.failed(conv, m, attempts, fmt.Errorf("gave up: %s could not send for %s", ch.name, r.opts.SendHorizon))
			}
			// The wait (a rate limit, an outage) should not hold back the
			// transcript: what the conversation's items carry goes now.
			r.flushAhead(ctx, conv.ID)
			if !r.sleep(ctx, w) {
				return outAborted, channel.Sent{}, attempts, ctx.Err()
			}
		}
		attempts++
		sctx, cancel := context.WithTimeout(ctx, r.opts.SendTimeout)
		sent, err := ch.sender.Send(sctx, msg)
		cancel()
		var se *channel.SendError
		if err != nil {
			se = channel.AsSendError(err)
		}
		switch {
		case se != nil && se.Retryable && se.RetryAfter > 0:
			// retry_after applies to the bot as a whole.
			ch.pause(conv.Bot, r.clock.Now().Add(se.RetryAfter))
		case se != nil && se.Retryable:
			// 5xx, a timeout or a reset: the platform is failing for every
			// chat; one probe at a time tests it, a backoff apart.
			ch.failing(conv.Bot, r.clock.Now(), func(n int) time.Duration {
				return r.backoff(r.opts.SendBackoff, r.opts.SendMaxBackoff, n)
			})
		default:
			ch.answered(conv.Bot)
		}
		if err == nil {
			r.stats.sent.Add(1)
			return outSent, sent, attempts, nil
		}
		if ctx.Err() != nil {
			return outAborted, channel.Sent{}, attempts, ctx.Err()
		}
		switch {
		case se.Blocked:
			r.stats.blocked.Add(1)
			r.log.Info("chat blocked the bot", "conversation", conv.ID, "code", se.Code)
			return outBlocked, channel.Sent{}, attempts, err
		case se.Retryable:
			r.stats.sendRetries.Add(1)
			now := r.clock.Now()
			if since.IsZero() {
				since = now
			}
			if !now.Before(deadline) {
				return r.failed(conv, m, attempts, fmt.Errorf("gave up after retrying for %s: %w", r.opts.SendHorizon, err))
			}
			r.log.Debug("send retry", "conversation", conv.ID, "message", m.ID, "err", err)
			// Retries are rare (one probe at a time while the platform
			// fails): a write each keeps the retry state durable. The wait
			// before the next try is the bot's pause, taken in reserve.
			if err := r.noteRetry(ctx, conv.ID, m.ID, since, attempts, errText(err)); err != nil {
				r.log.Warn("record send retry", "conversation", conv.ID, "message", m.ID, "err", err)
			}
		default:
			return r.failed(conv, m, attempts, err)
		}
	}
}

func (r *Runtime) failed(conv *store.Conversation, m store.OutMessage, attempts int, err error) (outcome, channel.Sent, int, error) {
	r.stats.sendFailed.Add(1)
	r.log.Warn("message not delivered", "conversation", conv.ID, "message", m.ID, "attempts", attempts, "err", err)
	return outFailed, channel.Sent{}, attempts, err
}

// backoff is base·2^(n-1), capped, with ±25% jitter so retries of many
// chats do not arrive together.
func (r *Runtime) backoff(base, maxWait time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	jitter := time.Duration(r.rnd.Uint64()%uint64(d/2+1)) - d/4
	return d + jitter
}

// sleep waits d on the runtime's clock; false when ctx ended first.
func (r *Runtime) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-r.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// noteRetry records on outbox item itemID that its sends have been failing
// since since, so the horizon survives a restart.
func (r *Runtime) noteRetry(ctx context.Context, id, itemID string, since time.Time, attempts int, lastErr string) error {
	return r.rewrite(ctx, id, nil, nil, func(cur, next *store.Conversation) store.PendingLogs {
		i := slices.IndexFunc(cur.Outbox, func(m store.OutMessage) bool { return m.ID == itemID })
		if i < 0 {
			return store.PendingLogs{}
		}
		next.Outbox = slices.Clone(cur.Outbox)
		it := &next.Outbox[i]
		it.FailingSince, it.Attempts, it.LastError = since, attempts, lastErr
		next.UpdatedAt = cur.UpdatedAt // not the person's activity: the inbox order stays
		return store.PendingLogs{}
	})
}

// rewrite changes the conversation outside a step with a conditional write,
// reloading on conflict. change edits next, a copy of cur (whose outbox has
// the items this process saw through already pruned), and returns extra
// transcript lines and events; events and lines go with the write.
func (r *Runtime) rewrite(ctx context.Context, id string, events []store.Event, lines []store.Message, change func(cur, next *store.Conversation) store.PendingLogs) error {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt <= r.opts.ConflictRetries; attempt++ {
		stored, err := r.currentLocked(ctx, s, id)
		if err != nil {
			return err
		}
		cur := *stored
		cur.Outbox = pruneDone(s.get(id), stored.Outbox)
		next := cur
		more := change(&cur, &next)
		msgs := append(slices.Clip(lines), more.Messages...)
		evs := append(slices.Clip(events), more.Events...)
		err = r.st.CommitConversation(ctx, store.ConversationChange{Conversation: &next, Messages: msgs, Events: evs})
		if errors.Is(err, store.ErrLogsNotWritten) {
			// The change stands; the logs get a second try on their own,
			// as a step's logs do (appends are idempotent).
			err = nil
			r.appendLogs(ctx, &result{conv: &next, lines: msgs, events: evs})
		}
		if errors.Is(err, store.ErrVersionConflict) {
			r.stats.conflicts.Add(1)
			s.drop(id)
			r.contention(attempt)
			continue
		}
		if err != nil {
			return fmt.Errorf("rewrite conversation: %w", err)
		}
		s.put(id, &next, r.opts.CachePerStripe)
		return nil
	}
	return fmt.Errorf("rewrite conversation: %w", ErrBusy)
}

// pruneDone returns box without the items e saw through, and without the
// carried logs e appended already (which need not be written again); box
// itself when there is nothing to leave out.
func pruneDone(e *cacheEntry, box []store.OutMessage) []store.OutMessage {
	if e == nil || len(e.done)+len(e.logged) == 0 {
		return box
	}
	out := make([]store.OutMessage, 0, len(box))
	for _, m := range box {
		if e.isDone(m.ID) {
			continue
		}
		if m.Logs != nil && e.isLogged(m.ID) {
			m.Logs = nil
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// scheduleItem turns an effect item of the outbox into its durable job.
func (r *Runtime) scheduleItem(ctx context.Context, conv *store.Conversation, m store.OutMessage) error {
	now := r.clock.Now()
	j := store.Job{ID: m.ID, Bot: conv.Bot, Target: conv.ID}
	switch m.Kind {
	case kindTimer:
		spec, err := parseTimerSpec(m.Text)
		if err != nil {
			return err
		}
		j.Kind = JobTimer
		j.Payload = []byte(strconv.FormatUint(uint64(spec.Timer), 10))
		j.DueAt = m.NotBefore
		if spec.AfterSend {
			// A reply timeout counts from the moment the prompt went out.
			j.DueAt = now.Add(spec.After)
			if spec.Delayed {
				j.DueAt = r.bots.get(ctx, conv.Bot).quiet(j.DueAt)
			}
		}
	case kindWebhook:
		j.Kind = JobWebhook
		j.Payload = []byte(m.Text)
		j.DueAt = now
	case kindExpire:
		j.Kind = JobExpire
		j.DueAt = m.NotBefore
	}
	if err := r.st.ScheduleJob(ctx, j); err != nil && !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	if !j.DueAt.After(now) {
		r.wakeJobs()
	}
	return nil
}
