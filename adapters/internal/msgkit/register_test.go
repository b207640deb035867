package msgkit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/channel"
)

type nopHandler struct{}

func (nopHandler) Handle(context.Context, channel.Inbound) error { return nil }

type stubChannel struct {
	channel.Channel
	cfg channel.Config
	log *slog.Logger
}

// An adapter opened without a handler is refused; a bot's channel gets the
// Env's API URL unless it names its own, and a logger naming the channel.
func TestOpenerDefaults(t *testing.T) {
	var got stubChannel
	open := Opener("demo", func(env channel.Env, cfg channel.Config, log *slog.Logger) (channel.Channel, error) {
		got = stubChannel{cfg: cfg, log: log}
		return got, nil
	})
	if _, err := open(channel.Env{}); err == nil {
		t.Fatal("opened without a handler")
	}
	a, err := open(channel.Env{Handler: nopHandler{}, APIURL: "http://env", Logger: slog.Default()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ own, want string }{{"", "http://env"}, {"http://own", "http://own"}} {
		if _, err := a.Build(channel.Config{Bot: "b", APIURL: c.own}); err != nil || got.cfg.APIURL != c.want || got.log == nil {
			t.Fatalf("api_url %q: built with %q (log %v), want %q", c.own, got.cfg.APIURL, got.log, c.want)
		}
	}
}

// The webhook gets the body and only the named query parameters and
// headers, on each method asked for.
func TestWebhookRoutesPassOnlyNamedParts(t *testing.T) {
	var seen channel.WebhookRequest
	routes := WebhookRoutes(func(_ context.Context, req channel.WebhookRequest) channel.WebhookResponse {
		seen = req
		return channel.Text(http.StatusTeapot, "hi")
	}, []string{"hub.challenge"}, []string{"X-Sig"}, http.MethodGet, http.MethodPost)
	if len(routes) != 2 || routes[0].Method != http.MethodGet || routes[1].Method != http.MethodPost {
		t.Fatalf("routes %+v", routes)
	}
	q := map[string]string{"hub.challenge": "42", "other": "x"}
	h := map[string]string{"X-Sig": "abc", "Cookie": "secret"}
	res := routes[1].Handle(context.Background(), &channel.Request{Method: http.MethodPost, Body: []byte("body"),
		Query: func(k string) string { return q[k] }, Header: func(k string) string { return h[k] }})
	if res.Status != http.StatusTeapot || string(res.Body) != "hi" {
		t.Fatalf("response %+v", res)
	}
	if seen.Method != http.MethodPost || string(seen.Body) != "body" || seen.Query.Encode() != "hub.challenge=42" ||
		len(seen.Header) != 1 || seen.Header.Get("X-Sig") != "abc" {
		t.Fatalf("webhook saw %+v", seen)
	}
}

// Parallel sends reuse their connections: 20 rounds of 8 parallel calls
// open at most 8 (net/http's default client keeps 2 idle and dials again).
func TestClientReusesConnections(t *testing.T) {
	var dials atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := Client()
	for range 20 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	// net/http hands a connection back to the pool just after the body's
	// Close returns, so a round may now and then dial while one is on its
	// way back: allow that slack. net/http's default pool keeps 2 idle
	// connections per host, which dials about six a round here (100+).
	if n := dials.Load(); n > 16 {
		t.Fatalf("%d connections for 8 parallel senders over 20 rounds", n)
	}
}
