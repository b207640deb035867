package fakekit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DeliveryState is where a webhook delivery stands.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryExpired   DeliveryState = "expired"
)

// Delivery is one update a fake posts to the bot's webhook.
type Delivery struct {
	ID      int64         `json:"id"`
	Key     string        `json:"key"` // ordering key: the chat
	Created time.Time     `json:"created"`
	Expires time.Time     `json:"expires"`
	State   DeliveryState `json:"state"`
	// Attempts counts POSTs; Failures those the platform did not accept.
	Attempts  int       `json:"attempts"`
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
	DoneAt    time.Time `json:"done_at,omitzero"`
	// Reply is the body of the accepted answer.
	Reply []byte            `json:"reply,omitempty"`
	Body  []byte            `json:"-"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// DelivererOptions configure a Deliverer. Zero values take the defaults.
type DelivererOptions struct {
	Clock Clock // default SystemClock
	// Client posts the updates (default: keeps up to MaxConns connections).
	Client *http.Client
	// Timeout bounds one POST in wall time (default 30 s).
	Timeout time.Duration
	// MaxConns is how many chats are delivered in parallel (default 40).
	MaxConns int
	// Backoff is the wait before the next attempt after `failures` failed
	// ones (0: at once). Default: at once, then 2, 4, 8… s capped at 60 s.
	Backoff func(failures int) time.Duration
	// TTL is how long an undelivered update is retried (default 24 h).
	TTL time.Duration
	// Prepare sets the request's headers (signature, retry counter) for
	// delivery d (d.Attempts counts this attempt); Content-Type is
	// application/json unless Prepare changes it.
	Prepare func(req *http.Request, d Delivery)
	// Accept says whether the webhook's answer counts as delivered
	// (default: any 2xx). Its error becomes LastError.
	Accept func(status int, body []byte) error
	// OnAccepted sees the accepted answer (Telegram executes a method in
	// it, Viber shows a welcome message).
	OnAccepted func(d Delivery, reply []byte)
	// Logger gets debug lines (default slog.Default()).
	Logger *slog.Logger
	// ForgetDone drops a delivery from the history once it and every
	// older one are delivered or expired, so that a long load run's memory
	// stays flat; All, Get and Wait then see only the rest (Wait on a
	// forgotten id answers ErrForgotten). Default: keep everything, for
	// tests that inspect what was posted.
	ForgetDone bool
}

// ErrForgotten: the delivery is done and, with ForgetDone, no longer kept.
var ErrForgotten = errors.New("fakekit: delivery done and forgotten")

// ExpBackoff is the usual schedule: the first retry at once, then 2, 4,
// 8… s, capped at max, all times scale.
func ExpBackoff(maxDelay time.Duration, scale float64) func(int) time.Duration {
	if scale <= 0 {
		scale = 1
	}
	return func(failures int) time.Duration {
		if failures <= 1 {
			return 0
		}
		d := maxDelay
		if failures-1 < 30 {
			d = min(time.Duration(1<<(failures-1))*time.Second, maxDelay)
		}
		return time.Duration(float64(d) * scale)
	}
}

// Deliverer posts updates to a webhook URL: one update in flight per key
// (strict order within a chat), up to MaxConns keys in parallel, failed
// attempts retried on Backoff's schedule on the injected clock until the
// update expires. Without a URL updates wait. Safe for concurrent use.
type Deliverer struct {
	opts DelivererOptions
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	url      string
	gen      int // bumped when the URL changes: old attempts' queues are gone
	nextID   int64
	history  []*Delivery // the last len(history) ids before nextID, in order
	queues   map[string]*keyQueue
	ready    []string
	inFlight int
	pending  int
	notify   chan struct{}
	closed   bool
}

type keyQueue struct {
	items   []*Delivery
	busy    bool
	inReady bool
}

// NewDeliverer returns a Deliverer with no URL.
func NewDeliverer(opts DelivererOptions) *Deliverer {
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 40
	}
	if opts.Backoff == nil {
		opts.Backoff = ExpBackoff(60*time.Second, 1)
	}
	if opts.TTL <= 0 {
		opts.TTL = 24 * time.Hour
	}
	if opts.Accept == nil {
		opts.Accept = func(status int, _ []byte) error {
			if status < 200 || status > 299 {
				return fmt.Errorf("Wrong response from the webhook: %d %s", status, http.StatusText(status)) //nolint:staticcheck // platforms' wording
			}
			return nil
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 0, max(opts.MaxConns, 2)
		opts.Client = &http.Client{Transport: t}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, nextID: 1, queues: map[string]*keyQueue{}}
}

// SetURL points deliveries at url; "" pauses them (updates wait). A new
// URL starts over with what is pending, in order.
func (d *Deliverer) SetURL(url string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if url == d.url {
		return
	}
	d.url = url
	d.gen++
	d.queues, d.ready, d.inFlight = map[string]*keyQueue{}, nil, 0
	if url == "" {
		return
	}
	for _, r := range d.history {
		if r.State == DeliveryPending {
			d.enqueueLocked(r)
		}
	}
	d.pumpLocked()
}

// URL is the current webhook URL.
func (d *Deliverer) URL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.url
}

// Enqueue queues body for delivery in key's order and returns its id.
// meta is kept with the delivery for the fake's own bookkeeping.
func (d *Deliverer) Enqueue(key string, body []byte, meta map[string]string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opts.Clock.Now()
	r := &Delivery{ID: d.nextID, Key: key, Created: now, Expires: now.Add(d.opts.TTL), State: DeliveryPending, Body: body, Meta: meta}
	d.nextID++
	d.history = append(d.history, r)
	d.pending++
	if d.url != "" && !d.closed {
		d.enqueueLocked(r)
		d.pumpLocked()
	}
	d.changedLocked()
	return r.ID
}

func (d *Deliverer) enqueueLocked(r *Delivery) {
	q := d.queues[r.Key]
	if q == nil {
		q = &keyQueue{}
		d.queues[r.Key] = q
	}
	q.items = append(q.items, r)
	if !q.busy && !q.inReady {
		q.inReady = true
		d.ready = append(d.ready, r.Key)
	}
}

func (d *Deliverer) finishLocked(r *Delivery, st DeliveryState) {
	if r.State != DeliveryPending {
		return
	}
	r.State, r.DoneAt = st, d.opts.Clock.Now()
	d.pending--
	if d.opts.ForgetDone {
		i := 0
		for i < len(d.history) && d.history[i].State != DeliveryPending {
			d.history[i] = nil
			i++
		}
		d.history = d.history[i:]
	}
	d.changedLocked()
}

// firstLocked is the id of history[0]: the history is every id up to
// nextID, less the forgotten ones before it.
func (d *Deliverer) firstLocked() int64 { return d.nextID - int64(len(d.history)) }

// atLocked is delivery id, nil when there is none or it was forgotten.
func (d *Deliverer) atLocked(id int64) *Delivery {
	if i := id - d.firstLocked(); i >= 0 && i < int64(len(d.history)) {
		return d.history[i]
	}
	return nil
}

func (d *Deliverer) pumpLocked() {
	if d.url == "" || d.closed {
		return
	}
	now := d.opts.Clock.Now()
	for d.inFlight < d.opts.MaxConns && len(d.ready) > 0 {
		key := d.ready[0]
		d.ready = d.ready[1:]
		q := d.queues[key]
		q.inReady = false
		for len(q.items) > 0 {
			r := q.items[0]
			if r.State == DeliveryPending && now.Before(r.Expires) {
				break
			}
			d.finishLocked(r, DeliveryExpired)
			q.items = q.items[1:]
		}
		if len(q.items) == 0 {
			delete(d.queues, key)
			continue
		}
		r := q.items[0]
		q.busy = true
		d.inFlight++
		r.Attempts++
		d.wg.Add(1)
		snap := *r
		go d.deliver(d.gen, q, r, snap, d.url)
	}
}

func (d *Deliverer) deliver(gen int, q *keyQueue, r *Delivery, snap Delivery, url string) {
	defer d.wg.Done()
	reply, err := d.post(url, snap)
	if err == nil && d.opts.OnAccepted != nil {
		d.mu.Lock()
		snap := *r
		d.mu.Unlock()
		d.opts.OnAccepted(snap, reply)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		r.Reply = reply
		d.finishLocked(r, DeliveryDelivered)
	} else {
		r.Failures++
		r.LastError = err.Error()
		d.changedLocked()
	}
	if d.gen != gen {
		return // the URL changed meanwhile; its queues are gone
	}
	d.inFlight--
	if err == nil {
		q.items = q.items[1:]
		d.releaseLocked(q, r.Key, false)
		d.pumpLocked()
		return
	}
	d.log.Debug("webhook delivery failed", "id", r.ID, "attempt", r.Attempts, "err", err)
	delay := d.opts.Backoff(r.Failures)
	if delay <= 0 {
		d.releaseLocked(q, r.Key, true)
		d.pumpLocked()
		return
	}
	d.opts.Clock.AfterFunc(delay, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen != gen {
			return
		}
		d.releaseLocked(q, r.Key, true)
		d.pumpLocked()
	})
}

func (d *Deliverer) releaseLocked(q *keyQueue, key string, front bool) {
	q.busy = false
	if len(q.items) == 0 {
		delete(d.queues, key)
		return
	}
	if q.inReady {
		return
	}
	q.inReady = true
	if front {
		d.ready = append([]string{key}, d.ready...)
	} else {
		d.ready = append(d.ready, key)
	}
}

func (d *Deliverer) post(url string, dl Delivery) ([]byte, error) {
	body := dl.Body
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if d.opts.Prepare != nil {
		d.opts.Prepare(req, dl)
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("Read timeout expired") //nolint:staticcheck // platforms' wording
		}
		return nil, fmt.Errorf("Connection refused: %w", err) //nolint:staticcheck // platforms' wording
	}
	reply, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err := d.opts.Accept(resp.StatusCode, reply); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, nil // delivered all the same: the status line counts
	}
	return reply, nil
}

func (d *Deliverer) changedLocked() {
	if d.notify != nil {
		close(d.notify)
		d.notify = nil
	}
}

// All returns every delivery, oldest first (with ForgetDone, those kept).
func (d *Deliverer) All() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Delivery, len(d.history))
	for i, r := range d.history {
		out[i] = *r
	}
	return out
}

// Pending counts deliveries not yet delivered nor expired.
func (d *Deliverer) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}

// Get returns delivery id (false for an unknown or forgotten one).
func (d *Deliverer) Get(id int64) (Delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.atLocked(id)
	if r == nil {
		return Delivery{}, false
	}
	return *r, true
}

// Wait blocks until cond holds for delivery id (checked on every change,
// never by polling).
func (d *Deliverer) Wait(ctx context.Context, id int64, cond func(Delivery) bool) (Delivery, error) {
	for {
		d.mu.Lock()
		if r := d.atLocked(id); r != nil && cond(*r) {
			snap := *r
			d.mu.Unlock()
			return snap, nil
		}
		if id >= 1 && id < d.firstLocked() {
			d.mu.Unlock()
			return Delivery{}, fmt.Errorf("wait for delivery %d: %w", id, ErrForgotten)
		}
		if d.closed {
			d.mu.Unlock()
			return Delivery{}, ErrClosed
		}
		if d.notify == nil {
			d.notify = make(chan struct{})
		}
		ch := d.notify
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Delivery{}, fmt.Errorf("wait for delivery %d: %w", id, ctx.Err())
		}
	}
}

// WaitDone waits until delivery id is delivered or expired.
func (d *Deliverer) WaitDone(ctx context.Context, id int64) (Delivery, error) {
	return d.Wait(ctx, id, func(r Delivery) bool { return r.State != DeliveryPending })
}

// Close abandons deliveries in flight and waits for their goroutines.
func (d *Deliverer) Close() {
	d.mu.Lock()
	d.closed = true
	d.changedLocked()
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
