// Package hooktest is the set-up the webhook adapters' (WhatsApp, Viber,
// VK) conformance tests share: the fake started for the test, the
// adapter's webhook served over real HTTP for the fake to post to, and the
// channeltest.Platform methods that only touch the fake's deliveries and
// faults. Only tests import it.
package hooktest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// Fake is what a fake platform offers a rig.
type Fake interface {
	Start(addr string) (string, error)
	Close() error
	Deliveries() *fakekit.Deliverer
	Faults() *fakekit.Faults
}

// Start serves fake on a free port until the test ends and returns its
// base URL.
func Start(t *testing.T, fake Fake) string {
	t.Helper()
	base, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	return base
}

// Webhook is an adapter's webhook.
type Webhook func(ctx context.Context, h channel.Handler, req channel.WebhookRequest) channel.WebhookResponse

// Rig is a fake wired to an adapter's webhook. Embedded in an adapter's
// rig it provides Accepted and Fail of channeltest.Platform.
type Rig struct {
	// Hook serves the adapter's webhook; the fake posts to Hook.URL.
	Hook *httptest.Server
	fake Fake
	// rateLimit is the platform's rate-limit error code Fail injects.
	rateLimit int
	chats     atomic.Int64
}

// New serves webhook (handing updates to h) until the test ends, for fake,
// whose rate-limit error code is rateLimit.
func New(t *testing.T, fake Fake, rateLimit int, h channel.Handler, webhook Webhook) *Rig {
	t.Helper()
	hook := httptest.NewServer(channel.ServeHTTP(func(r *http.Request, req channel.WebhookRequest) channel.WebhookResponse {
		return webhook(r.Context(), h, req)
	}))
	t.Cleanup(hook.Close)
	return &Rig{Hook: hook, fake: fake, rateLimit: rateLimit}
}

// Context is a context for a set-up call, ending with the test or after 10 s.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// NextChat numbers the rig's chats from 1.
func (r *Rig) NextChat() int64 { return r.chats.Add(1) }

// Wait waits until delivery id was accepted by the webhook.
func (r *Rig) Wait(t *testing.T, id int64) fakekit.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.fake.Deliveries().WaitDone(ctx, id)
	if err != nil || st.State != fakekit.DeliveryDelivered {
		t.Fatalf("delivery %d: %+v, %v", id, st, err)
	}
	return st
}

// Accepted reports whether the fake counts delivery d as accepted, and
// after how many attempts.
func (r *Rig) Accepted(t *testing.T, d channeltest.Delivery) (bool, int) {
	st, ok := r.fake.Deliveries().Get(d.(int64))
	if !ok {
		t.Fatalf("no delivery %v", d)
	}
	return st.State == fakekit.DeliveryDelivered, st.Attempts
}

// Fail lets skip calls through, then fails n with the platform's rate
// limit or a 500.
func (r *Rig) Fail(t *testing.T, skip, n int, f channeltest.Failure) {
	code := r.rateLimit
	if f == channeltest.ServerError {
		code = http.StatusInternalServerError
	}
	r.fake.Faults().FailLater(skip, n, code, nil)
}

// Post posts body to the webhook with header and returns the status: a
// forged request.
func (r *Rig) Post(t *testing.T, body string, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.Hook.URL, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
