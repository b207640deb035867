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
	// paused is when the platform allows sending again after a 429;
	// probing says one send is testing whether it really does, and the
	// others wait for its answer rather than all collecting 429s at once.
	paused  time.Time
	probing bool
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

// answered ends a probe: the platform answered something other than 429.
func (c *outChannel) answered(bot string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bb := c.bots[bot]; bb != nil {
		bb.probing = false
	}
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

	mu    sync.Mutex
	bots  map[string]*bucket
	chats map[string]*bucket
}

func newOutChannel(name string, ch Channel) *outChannel {
	c := &outChannel{name: name, sender: ch.Sender, limits: ch.Limits, isGroup: ch.IsGroup,
		bots: map[string]*bucket{}, chats: map[string]*bucket{}}
	if c.isGroup == nil {
		c.isGroup = func(chat string) bool { return strings.HasPrefix(chat, "-") }
	}
	return c
}

// maxChatBuckets bounds remembered per-chat buckets; full ones are dropped.
const maxChatBuckets = 10000

// reserve takes a token from the bot's and the chat's bucket when both have
// one, or reports how long to wait.
func (c *outChannel) reserve(now time.Time, bot, chat string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limits
	bb := c.bots[bot]
	if bb == nil {
		bb = &bucket{rate: l.PerSecond, burst: float64(max(l.Burst, 1))}
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
			// Another process's messages are ahead of ours: wait for it
			// to deliver them (or for the resend job to adopt them), then
			// look at the stored document again.
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

// owned returns the conversation as this process last saw it (cache) or as
// stored, and which of its outbox items are this process's to deliver.
func (r *Runtime) owned(ctx context.Context, id string) (*store.Conversation, []bool, error) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := r.currentLocked(ctx, s, id)
	if err != nil {
		return nil, nil, err
	}
	e := s.get(id)
	mine := make([]bool, len(c.Outbox))
	for i, m := range c.Outbox {
		mine[i] = e.owns(m.ID)
	}
	return c, mine, nil
}

// adopt makes the whole current outbox this process's to deliver: its
// writer is presumed dead. It reports how many items were not ours before.
func (r *Runtime) adopt(ctx context.Context, id string) (int, error) {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := r.currentLocked(ctx, s, id)
	if err != nil {
		return 0, err
	}
	e := s.get(id)
	n := 0
	for _, m := range c.Outbox {
		if !e.owns(m.ID) {
			e.own([]string{m.ID})
			n++
		}
	}
	return n, nil
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

type outcome uint8

const (
	outSent outcome = iota
	outFailed
	outBlocked
	outAborted
)

// drainOnce delivers the outbox as it stands, in order, one item at a time.
// It reports true when it stopped at an item another process owns while
// items of its own wait behind it.
func (r *Runtime) drainOnce(ctx context.Context, id string) (waiting bool) {
	conv, mine, err := r.owned(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.log.Warn("drain outbox", "conversation", id, "err", err)
		}
		return false
	}
	if !slices.Contains(mine, true) {
		return false
	}
	ch := r.channels[conv.Channel]
	var done []string
	var events []store.Event
	var lines []store.Message
	blocked := conv.Blocked
	markBlocked := false
	flush := func(touch bool) {
		if len(done) == 0 && !markBlocked && !touch {
			return
		}
		// The delivery events go in the same commit as the removal, so an
		// item is either still in the outbox or off it with its event.
		if err := r.removeDone(ctx, id, done, markBlocked, events, lines); err != nil {
			// Left in the outbox, the items are sent again by the resend
			// job (at-least-once rather than lost), and that delivery
			// records the events.
			r.log.Warn("remove delivered messages", "conversation", id, "err", err)
			r.stats.errors.Add(1)
		}
		done, events, lines, markBlocked = nil, nil, nil, false
	}
	defer flush(false)
	ev := func(m store.OutMessage, typ string, data map[string]any) {
		events = append(events, r.deliveryEvent(conv, m, typ, data))
	}
	for i, m := range conv.Outbox {
		if ctx.Err() != nil {
			return false
		}
		if !mine[i] {
			return slices.Contains(mine[i:], true)
		}
		switch m.Kind {
		case kindTimer, kindWebhook, kindExpire:
			if err := r.scheduleItem(ctx, conv, m); err != nil {
				r.log.Warn("schedule job from outbox", "conversation", id, "item", m.ID, "err", err)
				r.stats.errors.Add(1)
				return false // keep order: the resend job retries from here
			}
			done = append(done, m.ID)
			continue
		}
		if blocked {
			done = append(done, m.ID) // a blocked chat gets nothing
			lines = append(lines, failedLine(conv, m, "not sent: the chat has blocked the bot"))
			continue
		}
		if ch == nil {
			r.stats.sendFailed.Add(1)
			r.log.Error("no sender for channel", "channel", conv.Channel, "conversation", id)
			reason := "no sender for channel " + conv.Channel
			ev(m, "failed", map[string]any{"error": reason})
			lines = append(lines, failedLine(conv, m, reason))
			done = append(done, m.ID)
			continue
		}
		res, sent, attempts, serr := r.deliver(ctx, ch, conv, m, flush)
		switch res {
		case outAborted:
			return false
		case outSent:
			ev(m, "sent", map[string]any{"platform_id": sent.PlatformID, "attempts": attempts})
		case outFailed:
			ev(m, "failed", map[string]any{"error": errText(serr), "attempts": attempts})
			lines = append(lines, failedLine(conv, m, errText(serr)))
		case outBlocked:
			blocked, markBlocked = true, true
			ev(m, "blocked", map[string]any{"error": errText(serr)})
			lines = append(lines, failedLine(conv, m, errText(serr)))
		}
		done = append(done, m.ID)
	}
	return false
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
// succeed later until SendHorizon after its first failure. flush is called
// before any wait, so what was delivered so far is off the outbox should the
// process die while waiting; the retry state (when the failures began) is
// written to the outbox item, so a restart keeps the horizon.
func (r *Runtime) deliver(ctx context.Context, ch *outChannel, conv *store.Conversation, m store.OutMessage, flush func(touch bool)) (outcome, channel.Sent, int, error) {
	attempts, since := m.Attempts, m.FailingSince
	msg := channel.Outbound{ID: m.ID, Bot: conv.Bot, Chat: conv.Chat, Text: m.Text}
	for _, b := range m.Buttons {
		msg.Buttons = append(msg.Buttons, engineButton(b))
	}
	for {
		for {
			w := ch.reserve(r.clock.Now(), conv.Bot, conv.Chat)
			if w == 0 {
				break
			}
			flush(w >= r.opts.SweepAge/2)
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
		if se != nil && se.Retryable && se.Code == 429 && se.RetryAfter > 0 {
			// retry_after applies to the bot as a whole.
			ch.pause(conv.Bot, r.clock.Now().Add(se.RetryAfter))
		} else {
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
			deadline := since.Add(r.opts.SendHorizon)
			if !now.Before(deadline) {
				return r.failed(conv, m, attempts, fmt.Errorf("gave up after retrying for %s: %w", r.opts.SendHorizon, err))
			}
			wait := se.RetryAfter
			if wait <= 0 {
				wait = r.backoff(r.opts.SendBackoff, r.opts.SendMaxBackoff, attempts-m.Attempts)
			}
			// The last try comes at the horizon, not after it.
			wait = min(wait, deadline.Sub(now))
			r.log.Debug("send retry", "conversation", conv.ID, "message", m.ID, "wait", wait, "err", err)
			flush(false)
			// Retries are rare: a write each keeps the retry state (and,
			// with UpdatedAt, tells the resend job this sender is alive).
			if err := r.noteRetry(ctx, conv.ID, m.ID, since, attempts, errText(err)); err != nil {
				r.log.Warn("record send retry", "conversation", conv.ID, "message", m.ID, "err", err)
			}
			if !r.sleep(ctx, wait) {
				return outAborted, channel.Sent{}, attempts, ctx.Err()
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

// removeDone takes delivered items off the outbox with a conditional write,
// reloading on conflict, and records the delivery events and transcript
// lines with it; blocked also marks the chat blocked and drops the messages
// still queued, each recorded as failed in the transcript.
func (r *Runtime) removeDone(ctx context.Context, id string, ids []string, blocked bool, events []store.Event, lines []store.Message) error {
	return r.rewrite(ctx, id, events, lines, func(cur, next *store.Conversation) []store.Message {
		next.Outbox = slices.DeleteFunc(slices.Clone(cur.Outbox), func(m store.OutMessage) bool { return slices.Contains(ids, m.ID) })
		var dropped []store.Message
		if blocked {
			next.Blocked = true
			for _, m := range next.Outbox {
				if isMessage(m.Kind) {
					dropped = append(dropped, failedLine(cur, m, "not sent: the chat has blocked the bot"))
				}
			}
			next.Outbox = dropMessages(next.Outbox)
		}
		if len(next.Outbox) == 0 {
			// Nothing left for the resend job to judge, so UpdatedAt (the
			// inbox order: the person's or an operator's activity) stays as
			// it is, and with it the inbox index entries: the write touches
			// only the document.
			next.Outbox = nil
			next.UpdatedAt = cur.UpdatedAt
		}
		return dropped
	})
}

// noteRetry records on outbox item itemID that its sends have been failing
// since since, so the horizon survives a restart.
func (r *Runtime) noteRetry(ctx context.Context, id, itemID string, since time.Time, attempts int, lastErr string) error {
	return r.rewrite(ctx, id, nil, nil, func(cur, next *store.Conversation) []store.Message {
		i := slices.IndexFunc(cur.Outbox, func(m store.OutMessage) bool { return m.ID == itemID })
		if i < 0 {
			return nil
		}
		next.Outbox = slices.Clone(cur.Outbox)
		it := &next.Outbox[i]
		it.FailingSince, it.Attempts, it.LastError = since, attempts, lastErr
		return nil
	})
}

// rewrite changes the conversation outside a step with a conditional write,
// reloading on conflict: change edits next (a copy of cur with UpdatedAt
// now) and returns extra transcript lines. events and lines go with the
// write.
func (r *Runtime) rewrite(ctx context.Context, id string, events []store.Event, lines []store.Message, change func(cur, next *store.Conversation) []store.Message) error {
	s := r.locks.of(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; attempt <= r.opts.ConflictRetries; attempt++ {
		cur, err := r.currentLocked(ctx, s, id)
		if err != nil {
			return err
		}
		next := *cur
		next.UpdatedAt = r.clock.Now()
		msgs := append(slices.Clip(lines), change(cur, &next)...)
		err = r.st.CommitConversation(ctx, store.ConversationChange{Conversation: &next, Messages: msgs, Events: events})
		if errors.Is(err, store.ErrLogsNotWritten) {
			// The change stands; the logs get a second try on their own,
			// as a step's logs do (appends are idempotent).
			err = nil
			r.appendLogs(ctx, &result{conv: &next, lines: msgs, events: events})
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
