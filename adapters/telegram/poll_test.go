package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

func confirmed(s tgfake.UpdateStatus) bool { return s.State == tgfake.StateConfirmed }

func TestPollRoundTrip(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec := &recorder{}
	p := polling(t, e.a, rec)
	u1 := mustSay(t, e.fake, 42, "one")
	u2 := mustSay(t, e.fake, 43, "two")
	u3 := mustSay(t, e.fake, 42, "three")
	got := rec.wait(t, 3)
	for i, u := range []tgfake.Update{u1, u2, u3} {
		if got[i].UpdateID != fmt.Sprintf("tg:%d", u.UpdateID) || got[i].Text != u.Message.Text ||
			got[i].Chat != fmt.Sprint(u.Message.Chat.ID) || got[i].Kind != channel.KindText || got[i].Bot != testBotID {
			t.Errorf("inbound %d = %+v, want update %d %q", i, got[i], u.UpdateID, u.Message.Text)
		}
	}
	if _, err := e.fake.WaitUpdate(ctxT(t), u3.UpdateID, confirmed); err != nil {
		t.Fatal(err)
	}
	if err := p.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll after cancel = %v, want context.Canceled", err)
	}
}

// TestPollConfirmsOnlyAfterHandle: while Handle runs, the update stays
// unconfirmed at Telegram; once it returns, the next poll confirms it.
func TestPollConfirmsOnlyAfterHandle(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	entered := make(chan struct{})
	release := make(chan struct{})
	rec := &recorder{}
	h := channelHandlerFunc(func(ctx context.Context, in channel.Inbound) error {
		close(entered)
		<-release
		return rec.Handle(ctx, in)
	})
	polling(t, e.a, h)
	u := mustSay(t, e.fake, 42, "one")
	<-entered
	if st, _ := e.fake.UpdateStatusOf(u.UpdateID); st.State != tgfake.StatePending {
		t.Fatalf("update %s while the handler runs, want pending", st.State)
	}
	close(release)
	if _, err := e.fake.WaitUpdate(ctxT(t), u.UpdateID, confirmed); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 1)
}

// TestPollRestartSkipsConfirmed: a restarted poller sees only what the
// previous one did not confirm.
func TestPollRestartSkipsConfirmed(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec1 := &recorder{}
	p1 := polling(t, e.a, rec1)
	mustSay(t, e.fake, 42, "one")
	u2 := mustSay(t, e.fake, 42, "two")
	rec1.wait(t, 2)
	if _, err := e.fake.WaitUpdate(ctxT(t), u2.UpdateID, confirmed); err != nil {
		t.Fatal(err)
	}
	if err := p1.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v", err)
	}

	rec2 := &recorder{}
	polling(t, e.newAdapter(Config{}), rec2)
	u3 := mustSay(t, e.fake, 42, "three")
	if got := rec2.wait(t, 1); got[0].UpdateID != fmt.Sprintf("tg:%d", u3.UpdateID) {
		t.Fatalf("restarted poller first saw %+v, want update %d", got[0], u3.UpdateID)
	}
}

// TestPollCrashRedelivers: a poller that dies after Handle but before its
// next getUpdates has not confirmed the update: the next poller gets it
// again (and the runtime drops the repeat by UpdateID).
func TestPollCrashRedelivers(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	rec1 := &recorder{}
	h := channelHandlerFunc(func(ctx context.Context, in channel.Inbound) error {
		err := rec1.Handle(ctx, in)
		crash() // the process dies right after recording the update
		return err
	})
	errc := make(chan error, 1)
	go func() { errc <- e.a.Poll(ctx, h) }()
	u := mustSay(t, e.fake, 42, "one")
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v", err)
	}
	if st, _ := e.fake.UpdateStatusOf(u.UpdateID); st.State != tgfake.StatePending {
		t.Fatalf("update %s after the crash, want pending (unconfirmed)", st.State)
	}
	rec2 := &recorder{}
	polling(t, e.newAdapter(Config{}), rec2)
	got1, got2 := rec1.wait(t, 1)[0], rec2.wait(t, 1)[0]
	if got1.UpdateID != got2.UpdateID {
		t.Fatalf("redelivered %s, first delivery %s", got2.UpdateID, got1.UpdateID)
	}
}

// TestPollHandlerFailureRedelivers: a failed Handle is retried after a
// back-off with the same update, which is confirmed only then.
func TestPollHandlerFailureRedelivers(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec := &recorder{fail: func(call int, _ channel.Inbound) error {
		if call == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}}
	polling(t, e.a, rec)
	u := mustSay(t, e.fake, 42, "one")
	mustSay(t, e.fake, 42, "two")
	got := rec.wait(t, 2)
	if got[0].Text != "one" || got[1].Text != "two" {
		t.Fatalf("handled %q, %q; want one, two in order", got[0].Text, got[1].Text)
	}
	st, err := e.fake.WaitUpdate(ctxT(t), u.UpdateID, confirmed)
	if err != nil {
		t.Fatal(err)
	}
	if st.Returned < 2 {
		t.Errorf("update returned %d times by getUpdates, want ≥ 2 (redelivered)", st.Returned)
	}
	if s := e.slept(); !slices.Contains(s, backoff(1)) {
		t.Errorf("slept %v, want a back-off of %v after the failure", s, backoff(1))
	}
}

func TestPollSecondPollerConflict(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	p1 := polling(t, e.a, &recorder{})
	if err := e.fake.WaitPoll(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rec2 := &recorder{}
	polling(t, e.newAdapter(Config{}), rec2)

	err := p1.wait(t)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Webhook {
		t.Fatalf("first poller got %v, want *ConflictError about another poller", err)
	}
	if !strings.Contains(err.Error(), "one polling instance") || !strings.Contains(ce.Description, "terminated by other getUpdates") {
		t.Errorf("error %q does not explain the conflict", err)
	}
	// The second poller carries on.
	mustSay(t, e.fake, 42, "hi")
	rec2.wait(t, 1)
}

func TestPollWhileWebhookSet(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	if err := e.a.SetWebhook(ctxT(t), e.hook(e.a, &recorder{}), "secret"); err != nil {
		t.Fatal(err)
	}
	err := e.a.Poll(ctxT(t), &recorder{})
	var ce *ConflictError
	if !errors.As(err, &ce) || !ce.Webhook {
		t.Fatalf("Poll = %v, want *ConflictError about the webhook", err)
	}
	if !strings.Contains(err.Error(), "DeleteWebhook") {
		t.Errorf("error %q does not say how to fix it", err)
	}

	// Asked to, the poller deletes the webhook first.
	rec := &recorder{}
	polling(t, e.newAdapter(Config{DeleteWebhookOnPoll: true}), rec)
	if err := e.fake.WaitPoll(ctxT(t)); err != nil { // the webhook is gone once a poll is parked
		t.Fatal(err)
	}
	mustSay(t, e.fake, 42, "hi")
	if got := rec.wait(t, 1); got[0].Text != "hi" {
		t.Fatalf("got %+v", got[0])
	}
}

func TestPollTwiceOnOneAdapter(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	polling(t, e.a, &recorder{})
	if err := e.fake.WaitPoll(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Poll(ctxT(t), &recorder{}); !errors.Is(err, ErrPolling) {
		t.Fatalf("second Poll = %v, want ErrPolling", err)
	}
}

func TestPollHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	e.inject("getUpdates", apiFault(http.StatusTooManyRequests, "Too Many Requests: retry after 7", 7))
	rec := &recorder{}
	polling(t, e.a, rec)
	mustSay(t, e.fake, 42, "hi")
	rec.wait(t, 1)
	if s := e.slept(); len(s) == 0 || s[0] != 7*time.Second {
		t.Fatalf("slept %v, want 7s first (retry_after)", s)
	}
}

// TestPollBacksOffOnTransientFailures: an HTML 502 (a decode error in the
// library), a JSON 500 and a dropped connection each back off longer, then
// polling resumes; the token never reaches the logs.
func TestPollBacksOffOnTransientFailures(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	e.inject("getUpdates", htmlFault(http.StatusBadGateway), apiFault(http.StatusInternalServerError, "Internal Server Error", 0), dropConn)
	rec := &recorder{}
	polling(t, e.a, rec)
	mustSay(t, e.fake, 42, "hi")
	rec.wait(t, 1)
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	if s := e.slept(); len(s) < 3 || !slices.Equal(s[:3], want) {
		t.Fatalf("slept %v, want %v first", s, want)
	}
	if logs := e.logs.String(); strings.Contains(logs, e.fake.Token()) {
		t.Fatalf("the token leaked into the logs:\n%s", logs)
	}
}

func TestPollStopsOnRejectedToken(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	e.inject("getUpdates", apiFault(http.StatusUnauthorized, "Unauthorized", 0))
	err := e.a.Poll(ctxT(t), &recorder{})
	var ce *ConflictError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "token") {
		t.Fatalf("Poll = %v, want an error about the token", err)
	}
}

// TestPollSkipsUndecodableUpdate: an update that does not decode is logged
// and stepped over; the next one is handled.
func TestPollSkipsUndecodableUpdate(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	e.inject("getUpdates", func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"result":[`+
			`{"update_id":5,"message":{"message_id":1,"date":1750000000,"chat":{"id":"not a number","type":"private"},"text":"x"}},`+
			`{"update_id":6,"message":{"message_id":2,"date":1750000000,"chat":{"id":42,"type":"private"},"text":"ok"}}]}`)
	})
	rec := &recorder{}
	polling(t, e.a, rec)
	if got := rec.wait(t, 1); got[0].UpdateID != "tg:6" || got[0].Text != "ok" {
		t.Fatalf("got %+v, want update 6", got[0])
	}
	if logs := e.logs.String(); !strings.Contains(logs, "undecodable update skipped") || !strings.Contains(logs, "update_id=5") {
		t.Fatalf("no log line for the skipped update:\n%s", logs)
	}
}

func TestPollTimeoutFitsClientTimeout(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a := e.newAdapter(Config{HTTPClient: &http.Client{Timeout: 20 * time.Second}})
	if got := a.pollTimeout(); got != 15*time.Second {
		t.Fatalf("pollTimeout = %v, want 15s under a 20s client timeout", got)
	}
	if got := e.a.pollTimeout(); got != DefaultPollTimeout {
		t.Fatalf("pollTimeout = %v, want the default %v", got, DefaultPollTimeout)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := backoff(i); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i, got, w)
		}
	}
	if got := backoff(100); got != backoffMax {
		t.Errorf("backoff(100) = %v, want the cap %v", got, backoffMax)
	}
}

// dropConn closes the connection without an answer: a network error.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleepCtx on a cancelled context = %v", err)
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("sleepCtx = %v", err)
	}
}
