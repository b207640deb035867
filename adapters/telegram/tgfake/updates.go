package tgfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// UpdateState is where an update stands.
type UpdateState string

// Update states.
const (
	// StatePending: not yet delivered by webhook nor confirmed by getUpdates.
	StatePending UpdateState = "pending"
	// StateDelivered: the webhook answered 2xx.
	StateDelivered UpdateState = "delivered"
	// StateConfirmed: a getUpdates offset past it confirmed it.
	StateConfirmed UpdateState = "confirmed"
	// StateExpired: dropped undelivered after its expiry.
	StateExpired UpdateState = "expired"
	// StateDropped: discarded by drop_pending_updates.
	StateDropped UpdateState = "dropped"
)

// UpdateStatus describes one update the fake produced.
type UpdateStatus struct {
	UpdateID int64       `json:"update_id"`
	Kind     string      `json:"kind"`     // "message", "callback_query", "my_chat_member"
	ChatKey  int64       `json:"chat_key"` // ordering key: chat id, or user id for callback queries
	Created  time.Time   `json:"created"`
	Expires  time.Time   `json:"expires"`
	State    UpdateState `json:"state"`
	// Returned counts getUpdates responses that carried the update.
	Returned int `json:"returned"`
	// Attempts counts webhook POSTs of the update; Failures those that
	// did not get a 2xx.
	Attempts  int       `json:"attempts"`
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
	DoneAt    time.Time `json:"done_at,omitzero"`
	Update    Update    `json:"update"`
}

type updateRec struct {
	id       int64
	kind     string
	key      int64
	raw      []byte
	upd      Update
	created  time.Time
	expires  time.Time
	state    UpdateState
	returned int
	attempts int
	failures int
	lastErr  string
	doneAt   time.Time
}

func (r *updateRec) status() UpdateStatus {
	return UpdateStatus{
		UpdateID: r.id, Kind: r.kind, ChatKey: r.key, Created: r.created, Expires: r.expires,
		State: r.state, Returned: r.returned, Attempts: r.attempts, Failures: r.failures, LastError: r.lastErr,
		DoneAt: r.doneAt, Update: r.upd,
	}
}

// defaultAllowed are the update types delivered when allowed_updates is
// empty (all but chat_member, message_reaction and message_reaction_count).
func allowedKind(allowed []string, kind string) bool {
	if len(allowed) == 0 {
		return true
	}
	return slices.Contains(allowed, kind)
}

// addUpdateLocked numbers u, queues it and hands it to the webhook or a
// waiting long poll.
func (f *Fake) addUpdateLocked(u *Update, key int64, now, expires time.Time) {
	kind := u.Kind()
	if !allowedKind(f.allowed, kind) {
		return
	}
	u.UpdateID = f.nextUpdateID
	f.nextUpdateID++
	rec := &updateRec{
		id: u.UpdateID, kind: kind, key: key, raw: marshalUpdate(u), upd: *u,
		created: now, expires: expires, state: StatePending,
	}
	f.pending = append(f.pending, rec)
	f.pendingN++
	if !f.opts.Lean {
		f.history = append(f.history, rec)
	}
	if f.hook != nil {
		f.hook.enqueue(rec)
		f.pumpLocked()
	} else if f.poll != nil {
		f.poll.wakeLocked()
	}
	f.changedLocked()
}

// finishLocked marks rec done in state st.
func (f *Fake) finishLocked(rec *updateRec, st UpdateState) {
	if rec.state != StatePending {
		return
	}
	rec.state = st
	rec.doneAt = f.clock.Now()
	f.pendingN--
	// Compact the done prefix.
	i := 0
	for i < len(f.pending) && f.pending[i].state != StatePending {
		f.pending[i] = nil
		i++
	}
	if i > 0 {
		f.pending = f.pending[i:]
	}
	f.changedLocked()
}

// expireLocked drops pending updates past their expiry.
func (f *Fake) expireLocked(now time.Time) {
	for _, r := range f.pending {
		if r != nil && r.state == StatePending && !now.Before(r.expires) {
			f.finishLocked(r, StateExpired)
		}
	}
}

func (f *Fake) dropPendingLocked() {
	for _, r := range slices.Clone(f.pending) {
		if r != nil && r.state == StatePending {
			f.finishLocked(r, StateDropped)
		}
	}
}

// ---- getUpdates ----

type poller struct {
	wake     chan struct{}
	woken    bool
	conflict bool
}

func (p *poller) wakeLocked() {
	if !p.woken {
		p.woken = true
		close(p.wake)
	}
}

func (f *Fake) getUpdates(ctx context.Context, p params) ([]byte, string, *apiError) {
	offset := p.int64("offset", 0)
	limit := int(p.clamped("limit", 100, 1, 100))
	timeout := time.Duration(p.clamped("timeout", 0, 0, 50)) * time.Second
	allowed, setAllowed := p.stringList("allowed_updates")

	f.mu.Lock()
	if f.hook != nil {
		f.mu.Unlock()
		return nil, "", conflict(DescConflictWebhook)
	}
	if f.poll != nil {
		// A newer poll terminates the one in progress.
		f.poll.conflict = true
		f.poll.wakeLocked()
		f.poll = nil
	}
	if setAllowed {
		f.allowed = allowed
	}
	f.confirmLocked(offset)

	var me *poller
	stop := func() bool { return false }
	deadlineHit := false
	defer func() { stop() }()
	for {
		f.expireLocked(f.clock.Now())
		if batch := f.batchLocked(offset, limit); len(batch) > 0 || timeout == 0 || deadlineHit || f.closed {
			if me != nil && f.poll == me {
				f.poll = nil
			}
			f.mu.Unlock()
			return joinRaw(batch), "", nil
		}
		if me == nil {
			// Arm the long-poll timeout once, on the injected clock.
			stop = f.clock.AfterFunc(timeout, func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				if me != nil {
					deadlineHit = true
					me.wakeLocked()
				}
			})
		}
		me = &poller{wake: make(chan struct{})}
		if deadlineHit {
			continue
		}
		f.poll = me
		f.changedLocked()
		wake := me.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
		}
		f.mu.Lock()
		if me.conflict {
			f.mu.Unlock()
			return nil, "", conflict(DescConflictPoll)
		}
		if ctx.Err() != nil {
			if f.poll == me {
				f.poll = nil
			}
			f.mu.Unlock()
			return nil, "", &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error: request canceled"}
		}
		if f.hook != nil {
			f.mu.Unlock()
			return nil, "", conflict(DescConflictWebhook)
		}
		if f.poll == me {
			f.poll = nil
		}
	}
}

// confirmLocked applies the getUpdates offset: a positive offset confirms
// every update below it; a negative one keeps only the last |offset|.
func (f *Fake) confirmLocked(offset int64) {
	switch {
	case offset > 0:
		// finishLocked compacts the done prefix, so pending[0] is always live.
		for len(f.pending) > 0 && f.pending[0].id < offset {
			f.finishLocked(f.pending[0], StateConfirmed)
		}
	case offset < 0:
		keep := int(-offset)
		live := make([]*updateRec, 0, f.pendingN)
		for _, r := range f.pending {
			if r != nil && r.state == StatePending {
				live = append(live, r)
			}
		}
		if len(live) > keep {
			for _, r := range live[:len(live)-keep] {
				f.finishLocked(r, StateConfirmed)
			}
		}
	}
}

// batchLocked returns up to limit pending updates with id ≥ offset (and,
// for a negative offset, the last |offset|).
func (f *Fake) batchLocked(offset int64, limit int) [][]byte {
	var out [][]byte
	for _, r := range f.pending {
		if len(out) == limit {
			break
		}
		if r == nil || r.state != StatePending || (offset > 0 && r.id < offset) {
			continue
		}
		r.returned++
		out = append(out, r.raw)
	}
	return out
}

func joinRaw(items [][]byte) []byte {
	if len(items) == 0 {
		return []byte("[]")
	}
	return append(append([]byte{'['}, bytes.Join(items, []byte{','})...), ']')
}

// ---- webhooks ----

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

type hookState struct {
	url      string
	secret   string
	maxConn  int
	queues   map[int64]*keyQueue
	ready    []int64
	inFlight int
	lastErr  string
	lastErrT time.Time
}

// keyQueue holds one chat's (or user's) updates: one in flight at a time.
type keyQueue struct {
	items   []*updateRec
	busy    bool // an attempt or a retry wait is in progress
	inReady bool
}

func (h *hookState) enqueue(r *updateRec) {
	q, ok := h.queues[r.key]
	if !ok {
		q = &keyQueue{}
		h.queues[r.key] = q
	}
	q.items = append(q.items, r)
	if !q.busy && !q.inReady {
		q.inReady = true
		h.ready = append(h.ready, r.key)
	}
}

func (f *Fake) setWebhook(_ context.Context, p params) ([]byte, string, *apiError) {
	rawURL := p["url"]
	secret := p["secret_token"]
	if len(secret) > 256 {
		return nil, "", badRequest(DescSecretTooLong)
	}
	if !secretRE.MatchString(secret) {
		return nil, "", badRequest(DescSecretChars)
	}
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, "", badRequest(DescBadWebhookURL)
		}
	}
	maxConn := int(p.clamped("max_connections", 40, 1, 100))
	allowed, setAllowed := p.stringList("allowed_updates")
	drop := p.bool("drop_pending_updates")

	f.mu.Lock()
	defer f.mu.Unlock()
	if setAllowed {
		f.allowed = allowed
	}
	if drop {
		f.dropPendingLocked()
	}
	if rawURL == "" {
		return f.removeHookLocked()
	}
	if h := f.hook; h != nil && h.url == rawURL {
		// Same URL: keep the queues (and what is in flight), update settings.
		h.secret, h.maxConn = secret, maxConn
		f.pumpLocked()
		return trueJSON, "Webhook is already set", nil
	}
	desc := "Webhook was set"
	f.hook = &hookState{url: rawURL, secret: secret, maxConn: maxConn, queues: map[int64]*keyQueue{}}
	for _, r := range f.pending {
		if r != nil && r.state == StatePending {
			f.hook.enqueue(r)
		}
	}
	if f.poll != nil {
		f.poll.wakeLocked()
	}
	f.pumpLocked()
	return trueJSON, desc, nil
}

func (f *Fake) removeHookLocked() ([]byte, string, *apiError) {
	if f.hook == nil {
		return trueJSON, "Webhook is already deleted", nil
	}
	f.hook = nil
	return trueJSON, "Webhook was deleted", nil
}

func (f *Fake) deleteWebhook(_ context.Context, p params) ([]byte, string, *apiError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.bool("drop_pending_updates") {
		f.dropPendingLocked()
	}
	return f.removeHookLocked()
}

func (f *Fake) getWebhookInfo(_ context.Context, _ params) ([]byte, string, *apiError) {
	f.mu.Lock()
	info := WebhookInfo{PendingUpdateCount: f.pendingN}
	if h := f.hook; h != nil {
		info.URL = h.url
		info.MaxConnections = h.maxConn
		info.AllowedUpdates = slices.Clone(f.allowed)
		if h.lastErr != "" {
			info.LastErrorDate = h.lastErrT.Unix()
			info.LastErrorMessage = h.lastErr
		}
	}
	f.mu.Unlock()
	b, err := json.Marshal(info)
	if err != nil {
		return nil, "", &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error: " + err.Error()}
	}
	return b, "", nil
}

// pumpLocked starts deliveries for ready chats while connections are free.
func (f *Fake) pumpLocked() {
	h := f.hook
	if h == nil || f.closed {
		return
	}
	now := f.clock.Now()
	for h.inFlight < h.maxConn && len(h.ready) > 0 {
		key := h.ready[0]
		h.ready = h.ready[1:]
		q := h.queues[key]
		q.inReady = false
		// Skip what is done or expired.
		for len(q.items) > 0 {
			r := q.items[0]
			if r.state == StatePending && now.Before(r.expires) {
				break
			}
			if r.state == StatePending {
				f.finishLocked(r, StateExpired)
			}
			q.items = q.items[1:]
		}
		if len(q.items) == 0 {
			delete(h.queues, key)
			continue
		}
		r := q.items[0]
		q.busy = true
		h.inFlight++
		r.attempts++
		f.wg.Add(1)
		go f.deliver(h, q, r, h.url, h.secret)
	}
}

// deliver POSTs one update to the webhook and books the outcome.
func (f *Fake) deliver(h *hookState, q *keyQueue, r *updateRec, hookURL, secret string) {
	defer f.wg.Done()
	reply, err := f.post(f.ctx, hookURL, secret, r.raw)
	if err == nil && len(reply) > 0 {
		f.execWebhookReply(f.ctx, reply)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	h.inFlight--
	if err == nil {
		f.finishLocked(r, StateDelivered)
	} else {
		r.failures++
		r.lastErr = err.Error()
		f.changedLocked()
	}
	if f.hook != h {
		// The webhook was deleted or replaced meanwhile; its queues are gone.
		return
	}
	now := f.clock.Now()
	if err == nil {
		q.items = q.items[1:]
		f.releaseLocked(h, q, r.key, false)
		f.pumpLocked()
		return
	}
	h.lastErr, h.lastErrT = err.Error(), now
	f.log.Debug("webhook delivery failed", "update_id", r.id, "attempt", r.attempts, "err", err)
	delay := f.backoff(r.attempts)
	if delay == 0 {
		f.releaseLocked(h, q, r.key, true)
		f.pumpLocked()
		return
	}
	f.clock.AfterFunc(delay, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.hook != h {
			return
		}
		f.releaseLocked(h, q, r.key, true)
		f.pumpLocked()
	})
}

// releaseLocked frees q for its next attempt; front puts it first in line.
func (f *Fake) releaseLocked(h *hookState, q *keyQueue, key int64, front bool) {
	q.busy = false
	if len(q.items) == 0 {
		delete(h.queues, key)
		return
	}
	if q.inReady {
		return
	}
	q.inReady = true
	if front {
		h.ready = append([]int64{key}, h.ready...)
	} else {
		h.ready = append(h.ready, key)
	}
}

// backoff is the wait before the next attempt after `failures` failed
// ones: immediately, then 2, 4, 8… s, capped, all scaled.
func (f *Fake) backoff(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	d := f.opts.MaxRetryDelay
	if failures-1 < 30 {
		d = min(time.Duration(1<<(failures-1))*time.Second, f.opts.MaxRetryDelay)
	}
	return time.Duration(float64(d) * f.opts.RetryScale)
}

// post sends one update; any 2xx is success, and its body (up to 1 MiB)
// is returned. Error texts mirror getWebhookInfo's last_error_message.
func (f *Fake) post(ctx context.Context, hookURL, secret string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("Read timeout expired") //nolint:staticcheck // Telegram's wording
		}
		return nil, fmt.Errorf("Connection refused: %w", err) //nolint:staticcheck // Telegram's wording
	}
	defer drain(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("Wrong response from the webhook: %s", resp.Status) //nolint:staticcheck // Telegram's wording
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		// Delivered all the same: the status line counts.
		f.log.Debug("read webhook reply", "err", err)
		return nil, nil
	}
	return reply, nil
}

// execWebhookReply executes a Bot API call carried in a 2xx webhook reply
// ({"method":"sendMessage","chat_id":…}), as Telegram does; its result
// and errors are not reported anywhere but the log and the records.
func (f *Fake) execWebhookReply(ctx context.Context, reply []byte) {
	reply = bytes.TrimSpace(reply)
	if len(reply) == 0 || reply[0] != '{' {
		return
	}
	p := params{}
	if err := p.addJSON(reply); err != nil {
		f.log.Debug("webhook reply is not a JSON object", "err", err)
		return
	}
	name := p["method"]
	if name == "" {
		return
	}
	m, ok := f.methods[strings.ToLower(name)]
	if !ok {
		f.unknownReq.Add(1)
		f.log.Debug("webhook reply names an unknown method", "method", name)
		return
	}
	f.countRequest(name)
	if _, _, aerr := m(ctx, p); aerr != nil {
		if aerr.code == http.StatusTooManyRequests {
			f.tooMany.Add(1)
		}
		f.log.Debug("webhook reply method failed", "method", name, "err", aerr)
	}
}

// ---- inspection ----

// Updates returns every update produced so far, oldest first.
func (f *Fake) Updates() []UpdateStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]UpdateStatus, len(f.history))
	for i, r := range f.history {
		out[i] = r.status()
	}
	return out
}

// UpdateStatusOf returns the status of update id.
func (f *Fake) UpdateStatusOf(id int64) (UpdateStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.findUpdateLocked(id)
	if r == nil {
		return UpdateStatus{}, false
	}
	return r.status(), true
}

func (f *Fake) findUpdateLocked(id int64) *updateRec {
	recs := f.history
	if f.opts.Lean {
		recs = f.pending // in id order too; done ones leave it
	}
	i := sort.Search(len(recs), func(i int) bool { return recs[i].id >= id })
	if i < len(recs) && recs[i].id == id {
		return recs[i]
	}
	return nil
}

// WaitUpdateDone blocks until update id has left the pending state
// (delivered, confirmed, expired or dropped) and returns its final status.
func (f *Fake) WaitUpdateDone(ctx context.Context, id int64) (UpdateStatus, error) {
	return f.WaitUpdate(ctx, id, func(s UpdateStatus) bool { return s.State != StatePending })
}

// WaitUpdate blocks until cond holds for update id's status (evaluated on
// every change, never by polling) and returns that status. A failed
// webhook attempt is booked, and its retry timer armed, before waiters see
// the new Failures count.
func (f *Fake) WaitUpdate(ctx context.Context, id int64, cond func(UpdateStatus) bool) (UpdateStatus, error) {
	var st UpdateStatus
	err := f.waitFor(ctx, func() bool {
		r := f.findUpdateLocked(id)
		if r == nil {
			return false
		}
		st = r.status()
		return cond(st)
	})
	if err != nil {
		return UpdateStatus{}, fmt.Errorf("wait for update %s: %w", strconv.FormatInt(id, 10), err)
	}
	return st, nil
}

// WaitPoll blocks until a getUpdates long poll is parked waiting for
// updates.
func (f *Fake) WaitPoll(ctx context.Context) error {
	if err := f.waitFor(ctx, func() bool { return f.poll != nil }); err != nil {
		return fmt.Errorf("wait for a long poll: %w", err)
	}
	return nil
}

// PendingUpdates reports how many updates await delivery or confirmation.
func (f *Fake) PendingUpdates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pendingN
}
