package fakekit

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Base is what a fake platform holds apart from its codec: the clock and
// logger, injected faults, webhook deliveries, the records of what the bot
// sent (T is the fake's record of one message), the control API with the
// routes every fake has, and the server it runs on. A fake embeds it, calls
// Init from its constructor, and answers its own API after Front.
type Base[T any] struct {
	Clock   Clock
	Log     *slog.Logger
	Hooks   *Deliverer
	Records *Records[T]
	Control *Control
	// Ctx ends at Close, letting go of requests a hanging outage holds.
	Ctx context.Context
	// Requests counts API calls that got past the injected faults.
	Requests atomic.Int64

	faults Faults
	cancel context.CancelFunc
	mu     sync.Mutex
	srv    *Server
}

// BaseOptions configure Init.
type BaseOptions struct {
	// Component names the fake in its log lines ("wafake").
	Component string
	Clock     Clock        // default SystemClock
	Logger    *slog.Logger // default slog.Default()
	// Hooks are the webhook's delivery rules; Clock and Logger are set by
	// Init, MaxConns defaults to 100.
	Hooks DelivererOptions
	// ChatParam is the query parameter naming a chat in GET /_fake/sent
	// and /_fake/sent/wait ("to", "user_id", "peer_id").
	ChatParam string
	// Stats answers GET /_fake/stats.
	Stats func() any
	// Lean keeps counts instead of records (NewLeanRecords) and forgets
	// finished deliveries (DelivererOptions.ForgetDone): for load runs.
	Lean bool
}

// Init sets b up and adds the control routes every fake shares:
//
//	GET    /_fake/sent[?<chat>=…]                  → the records (of one chat)
//	GET    /_fake/sent/wait?<chat>=…&n=2&timeout=5s → once there are n, 408 on timeout
//	DELETE /_fake/sent                              → true
//	GET    /_fake/stats                             → Stats()
//
// besides NewControl's (fail, outage, reset, clock/advance, deliveries).
func (b *Base[T]) Init(o BaseOptions) {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b.Clock, b.Log = o.Clock, o.Logger.With("component", o.Component)
	b.Ctx, b.cancel = context.WithCancel(context.Background())
	if o.Lean {
		b.Records = NewLeanRecords[T]()
		o.Hooks.ForgetDone = true
	} else {
		b.Records = NewRecords[T]()
	}
	o.Hooks.Clock, o.Hooks.Logger = b.Clock, b.Log
	if o.Hooks.MaxConns <= 0 {
		o.Hooks.MaxConns = 100
	}
	b.Hooks = NewDeliverer(o.Hooks)
	b.Control = NewControl(&b.faults, b.Clock, b.Hooks)
	c := b.Control
	c.Handle("GET", "sent", func(r *http.Request, _ []byte) (any, error) {
		if chat := r.URL.Query().Get(o.ChatParam); chat != "" {
			return b.Records.Chat(chat), nil
		}
		return b.Records.All(), nil
	})
	c.Handle("DELETE", "sent", func(*http.Request, []byte) (any, error) { b.Records.Clear(); return true, nil })
	c.Handle("GET", "sent/wait", func(r *http.Request, _ []byte) (any, error) { return WaitRoute(r, b.Records, o.ChatParam) })
	if o.Stats != nil {
		c.Handle("GET", "stats", func(*http.Request, []byte) (any, error) { return o.Stats(), nil })
	}
}

// Faults are the fake's injected failures.
func (b *Base[T]) Faults() *Faults { return &b.faults }

// Deliveries is the fake's webhook delivery queue.
func (b *Base[T]) Deliveries() *Deliverer { return b.Hooks }

// AllSent returns every message the bot sent, oldest first.
func (b *Base[T]) AllSent() []T { return b.Records.All() }

// ClearSent forgets the records.
func (b *Base[T]) ClearSent() { b.Records.Clear() }

// Serve serves h (the fake) on addr ("" = a free loopback port) and
// returns its base URL.
func (b *Base[T]) Serve(addr string, h http.Handler) (string, error) {
	srv, err := Listen(addr, h)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	return srv.URL(), nil
}

// Close stops the server and the webhook deliveries.
func (b *Base[T]) Close() error {
	b.cancel()
	b.Hooks.Close()
	b.Records.Close()
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	if srv != nil {
		return srv.Close()
	}
	return nil
}

// Front answers what comes before a fake's API: the control API under
// /_fake/, and injected faults (writeFault writes a platform error for a
// code). It reports whether it answered; otherwise the call is counted in
// Requests and the fake answers it.
func (b *Base[T]) Front(w http.ResponseWriter, r *http.Request, writeFault func(http.ResponseWriter, int)) bool {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		b.Control.ServeHTTP(w, r)
		return true
	}
	if b.faults.Serve(w, r, b.Ctx.Done(), writeFault) {
		return true
	}
	b.Requests.Add(1)
	return false
}
