package telegram

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

// openAdapter is newAdapter without getMe: what a server starts with.
// Waits are not slept: each is recorded with the Status at that moment.
func (e *env) openAdapter(cfg Config) (*Adapter, *waits) {
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
	a, err := Open(cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	w := &waits{}
	a.sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.d = append(w.d, d)
		w.st = append(w.st, a.Status())
		w.mu.Unlock()
		return ctx.Err()
	}
	a.now = e.clock.Now
	a.jitter = func() float64 { return 0 }
	return a, w
}

// waits are an adapter's back-off waits and its Status during each.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
	st []channel.Status
}

func (w *waits) get() ([]time.Duration, []channel.Status) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...), append([]channel.Status(nil), w.st...)
}

// runRun is Run going in the background; the test's cleanup stops it.
type runRun struct {
	cancel context.CancelFunc
	fin    chan struct{}
	err    error
}

func run(t *testing.T, a *Adapter, h channel.Handler, o RunOptions) *runRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runRun{cancel: cancel, fin: make(chan struct{})}
	go func() {
		defer close(r.fin)
		r.err = a.Run(ctx, h, o)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.fin
	})
	return r
}

// wait returns Run's error once it returned on its own.
func (r *runRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.fin:
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s")
		return nil
	}
}

// stop cancels Run and returns its error.
func (r *runRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

func waitStatus(t *testing.T, a *Adapter, want channel.State) channel.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := a.Status()
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v, want %s", st, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRunPollsOnceTelegramAnswers(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a, w := e.openAdapter(Config{})
	if st := a.Status(); st.State != channel.StateConnecting || st.Bot != testBotID || st.Type != "telegram" {
		t.Fatalf("status before Run = %+v, want connecting", st)
	}
	e.inject("getMe", htmlFault(http.StatusBadGateway), apiFault(http.StatusBadGateway, "Bad Gateway", 0),
		apiFault(http.StatusInternalServerError, "Internal Server Error", 0))
	rec := &recorder{}
	r := run(t, a, rec, RunOptions{})
	st := waitStatus(t, a, channel.StateConnected)
	if st.Account != e.fake.Bot().Username || st.Mode != ModePolling || st.LastError != "" || st.NextRetry != nil {
		t.Fatalf("connected status = %+v", st)
	}
	u := mustSay(t, e.fake, 42, "hello after the outage")
	if got := rec.wait(t, 1); got[0].Text != u.Message.Text {
		t.Fatalf("inbound = %+v", got[0])
	}
	ds, sts := w.get()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	if len(ds) < 3 || !equalDurations(ds[:3], want) {
		t.Fatalf("waits = %v, want %v first", ds, want)
	}
	for i, st := range sts[:3] {
		if st.State != channel.StateDegraded || st.NextRetry == nil || !st.NextRetry.Equal(epoch.Add(want[i])) ||
			!strings.Contains(st.LastError, "getMe") {
			t.Errorf("status during wait %d = %+v, want degraded with the getMe error and the next try", i, st)
		}
	}
	if !strings.Contains(sts[2].LastError, "500") {
		t.Errorf("last error during the third wait = %q, want the 500", sts[2].LastError)
	}
	if err := r.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunRejectedTokenFailsForGood(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	const wrong = "123456789:WRONG-token-nobody-knows"
	a, w := e.openAdapter(Config{Token: wrong})
	err := run(t, a, &recorder{}, RunOptions{}).wait(t)
	if !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("Run = %v, want ErrTokenRejected", err)
	}
	st := a.Status()
	if st.State != channel.StateFailed || !strings.Contains(st.LastError, "rejected the token") || st.NextRetry != nil {
		t.Fatalf("status = %+v, want failed with the reason", st)
	}
	if ds, _ := w.get(); len(ds) != 0 {
		t.Fatalf("waits = %v, want none: a rejected token is not retried", ds)
	}
	for what, text := range map[string]string{"error": err.Error(), "status": st.LastError, "logs": e.logs.String()} {
		if strings.Contains(text, wrong) || strings.Contains(text, "WRONG-token") {
			t.Errorf("the token is in the %s: %s", what, text)
		}
	}
}

func TestRunRegistersTheWebhookOnceTelegramAnswers(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a, w := e.openAdapter(Config{WebhookSecret: "s3cret-for-the-test"})
	rec := &recorder{}
	url := e.hook(a, rec)
	e.inject("setWebhook", apiFault(http.StatusBadGateway, "Bad Gateway", 0), apiFault(http.StatusTooManyRequests, "Too Many Requests: retry after 5", 5))
	if err := run(t, a, rec, RunOptions{WebhookURL: url, RetryMin: 100 * time.Millisecond, RetryMax: 150 * time.Millisecond}).wait(t); err != nil {
		t.Fatalf("Run = %v, want nil once the webhook is set", err)
	}
	st := a.Status()
	if st.State != channel.StateConnected || st.Mode != ModeWebhook || st.Account != e.fake.Bot().Username {
		t.Fatalf("status = %+v, want connected by webhook", st)
	}
	if ds, sts := w.get(); !equalDurations(ds, []time.Duration{100 * time.Millisecond, 5 * time.Second}) ||
		!strings.Contains(sts[0].LastError, "setWebhook") {
		t.Fatalf("waits = %v (%+v), want 100ms, then the 5 s the 429 asked for, degraded by setWebhook", ds, sts)
	}
	u := mustSay(t, e.fake, 7, "via the webhook")
	if got := rec.wait(t, 1); got[0].Text != u.Message.Text {
		t.Fatalf("inbound = %+v", got[0])
	}
}

func TestRunKeepsPollingThroughAConflict(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	// A webhook left by an earlier deployment: getUpdates answers 409.
	other, _ := e.openAdapter(Config{WebhookSecret: "left-over-secret"})
	if err := other.SetWebhook(ctxT(t), e.hook(other, &recorder{}), "left-over-secret"); err != nil {
		t.Fatal(err)
	}
	a, _ := e.openAdapter(Config{})
	release := make(chan struct{})
	inWait := make(chan channel.Status, 1)
	a.sleep = func(ctx context.Context, d time.Duration) error {
		select {
		case inWait <- a.Status():
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rec := &recorder{}
	run(t, a, rec, RunOptions{})
	st := <-inWait
	if st.State != channel.StateDegraded || !strings.Contains(st.LastError, "webhook is set") {
		t.Fatalf("status during the conflict = %+v, want degraded saying a webhook is set", st)
	}
	if err := other.DeleteWebhook(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitStatus(t, a, channel.StateConnected)
	u := mustSay(t, e.fake, 9, "after the webhook is gone")
	if got := rec.wait(t, 1); got[0].Text != u.Message.Text {
		t.Fatalf("inbound = %+v", got[0])
	}
}

func TestRetryDelayDoublesToTheCapWithJitter(t *testing.T) {
	a := &Adapter{}
	o := RunOptions{RetryMin: time.Second, RetryMax: time.Minute}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for _, j := range []float64{0, 0.5, 0.999} {
		a.jitter = func() float64 { return j }
		for i, w := range want {
			full := w * time.Second
			got := a.retryDelay(i+1, o)
			if got > full || got < full*3/4 {
				t.Errorf("jitter %.3f, failure %d: wait %v, want within (%v, %v]", j, i+1, got, full*3/4, full)
			}
			if j == 0 && got != full {
				t.Errorf("failure %d without jitter: wait %v, want %v", i+1, got, full)
			}
		}
	}
}
