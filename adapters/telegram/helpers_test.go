package telegram

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

var epoch = time.Unix(1_750_000_000, 0)

const testBotID = "bot-1"

// env is a tgfake behind a fault-injecting front server, its manual clock,
// and an Adapter using the real go-telegram-bot-api client against it.
type env struct {
	t     testing.TB
	fake  *tgfake.Fake
	clock *tgfake.ManualClock
	front *httptest.Server
	a     *Adapter
	logs  *syncBuffer

	mu     sync.Mutex
	faults map[string][]fault // lower-case method → queued faults; nil entry = pass through

	sleepMu sync.Mutex
	sleeps  []time.Duration
}

// fault answers one Bot API request instead of the fake.
type fault func(w http.ResponseWriter)

func newEnv(t testing.TB, opts tgfake.Options) *env {
	t.Helper()
	e := &env{t: t, faults: map[string][]fault{}, logs: &syncBuffer{}}
	e.clock = tgfake.NewManualClock(epoch)
	opts.Clock = e.clock
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e.fake = tgfake.New(opts)
	e.front = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(func() {
		if err := e.fake.Close(); err != nil {
			t.Errorf("close fake: %v", err)
		}
		e.front.Close()
	})
	e.a = e.newAdapter(Config{})
	return e
}

// newAdapter connects another Adapter to the env's fake; zero Config
// fields get test defaults.
func (e *env) newAdapter(cfg Config) *Adapter {
	e.t.Helper()
	if cfg.BotID == "" {
		cfg.BotID = testBotID
	}
	if cfg.Token == "" {
		cfg.Token = e.fake.Token()
	}
	if cfg.APIEndpoint == "" {
		cfg.APIEndpoint = e.front.URL + "/bot%s/%s"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(e.t.Output(), e.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(ctxT(e.t), cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	a.sleep = e.sleep
	a.now = e.clock.Now
	return a
}

// sleep records the wait instead of waiting: back-off and retry_after are
// asserted, never slept.
func (e *env) sleep(ctx context.Context, d time.Duration) error {
	e.sleepMu.Lock()
	e.sleeps = append(e.sleeps, d)
	e.sleepMu.Unlock()
	return ctx.Err()
}

func (e *env) slept() []time.Duration {
	e.sleepMu.Lock()
	defer e.sleepMu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

// inject queues faults for method; a nil fault lets that call through.
func (e *env) inject(method string, fs ...fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := strings.ToLower(method)
	e.faults[m] = append(e.faults[m], fs...)
}

func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.ToLower(r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:])
	e.mu.Lock()
	var f fault
	if q := e.faults[method]; len(q) > 0 {
		f, e.faults[method] = q[0], q[1:]
	}
	e.mu.Unlock()
	if f != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		f(w)
		return
	}
	e.fake.ServeHTTP(w, r)
}

// apiFault answers like the Bot API with an error.
func apiFault(code int, desc string, retryAfter int) fault {
	return func(w http.ResponseWriter) {
		params := ""
		if retryAfter > 0 {
			params = fmt.Sprintf(`,"parameters":{"retry_after":%d}`, retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":%q%s}`, code, desc, params)
	}
}

// htmlFault is what a proxy in front of the Bot API says when it is down.
func htmlFault(code int) fault {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<html><head><title>%d Bad Gateway</title></head><body><center><h1>%d Bad Gateway</h1></center><hr><center>nginx</center></body></html>", code, code)
	}
}

// hook serves HandleWebhook for h on a local server, as the Fiber route
// will, and returns its URL.
func (e *env) hook(a *Adapter, h channel.Handler) string {
	e.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		status, _ := a.HandleWebhook(r.Context(), h, r.Header.Get(SecretHeader), body)
		w.WriteHeader(status)
	}))
	e.t.Cleanup(srv.Close)
	return srv.URL + "/telegram/webhook"
}

// recorder is a channel.Handler test double: it records accepted updates
// and can fail chosen calls.
type recorder struct {
	mu     sync.Mutex
	got    []channel.Inbound
	calls  int
	fail   func(call int, in channel.Inbound) error // nil: accept everything
	notify chan struct{}
}

func (r *recorder) Handle(_ context.Context, in channel.Inbound) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls, in); err != nil {
			return err
		}
	}
	r.got = append(r.got, in)
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
	return nil
}

// wait returns the first n accepted updates, failing the test after 10 s.
func (r *recorder) wait(t *testing.T, n int) []channel.Inbound {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]channel.Inbound(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		if r.notify == nil {
			r.notify = make(chan struct{})
		}
		ch := r.notify
		have := len(r.got)
		r.mu.Unlock()
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("handler got %d updates, want %d", have, n)
		}
	}
}

func (r *recorder) all() []channel.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channel.Inbound(nil), r.got...)
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustSay(t *testing.T, f *tgfake.Fake, user int64, text string) tgfake.Update {
	t.Helper()
	u, err := f.SendText(user, text)
	if err != nil {
		t.Fatalf("SendText(%d, %q): %v", user, text, err)
	}
	return u
}

// pollRun is Poll running in the background.
type pollRun struct {
	cancel context.CancelFunc
	fin    chan struct{}
	err    error
}

// polling starts a.Poll(h); the test's cleanup stops it.
func polling(t *testing.T, a *Adapter, h channel.Handler) *pollRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pollRun{cancel: cancel, fin: make(chan struct{})}
	go func() {
		defer close(p.fin)
		p.err = a.Poll(ctx, h)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.fin
	})
	return p
}

// stop cancels Poll and returns its error.
func (p *pollRun) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	return p.wait(t)
}

// wait returns Poll's error once it has returned on its own.
func (p *pollRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.fin:
		return p.err
	case <-time.After(10 * time.Second):
		t.Fatal("Poll did not return within 10 s")
		return nil
	}
}
