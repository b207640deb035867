package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// How broadcasts run. Any process may run any broadcast, one process at a
// time: the broadcast document names its runner (a lease owner id), and a
// runner whose process lease ended is replaced by whichever process looks
// next (every BroadcastPoll). A runner pages the audience from the store
// (memory bounded by the page), and for every recipient first writes a
// receipt saying the send is starting (id: broadcast and conversation),
// then sends. A resumed broadcast skips every recipient with a receipt, so
// nobody gets it twice; a send a crash cut short between its receipt and
// the platform's answer is counted as unconfirmed, not repeated. Sends take
// tokens from a budget in the store (a window of 100 ms per bot and
// channel), so any number of replicas stay within the platform's rate
// together, and from this process's bucket only while it keeps tokens for
// the replies to live conversations, which therefore go first.

// Skip reasons counted in BroadcastProgress.Skipped.
const (
	SkipNoConsent    = "no_consent"
	SkipBlocked      = "blocked"
	SkipFrequencyCap = "frequency_cap"
	SkipNoChannel    = "no_channel"
	SkipRenderError  = "render_error"
	// SkipNeedsTemplate: the recipient's channel takes only a template now
	// (WhatsApp, 24 h after their last message) and the broadcast has none.
	SkipNeedsTemplate = "needs_template"
)

// Event types of broadcasts (engine.EventCatalog).
const (
	EvBroadcastSent   = engine.EvBroadcastSent
	EvBroadcastFailed = engine.EvBroadcastFailed
	EvBroadcastButton = engine.EvBroadcastButton
)

// budgetWindow is the span of one shared send budget.
const budgetWindow = 100 * time.Millisecond

// unsubscribeLabel is the button every broadcast message carries unless
// the marketer removed it.
const unsubscribeLabel = "Отписаться"

// StopReply confirms an unsubscribe that the flow did not answer itself.
const StopReply = "Вы отписались от рассылок. Чтобы подписаться снова, отправьте /start."

// DefaultStopWords unsubscribe whoever sends one of them as a whole message
// (case, punctuation and ё/е ignored), unless the bot lists its own.
var DefaultStopWords = []string{"/stop", "stop", "стоп", "отписаться", "unsubscribe"}

// broadcasts is this process's share of the broadcast machinery.
type broadcasts struct {
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
	wake    chan struct{}
}

func (b *broadcasts) init() {
	b.running = map[string]context.CancelFunc{}
	b.wake = make(chan struct{}, 1)
}

// WakeBroadcasts makes the broadcast loop look for work now (the API just
// started or resumed one) rather than at its next poll.
func (r *Runtime) WakeBroadcasts() {
	select {
	case r.bc.wake <- struct{}{}:
	default:
	}
}

// broadcastLoop starts the broadcasts that are due and have no live runner.
func (r *Runtime) broadcastLoop(ctx context.Context) {
	defer r.bc.wg.Wait()
	for {
		if err := r.startBroadcasts(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("look for broadcasts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(r.opts.BroadcastPoll):
		case <-r.bc.wake:
		}
	}
}

func (r *Runtime) startBroadcasts(ctx context.Context) error {
	if !r.leaseValid() {
		return nil
	}
	active, err := r.st.ActiveBroadcasts(ctx)
	if err != nil {
		return err
	}
	now := r.clock.Now()
	for i := range active {
		b := &active[i]
		if b.Status == store.BroadcastScheduled && b.StartAt.After(now) || b.WaitUntil.After(now) {
			continue
		}
		r.bc.mu.Lock()
		_, mine := r.bc.running[b.ID]
		r.bc.mu.Unlock()
		if mine || b.Runner != "" && b.Runner != r.opts.Owner && r.alive(ctx, b.Runner) {
			continue
		}
		b.Runner = r.opts.Owner
		b.Status = store.BroadcastRunning
		b.WaitUntil = time.Time{}
		if b.StartedAt.IsZero() {
			b.StartedAt = now
		}
		b.UpdatedAt = now
		if err := r.st.UpdateBroadcast(ctx, b); err != nil {
			if errors.Is(err, store.ErrVersionConflict) {
				continue // another process took it, or the marketer changed it
			}
			return err
		}
		bctx, cancel := context.WithCancel(ctx)
		r.bc.mu.Lock()
		r.bc.running[b.ID] = cancel
		r.bc.mu.Unlock()
		r.bc.wg.Add(1)
		go func(b store.Broadcast) {
			defer r.bc.wg.Done()
			defer func() {
				r.bc.mu.Lock()
				delete(r.bc.running, b.ID)
				r.bc.mu.Unlock()
				cancel()
			}()
			if err := r.runBroadcast(bctx, &b); err != nil && bctx.Err() == nil {
				r.log.Error("broadcast stopped", "broadcast", b.ID, "err", err)
			}
		}(*b)
	}
	return nil
}

// bcRun is one broadcast being sent by this process.
type bcRun struct {
	r       *Runtime
	b       *store.Broadcast
	bot     *botInfo
	botCap  int
	matcher *segment.Matcher
	schema  *eval.Schema
	texts   []*eval.Template
	params  []*eval.Template // the WhatsApp template's parameters
	weights []int
	// pace is each channel's send tokens: a recipient waits for one of
	// their channel's, so a broadcast keeps every platform's own rate.
	pace    map[string]*bcPace
	workers int
	keep    float64
}

// Page sizes: a page is settled (its outcomes written, the progress the
// marketer watches moved on, the cursor a restart resumes from advanced)
// only once all its sends are done, so pages hold about a second of sends
// at the rate the recipients' channels actually allow. Sizing them by the
// fastest channel the runtime has (the web chat's 1,000/s) made a page of a
// Telegram audience last half a minute: no progress shown meanwhile, and a
// crash left every send of it unconfirmed.
const (
	minPageSize = 20
	pageSeconds = 1.0
)

// nextPageSize follows the rate measured over the last settled page: down
// at once, up at most twice the size (a channel's burst allowance sends the
// first page faster than its rate).
func nextPageSize(cur, scanned int, took time.Duration) int {
	if scanned == 0 || took <= 0 {
		return cur
	}
	n := int(float64(scanned) / took.Seconds() * pageSeconds)
	return min(max(n, minPageSize), 2*cur, store.MaxLimit)
}

// runBroadcast sends b page by page until it is done, paused, cancelled,
// outside its send window, or this process stops being its runner.
func (r *Runtime) runBroadcast(ctx context.Context, b *store.Broadcast) error {
	run, err := r.prepareBroadcast(ctx, b)
	if err != nil {
		// A broadcast that cannot run (its segment was deleted, a template
		// no longer compiles) stops with the reason for the marketer.
		return r.finishBroadcast(ctx, b.ID, store.BroadcastPaused, err.Error())
	}
	dctx, stopDispense := context.WithCancel(ctx)
	defer stopDispense()
	run.pace = map[string]*bcPace{}
	top := 0.0
	for name, ch := range r.channels {
		rate := channel.TelegramLimits.PerSecond // a channel without a platform limit (the web chat)
		if ch.limits.PerSecond > 0 {
			rate = ch.limits.PerSecond
		}
		rate *= rateMargin
		top = max(top, rate)
		p := &bcPace{tokens: make(chan struct{})}
		run.pace[name] = p
		go r.dispense(dctx, b.Bot+":"+name, rate, p)
	}
	run.workers = min(max(int(top)/2, 64), 512)

	// Watch for pause and cancel while a page is being sent.
	pctx, stopPage := context.WithCancel(ctx)
	defer stopPage()
	go func() {
		for {
			select {
			case <-pctx.Done():
				return
			case <-r.clock.After(r.opts.BroadcastPoll / 2):
			}
			cur, err := r.st.GetBroadcast(pctx, b.ID)
			if err == nil && (cur.Status != store.BroadcastRunning || cur.Runner != r.opts.Owner) {
				stopPage()
				return
			}
		}
	}()

	// A pool of senders; pages go through it one after the other, the next
	// page's sends starting while the last ones of the page before finish.
	type task struct {
		pr *pageRun
		i  int
	}
	tasks := make(chan task)
	var workers sync.WaitGroup
	for range run.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for t := range tasks {
				t.pr.outcomes[t.i] = run.send(pctx, t.pr.jobs[t.i])
				t.pr.wg.Done()
			}
		}()
	}
	defer func() {
		close(tasks)
		workers.Wait()
	}()

	for {
		cur, err := r.st.GetBroadcast(ctx, b.ID)
		if err != nil {
			return err
		}
		if cur.Runner != r.opts.Owner {
			return nil
		}
		if cur.Status != store.BroadcastRunning {
			return r.releaseBroadcast(ctx, b.ID)
		}
		now := r.clock.Now()
		if open := run.nextOpen(now); open.After(now) {
			cur.WaitUntil, cur.Runner, cur.UpdatedAt = open, "", now
			if err := r.st.UpdateBroadcast(ctx, cur); err != nil {
				return fmt.Errorf("wait for the send window: %w", err)
			}
			r.log.Info("broadcast waits for its send window", "broadcast", b.ID, "until", open)
			return nil
		}
		done, err := run.pipeline(ctx, pctx, cur.Cursor, func(pr *pageRun) {
			pr.wg.Add(len(pr.jobs))
			for i := range pr.jobs {
				select {
				case tasks <- task{pr, i}:
				case <-pctx.Done():
					pr.wg.Done() // never sent: the page stays incomplete
				}
			}
		})
		if err != nil || done {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pctx.Err() != nil {
			// Paused or cancelled (perhaps resumed since): give the place
			// up unless it runs again; the loop then starts it afresh.
			return r.releaseBroadcast(ctx, b.ID)
		}
		// The send window closed, or a store error: look again.
		if !r.sleep(ctx, r.opts.BroadcastPoll) {
			return ctx.Err()
		}
	}
}

// pipeline sends pages from cursor on until the audience ends (true), or
// sending must stop: ctx or pctx ended, the broadcast is no longer running
// here, or its send window closed (false, to be looked at again). Pages are
// saved in order by a finisher, each once all its sends are done, while the
// next page is already being sent; a page left incomplete stops the saving,
// so the stored cursor never passes a member who was not sent to.
func (run *bcRun) pipeline(ctx, pctx context.Context, cursor string, dispatch func(*pageRun)) (bool, error) {
	r, b := run.r, run.b
	finish := make(chan *pageRun, 1)
	type verdict struct {
		done bool
		err  error
	}
	result := make(chan verdict, 1)
	var stopped atomic.Bool
	var size atomic.Int64
	size.Store(minPageSize)
	go func() {
		var v verdict
		last := r.clock.Now()
		for pr := range finish {
			if stopped.Load() || v.done || v.err != nil {
				pr.wg.Wait()
				continue
			}
			pr.wg.Wait()
			now := r.clock.Now()
			size.Store(int64(nextPageSize(int(size.Load()), pr.scanned, now.Sub(last))))
			last = now
			complete, err := run.finishPage(pctx, pr)
			if err == nil && !complete {
				stopped.Store(true)
				continue
			}
			if err == nil {
				v.done, err = r.savePage(ctx, b.ID, pr.from, pr.next, pr.counts)
			}
			if err != nil {
				v.err = err
				stopped.Store(true)
			}
		}
		result <- v
	}()
	for !stopped.Load() && pctx.Err() == nil {
		now := r.clock.Now()
		if open := run.nextOpen(now); open.After(now) {
			break
		}
		page, next, err := r.st.ScanContacts(ctx, b.Bot, cursor, int(size.Load()))
		if err != nil {
			stopped.Store(true)
			close(finish)
			<-result
			return false, err
		}
		pr, err := run.preparePage(pctx, page)
		if err != nil {
			if pctx.Err() == nil {
				r.log.Warn("prepare broadcast page", "broadcast", b.ID, "err", err)
			}
			break
		}
		pr.from, pr.next, pr.scanned = cursor, next, len(page)
		dispatch(pr)
		finish <- pr
		if next == "" {
			break
		}
		cursor = next
	}
	close(finish)
	v := <-result
	return v.done, v.err
}

// savePage records a finished page: the cursor moves past it and its
// counts are added, on the stored document as it is now (the marketer may
// have paused it meanwhile). It reports whether the broadcast is over.
func (r *Runtime) savePage(ctx context.Context, id, from, next string, c store.BroadcastProgress) (bool, error) {
	for range 20 {
		cur, err := r.st.GetBroadcast(ctx, id)
		if err != nil {
			return false, err
		}
		if cur.Cursor != from || cur.Runner != r.opts.Owner {
			return true, nil // another runner moved on: this one has lost it
		}
		cur.Cursor = next
		addProgress(&cur.Progress, c)
		now := r.clock.Now()
		cur.UpdatedAt = now
		over := next == ""
		if over && cur.Status != store.BroadcastCancelled {
			cur.Status, cur.FinishedAt, cur.Runner = store.BroadcastDone, now, ""
		}
		err = r.st.UpdateBroadcast(ctx, cur)
		if errors.Is(err, store.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("save broadcast progress: %w", err)
		}
		if over {
			r.log.Info("broadcast done", "broadcast", id, "sent", cur.Progress.Sent, "failed", cur.Progress.Failed,
				"skipped", cur.Progress.Skipped)
		}
		return over, nil
	}
	return false, fmt.Errorf("save broadcast progress: %w", ErrBusy)
}

func addProgress(p *store.BroadcastProgress, c store.BroadcastProgress) {
	p.Total += c.Total
	p.Sent += c.Sent
	p.Failed += c.Failed
	p.Unconfirmed += c.Unconfirmed
	for k, v := range c.Skipped {
		if p.Skipped == nil {
			p.Skipped = map[string]int{}
		}
		p.Skipped[k] += v
	}
	for k, v := range c.Variants {
		if p.Variants == nil {
			p.Variants = map[string]int{}
		}
		p.Variants[k] += v
	}
}

// releaseBroadcast gives up the runner's place (paused or cancelled).
func (r *Runtime) releaseBroadcast(ctx context.Context, id string) error {
	for range 20 {
		cur, err := r.st.GetBroadcast(ctx, id)
		if err != nil || cur.Runner != r.opts.Owner {
			return err
		}
		if cur.Status == store.BroadcastRunning {
			return nil // resumed meanwhile: the loop starts it again
		}
		cur.Runner = ""
		if err := r.st.UpdateBroadcast(ctx, cur); !errors.Is(err, store.ErrVersionConflict) {
			return err
		}
	}
	return ErrBusy
}

// finishBroadcast stops a broadcast with status and reason.
func (r *Runtime) finishBroadcast(ctx context.Context, id string, status store.BroadcastStatus, reason string) error {
	for range 20 {
		cur, err := r.st.GetBroadcast(ctx, id)
		if err != nil {
			return err
		}
		cur.Status, cur.Error, cur.Runner, cur.UpdatedAt = status, reason, "", r.clock.Now()
		if err := r.st.UpdateBroadcast(ctx, cur); !errors.Is(err, store.ErrVersionConflict) {
			return err
		}
	}
	return ErrBusy
}

// bcPace hands out one channel's send tokens for a broadcast.
type bcPace struct {
	tokens  chan struct{}
	waiting atomic.Int64
}

// prepareBroadcast compiles what every recipient needs.
func (r *Runtime) prepareBroadcast(ctx context.Context, b *store.Broadcast) (*bcRun, error) {
	run := &bcRun{r: r, b: b, bot: r.bots.get(ctx, b.Bot), keep: 5}
	if sb, err := r.st.GetBot(ctx, b.Bot); err == nil {
		run.botCap = sb.Settings.BroadcastsPerWeek
	}
	if p, err := r.flows.Current(ctx, b.Bot); err == nil {
		run.schema = p.Flow.Schema()
	}
	if run.schema == nil {
		run.schema = eval.NewSchema(nil)
	}
	var f store.SegmentFilter
	if b.Segment != "" {
		sg, err := r.st.GetSegment(ctx, b.Bot, b.Segment)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", b.Segment, err)
		}
		f = sg.Filter
	}
	m, err := segment.Compile(f, run.schema)
	if err != nil {
		return nil, err
	}
	if err := m.LoadGoals(ctx, r.st, b.Bot); err != nil {
		return nil, err
	}
	run.matcher = m
	if b.Mode != store.BroadcastFlow {
		if len(b.Variants) == 0 {
			return nil, errors.New("no message to send")
		}
		for _, v := range b.Variants {
			t, err := run.schema.CompileTemplate(v.Text)
			if err != nil {
				return nil, fmt.Errorf("variant %s: %w", v.Name, err)
			}
			run.texts = append(run.texts, t)
			run.weights = append(run.weights, max(v.Weight, 0))
		}
		if b.Template != nil {
			for i, p := range b.Template.Params {
				t, err := run.schema.CompileTemplate(p)
				if err != nil {
					return nil, fmt.Errorf("template parameter %d: %w", i+1, err)
				}
				run.params = append(run.params, t)
			}
		}
	}
	return run, nil
}

// variant picks the recipient's variant: by weight, from a hash of the
// broadcast and conversation ids, so a resumed broadcast picks the same.
func (run *bcRun) variant(convID string) int {
	total := 0
	for _, w := range run.weights {
		total += w
	}
	if total == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(run.b.ID))
	h.Write([]byte{0})
	h.Write([]byte(convID))
	n := int(h.Sum64() % uint64(total))
	for i, w := range run.weights {
		if n < w {
			return i
		}
		n -= w
	}
	return 0
}

// nextOpen is now when sending is allowed now, or when it next is: inside
// the broadcast's window and outside the bot's quiet hours.
func (run *bcRun) nextOpen(now time.Time) time.Time {
	t := now
	for range 4 {
		t1 := run.bot.quiet(t)
		t2 := run.window(t1)
		if t2.Equal(t) {
			return t
		}
		t = t2
	}
	return t
}

// window moves t to the start of the broadcast's daily window when it is
// outside it.
func (run *bcRun) window(t time.Time) time.Time {
	w := run.b.Window
	if w == nil {
		return t
	}
	s, err1 := parseClock(w.Start)
	e, err2 := parseClock(w.End)
	if err1 != nil || err2 != nil || s == e {
		return t
	}
	lt := t.In(run.bot.loc)
	mins := lt.Hour()*60 + lt.Minute()
	in := mins >= s && mins < e
	if s > e {
		in = mins >= s || mins < e
	}
	if in {
		return t
	}
	y, mo, d := lt.Date()
	start := time.Date(y, mo, d, s/60, s%60, 0, 0, run.bot.loc)
	if !start.After(lt) {
		start = time.Date(y, mo, d+1, s/60, s%60, 0, 0, run.bot.loc)
	}
	return start.In(t.Location())
}

// dispense hands out send tokens at the channel's rate: each window it
// takes its share from the store's budget (only while senders wait for
// tokens) and releases the grant spread over the window. The share of a
// window is taken a window ahead, so a slow store write (an fsync on a
// busy disk) does not cost the window its sends.
func (r *Runtime) dispense(ctx context.Context, key string, rate float64, run *bcPace) {
	perWin := rate * budgetWindow.Seconds()
	windowStart := func(w int64) time.Time { return time.Unix(0, w*int64(budgetWindow)) }
	type grant struct {
		w int64
		n int
	}
	grants := make(chan grant, 1)
	go func() {
		defer close(grants)
		w := r.clock.Now().UnixNano() / int64(budgetWindow)
		for ctx.Err() == nil {
			r.sleepUntil(ctx, windowStart(w).Add(-budgetWindow))
			if now := r.clock.Now(); !windowStart(w + 1).After(now) {
				w = now.UnixNano()/int64(budgetWindow) + 1 // fell behind: skip ahead
				continue
			}
			capW := int(math.Floor(perWin*float64(w+1))) - int(math.Floor(perWin*float64(w)))
			n := 0
			if run.waiting.Load() > 0 && capW > 0 {
				var err error
				n, err = r.st.TakeSendBudget(ctx, key+":"+strconv.FormatInt(w, 10), capW, capW, windowStart(w+1).Add(time.Minute))
				if err != nil && ctx.Err() == nil {
					r.log.Warn("take send budget", "key", key, "err", err)
				}
			}
			select {
			case grants <- grant{w, n}:
			case <-ctx.Done():
				return
			}
			w++
		}
	}()
	for g := range grants {
		start, end := windowStart(g.w), windowStart(g.w+1)
		for i := 0; i < g.n && ctx.Err() == nil; i++ {
			r.sleepUntil(ctx, start.Add(budgetWindow*time.Duration(i)/time.Duration(g.n)))
			left := end.Sub(r.clock.Now())
			if left <= 0 {
				break // an unused grant lapses with its window
			}
			select {
			case run.tokens <- struct{}{}:
			case <-r.clock.After(left):
			case <-ctx.Done():
			}
		}
	}
}

func (r *Runtime) sleepUntil(ctx context.Context, t time.Time) {
	if d := t.Sub(r.clock.Now()); d > 0 {
		r.sleep(ctx, d)
	}
}

// token waits for a send token of channel ch.
func (run *bcRun) token(ctx context.Context, ch string) bool {
	p := run.pace[ch]
	if p == nil {
		return ctx.Err() == nil // no such channel: the send fails as no_channel would
	}
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	select {
	case <-p.tokens:
		return true
	case <-ctx.Done():
		return false
	}
}

// bcJob is one recipient to send to.
type bcJob struct {
	conv    *store.Conversation
	variant int
	text    string
	buttons []store.Button
	// template replaces the message where the channel's free-form window
	// has closed (WhatsApp).
	template *channel.Template
}

// bcOutcome is what became of one send.
type bcOutcome struct {
	job     *bcJob
	receipt store.Receipt
	blocked bool
	done    bool
}

// pageRun is one page of the audience on its way: what is known before
// sending (members skipped, or done before a crash) and the sends.
type pageRun struct {
	from, next string
	scanned    int // contacts the page covers (members or not)
	counts     store.BroadcastProgress
	jobs       []*bcJob
	outcomes   []bcOutcome
	wg         sync.WaitGroup
}

// preparePage looks the page's members up: who has a receipt already,
// who is skipped and why, and what each of the others gets.
func (run *bcRun) preparePage(ctx context.Context, page []store.Conversation) (*pageRun, error) {
	r, b := run.r, run.b
	pr := &pageRun{}
	c := &pr.counts
	skip := func(reason string) {
		if c.Skipped == nil {
			c.Skipped = map[string]int{}
		}
		c.Skipped[reason]++
	}
	var members []*store.Conversation
	for i := range page {
		if run.matcher.Match(&page[i]) {
			members = append(members, &page[i])
		}
	}
	if len(members) == 0 {
		return pr, nil
	}
	ids := make([]string, len(members))
	convIDs := make([]string, len(members))
	for i, m := range members {
		ids[i], convIDs[i] = store.ReceiptID(b.ID, m.ID), m.ID
	}
	have, err := r.st.GetReceipts(ctx, ids)
	if err != nil {
		return nil, err
	}
	done := make(map[string]store.Receipt, len(have))
	for _, rc := range have {
		done[rc.Conversation] = rc
	}
	var recent map[string]int
	if run.botCap > 0 {
		if recent, err = r.st.CountRecentReceipts(ctx, convIDs, r.clock.Now().Add(-7*24*time.Hour), b.ID); err != nil {
			return nil, err
		}
	}
	var jobs []*bcJob
	for _, m := range members {
		c.Total++
		if rc, ok := done[m.ID]; ok {
			countReceipt(c, rc)
			continue
		}
		switch {
		case m.Blocked:
			skip(SkipBlocked)
		case !m.Consent.Subscribed:
			skip(SkipNoConsent)
		case run.botCap > 0 && recent[m.ID] >= run.botCap:
			skip(SkipFrequencyCap)
		case r.channels[m.Channel] == nil:
			skip(SkipNoChannel)
		default:
			j := &bcJob{conv: m}
			if b.Mode != store.BroadcastFlow {
				j.variant = run.variant(m.ID)
				text, err := run.texts[j.variant].Render(segment.Env(m, run.schema))
				if err != nil || strings.TrimSpace(text) == "" {
					skip(SkipRenderError)
					continue
				}
				j.text = text
				j.buttons = run.buttons(j.variant)
				if run.outsideWindow(m) {
					reason, ok := run.useTemplate(j)
					if !ok {
						skip(reason)
						continue
					}
				}
			}
			jobs = append(jobs, j)
		}
	}
	pr.jobs = jobs
	pr.outcomes = make([]bcOutcome, len(jobs))
	return pr, nil
}

// outsideWindow says whether m's channel takes only a template now: its
// free-form window (WhatsApp's 24 hours) has passed since m last wrote.
func (run *bcRun) outsideWindow(m *store.Conversation) bool {
	ch := run.r.channels[m.Channel]
	return ch != nil && ch.window > 0 && !m.LastInboundAt.IsZero() && run.r.clock.Now().Sub(m.LastInboundAt) > ch.window
}

// useTemplate makes j send the broadcast's template instead of its text,
// or says why it cannot (no template, a parameter failing to render).
func (run *bcRun) useTemplate(j *bcJob) (skipReason string, ok bool) {
	t := run.b.Template
	if t == nil {
		return SkipNeedsTemplate, false
	}
	env := segment.Env(j.conv, run.schema)
	tp := &channel.Template{Name: t.Name, Language: t.Language}
	for _, p := range run.params {
		s, err := p.Render(env)
		if err != nil {
			return SkipRenderError, false
		}
		tp.Params = append(tp.Params, s)
	}
	j.template, j.buttons = tp, nil
	// The transcript shows what the person got.
	j.text = fmt.Sprintf("[%s %s] %s", t.Name, t.Language, strings.Join(tp.Params, " · "))
	return "", true
}

// finishPage counts the page's sends and writes their outcomes, transcript
// lines and events once all of them are done. complete is false when some
// were never sent (paused, cancelled, shutting down).
func (run *bcRun) finishPage(ctx context.Context, pr *pageRun) (bool, error) {
	r, b := run.r, run.b
	c := &pr.counts
	outcomes := pr.outcomes
	complete := true
	var receipts []store.Receipt
	var lines []store.Message
	var events []store.Event
	for i := range outcomes {
		o := &outcomes[i]
		if !o.done {
			complete = false
			continue
		}
		countReceipt(c, o.receipt)
		receipts = append(receipts, o.receipt)
		if b.Mode == store.BroadcastFlow {
			continue
		}
		m := o.job.conv
		line := store.Message{ID: o.receipt.ID, ConversationID: m.ID, Bot: m.Bot, Direction: store.DirectionBot,
			Text: o.job.text, Buttons: o.job.buttons, At: o.receipt.At}
		typ := EvBroadcastSent
		if o.receipt.Status == store.RecipientFailed {
			typ = EvBroadcastFailed
			line.Status, line.Error = store.MessageFailed, o.receipt.Error
		}
		lines = append(lines, line)
		events = append(events, store.Event{ID: o.receipt.ID + "/" + typ, Bot: m.Bot, Type: typ, Conversation: m.ID,
			Channel: m.Channel, At: o.receipt.At, Data: map[string]any{"broadcast": b.ID, "variant": o.receipt.Variant}})
		if o.blocked {
			r.broadcastBlocked(ctx, m.ID, o.receipt.Error)
		}
	}
	// Outcomes, transcript lines and events of the page in one go each,
	// side by side: the embedded store commits them together, and no
	// sends go out meanwhile.
	wctx := context.WithoutCancel(ctx)
	var rerr error
	var ww sync.WaitGroup
	ww.Add(3)
	go func() { defer ww.Done(); rerr = r.st.PutReceipts(wctx, receipts...) }()
	go func() {
		defer ww.Done()
		if err := r.st.AppendMessages(wctx, lines...); err != nil {
			r.log.Warn("append broadcast transcript", "broadcast", b.ID, "err", err)
		}
	}()
	go func() {
		defer ww.Done()
		if err := r.st.AppendEvents(wctx, events...); err != nil {
			r.log.Warn("append broadcast events", "broadcast", b.ID, "err", err)
		}
	}()
	ww.Wait()
	if rerr != nil {
		return false, rerr
	}
	return complete, nil
}

func countReceipt(c *store.BroadcastProgress, rc store.Receipt) {
	switch rc.Status {
	case store.RecipientFailed:
		c.Failed++
		return
	case store.RecipientSending:
		c.Unconfirmed++
	}
	c.Sent++
	if rc.Variant != "" {
		if c.Variants == nil {
			c.Variants = map[string]int{}
		}
		c.Variants[rc.Variant]++
	}
}

// buttons are variant v's buttons as payloads a press comes back with:
// "bc:<broadcast>:<variant>:<button>", and ":u" for unsubscribe.
func (run *bcRun) buttons(v int) []store.Button {
	var out []store.Button
	for i, bt := range run.b.Variants[v].Buttons {
		out = append(out, store.Button{Label: bt.Label, Payload: fmt.Sprintf("bc:%s:%d:%d", run.b.ID, v, i)})
	}
	if !run.b.NoUnsubscribe {
		out = append(out, store.Button{Label: unsubscribeLabel, Payload: fmt.Sprintf("bc:%s:%d:u", run.b.ID, v)})
	}
	return out
}

// send delivers one recipient's copy: a receipt first, then the platform.
func (run *bcRun) send(ctx context.Context, j *bcJob) bcOutcome {
	r, b, m := run.r, run.b, j.conv
	o := bcOutcome{job: j}
	if !run.token(ctx, m.Channel) {
		return o
	}
	now := r.clock.Now()
	rc := store.Receipt{ID: store.ReceiptID(b.ID, m.ID), Broadcast: b.ID, Bot: b.Bot, Conversation: m.ID,
		Status: store.RecipientSending, At: now}
	if b.Mode == store.BroadcastFlow {
		return run.step(ctx, rc)
	}
	rc.Variant = b.Variants[j.variant].Name
	ch := r.channels[m.Channel]
	deadline := now.Add(r.opts.SendHorizon)
	for {
		// The local bucket, keeping tokens for live replies.
		for {
			if !r.leaseValid() && !r.waitLease(ctx) {
				return o
			}
			w := ch.reserveKeeping(r.clock.Now(), m.Bot, m.Chat, run.keep)
			if w == 0 {
				break
			}
			if !r.sleep(ctx, w) {
				return o
			}
		}
		if rc.Status == store.RecipientSending && !o.done {
			// The receipt goes first: after a crash it says the platform
			// may have the message, so it is never sent twice.
			if err := r.st.PutReceipts(ctx, rc); err != nil {
				r.log.Warn("write broadcast receipt", "broadcast", b.ID, "conversation", m.ID, "err", err)
				return o
			}
			o.done, o.receipt = true, rc
		}
		msg := channel.Outbound{ID: rc.ID, IdempotencyKey: rc.ID, Bot: m.Bot, Chat: m.Chat, Text: j.text,
			LastInbound: m.LastInboundAt, Template: j.template}
		for _, bt := range j.buttons {
			msg.Buttons = append(msg.Buttons, engineButton(bt))
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.SendTimeout)
		_, err := ch.sender.Send(sctx, msg)
		cancel()
		if err == nil {
			ch.answered(m.Bot)
			r.stats.sent.Add(1)
			rc.Status = store.RecipientSent
			o.receipt = rc
			return o
		}
		se := channel.AsSendError(err)
		switch {
		case se.Blocked:
			ch.answered(m.Bot)
			rc.Status, rc.Error = store.RecipientFailed, errText(err)
			o.receipt, o.blocked = rc, true
			return o
		case se.Retryable && r.clock.Now().Before(deadline) && ctx.Err() == nil:
			if se.RetryAfter > 0 {
				ch.pause(m.Bot, r.clock.Now().Add(se.RetryAfter))
			} else {
				ch.failing(m.Bot, r.clock.Now(), func(n int) time.Duration {
					return r.backoff(r.opts.SendBackoff, r.opts.SendMaxBackoff, n)
				})
			}
			r.stats.sendRetries.Add(1)
			continue
		case se.Retryable && ctx.Err() != nil:
			// Paused mid-retry: the receipt stays "sending", so the
			// recipient counts as unconfirmed rather than risk a double.
			rc.Error = errText(err)
			o.receipt = rc
			return o
		default:
			ch.answered(m.Bot)
			r.stats.sendFailed.Add(1)
			rc.Status, rc.Error = store.RecipientFailed, errText(err)
			o.receipt = rc
			return o
		}
	}
}

// step moves the recipient's conversation to the broadcast's node; the
// update id makes the step happen once however often it is tried.
func (run *bcRun) step(ctx context.Context, rc store.Receipt) bcOutcome {
	r := run.r
	o := bcOutcome{}
	res, err := r.commit(ctx, op{convID: rc.Conversation, key: "bc:" + run.b.ID, dedupe: true, step: true,
		input: engine.Input{Kind: engine.InputGoto, Goto: run.b.Node}})
	rc.Status = store.RecipientSent
	if err != nil {
		if ctx.Err() != nil {
			return o
		}
		rc.Status, rc.Error = store.RecipientFailed, err.Error()
	} else if !res.dup {
		r.finish(ctx, res)
	}
	o.done, o.receipt = true, rc
	return o
}

// broadcastBlocked marks a conversation whose chat refused a broadcast as
// blocked, with consent off: no broadcast goes there again.
func (r *Runtime) broadcastBlocked(ctx context.Context, convID, reason string) {
	now := r.clock.Now()
	err := r.rewrite(context.WithoutCancel(ctx), convID, nil, nil, func(cur, next *store.Conversation) store.PendingLogs {
		next.Blocked = true
		next.Consent = store.Consent{Subscribed: false, At: now, Source: "blocked"}
		// The dropped items' carried logs (store.OutMessage.Logs) go with the write.
		var dropped store.PendingLogs
		next.Outbox, dropped = dropMessages(cur.Outbox)
		next.UpdatedAt = cur.UpdatedAt
		return dropped
	})
	if err != nil {
		r.log.Warn("mark chat blocked", "conversation", convID, "err", err, "reason", reason)
	}
}

// broadcastPress turns a press on a broadcast button into its step: a jump
// to the button's node, or an unsubscribe. ok is false for payloads that
// are not broadcast buttons.
func (r *Runtime) broadcastPress(ctx context.Context, o *op, payload string) bool {
	rest, ok := strings.CutPrefix(payload, "bc:")
	if !ok {
		return false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return false
	}
	id, vs, bs := parts[0], parts[1], parts[2]
	v, err := strconv.Atoi(vs)
	if err != nil {
		return false
	}
	b, err := r.st.GetBroadcast(ctx, id)
	if err != nil || v < 0 || v >= len(b.Variants) {
		return false
	}
	data := map[string]any{"broadcast": id, "variant": b.Variants[v].Name, "button": bs}
	label := func(l string) {
		data["label"] = l
		if o.in != nil && o.in.Text == "" {
			o.in.Text = l // the transcript shows the label, not the payload
		}
	}
	if bs == "u" {
		o.extra = append(o.extra, extraEvent{typ: EvBroadcastButton, data: data})
		o.unsub = "broadcast_button"
		label(unsubscribeLabel)
		return true
	}
	i, err := strconv.Atoi(bs)
	if err != nil || i < 0 || i >= len(b.Variants[v].Buttons) {
		return false
	}
	o.extra = append(o.extra, extraEvent{typ: EvBroadcastButton, data: data})
	label(b.Variants[v].Buttons[i].Label)
	o.input = engine.Input{Kind: engine.InputGoto, Goto: b.Variants[v].Buttons[i].Node}
	return true
}

// isStopWord reports whether text, as a whole, is one of the bot's stop words.
func isStopWord(text string, words []string) bool {
	t := normalizeStop(text)
	if t == "" {
		return false
	}
	for _, w := range words {
		if normalizeStop(w) == t {
			return true
		}
	}
	return false
}

func normalizeStop(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, "ё", "е")
	s = strings.TrimRight(s, ".!?… ")
	if i := strings.IndexByte(s, '@'); i > 0 && strings.HasPrefix(s, "/") {
		s = s[:i] // /stop@shop_bot
	}
	return s
}

// SendTest sends a broadcast's variant to one conversation now (the
// marketer's own chat), outside the audience, the rate budget and the
// receipts: it is not part of the broadcast.
func (r *Runtime) SendTest(ctx context.Context, b *store.Broadcast, convID string, variant int) error {
	conv, err := r.st.GetConversation(ctx, convID)
	if err != nil {
		return fmt.Errorf("test send: %w", err)
	}
	run, err := r.prepareBroadcast(ctx, b)
	if err != nil {
		return fmt.Errorf("test send: %w", err)
	}
	if b.Mode == store.BroadcastFlow {
		_, err := r.commit(ctx, op{convID: convID, key: "bctest:" + r.uniqueKey(), step: true,
			input: engine.Input{Kind: engine.InputGoto, Goto: b.Node}})
		return err
	}
	if variant < 0 || variant >= len(run.texts) {
		return fmt.Errorf("test send: no variant %d", variant)
	}
	text, err := run.texts[variant].Render(segment.Env(conv, run.schema))
	if err != nil {
		return fmt.Errorf("test send: %w", err)
	}
	ch := r.channels[conv.Channel]
	if ch == nil {
		return fmt.Errorf("test send: no sender for channel %s", conv.Channel)
	}
	msg := channel.Outbound{ID: "bctest:" + r.uniqueKey(), Bot: conv.Bot, Chat: conv.Chat, Text: "[тест] " + text}
	for _, bt := range run.buttons(variant) {
		msg.Buttons = append(msg.Buttons, engineButton(bt))
	}
	sctx, cancel := context.WithTimeout(ctx, r.opts.SendTimeout)
	defer cancel()
	if _, err := ch.sender.Send(sctx, msg); err != nil {
		return fmt.Errorf("test send: %w", err)
	}
	return nil
}

// unsubscribe makes a step turn consent off for cause. When the flow
// answered the word itself (its unsubscribe node ran, or one of its
// triggers), its output stands; otherwise the conversation stays where it
// was and gets StopReply.
func (r *Runtime) unsubscribe(cur *store.Conversation, prog *engine.Program, out engine.Output, cause string, now time.Time) engine.Output {
	handled := false
	for _, ev := range out.Events {
		switch ev.Type {
		case engine.EvUnsubscribed:
			return out
		case engine.EvTriggerFired:
			handled = true
		}
	}
	if handled && out.State != nil {
		// The flow has its own answer to the word (a trigger): it stands,
		// and consent is off all the same.
		out.State.Unsubscribed = true
		out.Events = append(out.Events, engine.Event{Type: engine.EvUnsubscribed, Node: out.State.Node, Name: cause, At: now})
		return out
	}
	if len(cur.State) == 0 {
		// A first message that is a stop word: the flow starts as usual,
		// and consent is off from the start.
		out.State.Unsubscribed = true
		out.Messages = append(out.Messages, engine.Message{Text: StopReply})
		out.Events = append(out.Events, engine.Event{Type: engine.EvUnsubscribed, Node: out.State.Node, Name: cause, At: now})
		return out
	}
	st, err := engine.DecodeState(cur.State, prog)
	if err != nil {
		out.State.Unsubscribed = true
		return out
	}
	st.Unsubscribed = true
	return engine.Output{State: st, Messages: []engine.Message{{Node: st.Node, Text: StopReply}},
		Events: []engine.Event{{Type: engine.EvUnsubscribed, Node: st.Node, Name: cause, At: now}}}
}

// consentCause says why a step changed consent, for Conversation.Consent.
func consentCause(o op, events []engine.Event, sub bool) string {
	if !sub && o.unsub != "" {
		return o.unsub
	}
	for _, ev := range events {
		switch {
		case sub && ev.Type == engine.EvSubscribed:
			return "start"
		case !sub && ev.Type == engine.EvUnsubscribed:
			return "unsubscribe_node"
		}
	}
	if sub {
		return "message"
	}
	return "flow"
}

// Schema is what segment filters and broadcast templates of bot may name:
// the variables of the bot's current flow (none when it has no flow).
func (r *Runtime) Schema(ctx context.Context, bot string) *eval.Schema {
	if p, err := r.flows.Current(ctx, bot); err == nil && p.Flow.Schema() != nil {
		return p.Flow.Schema()
	}
	return eval.NewSchema(nil)
}

// CheckBroadcast lists every problem that would stop b from running: no
// message, templates that do not compile, buttons and nodes missing from
// the bot's flow, a bad send window, an unknown segment.
func (r *Runtime) CheckBroadcast(ctx context.Context, b *store.Broadcast) []segment.Problem {
	var probs []segment.Problem
	add := func(field, msg string, args ...any) {
		probs = append(probs, segment.Problem{Field: field, Message: fmt.Sprintf(msg, args...)})
	}
	var prog *engine.Program
	if p, err := r.flows.Current(ctx, b.Bot); err == nil {
		prog = p
	}
	hasNode := func(id string) bool {
		if prog == nil {
			return false
		}
		for _, n := range prog.Flow.Nodes {
			if n.ID == id {
				return true
			}
		}
		return false
	}
	schema := r.Schema(ctx, b.Bot)
	switch b.Mode {
	case "", store.BroadcastMessage:
		if len(b.Variants) == 0 {
			add("variants", "a broadcast needs a message")
		}
		names := map[string]bool{}
		for i, v := range b.Variants {
			f := fmt.Sprintf("variants[%d]", i)
			if strings.TrimSpace(v.Name) == "" || names[v.Name] {
				add(f+".name", "each variant needs a name of its own")
			}
			names[v.Name] = true
			if len(b.Variants) > 1 && v.Weight <= 0 {
				add(f+".weight", "a variant's share must be above zero")
			}
			if strings.TrimSpace(v.Text) == "" {
				add(f+".text", "the message is empty")
			} else if _, err := schema.CompileTemplate(v.Text); err != nil {
				add(f+".text", "%v", err)
			}
			if len(v.Buttons) > 7 {
				add(f+".buttons", "at most 7 buttons")
			}
			for j, bt := range v.Buttons {
				if strings.TrimSpace(bt.Label) == "" {
					add(fmt.Sprintf("%s.buttons[%d].label", f, j), "the button needs a label")
				}
				if !hasNode(bt.Node) {
					add(fmt.Sprintf("%s.buttons[%d].node", f, j), "no node %q in the bot's flow", bt.Node)
				}
			}
		}
		if t := b.Template; t != nil {
			if strings.TrimSpace(t.Name) == "" {
				add("template.name", "the template needs its name, as approved in WhatsApp Manager")
			}
			if strings.TrimSpace(t.Language) == "" {
				add("template.language", "the template needs its language, such as ru")
			}
			for i, p := range t.Params {
				if _, err := schema.CompileTemplate(p); err != nil {
					add(fmt.Sprintf("template.params[%d]", i), "%v", err)
				}
			}
		}
	case store.BroadcastFlow:
		if b.Template != nil {
			add("template", "a flow broadcast sends what its node says; the node names the template")
		}
		if !hasNode(b.Node) {
			add("node", "no node %q in the bot's flow", b.Node)
		}
		if prog != nil && b.Flow != "" && b.Flow != prog.Flow.ID {
			add("flow", "the bot runs flow %s, not %s", prog.Flow.ID, b.Flow)
		}
	default:
		add("mode", "unknown mode %q (message or flow)", b.Mode)
	}
	if w := b.Window; w != nil {
		_, err1 := parseClock(w.Start)
		_, err2 := parseClock(w.End)
		if err := errors.Join(err1, err2); err != nil {
			add("window", "%v", err)
		}
	}
	if b.Segment != "" {
		if _, err := r.st.GetSegment(ctx, b.Bot, b.Segment); err != nil {
			add("segment", "no segment %s", b.Segment)
		}
	}
	return probs
}
