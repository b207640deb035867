package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/adapters/webchat"
)

func TestWebChatGateCapsConnections(t *testing.T) {
	g := newWebChatGate(WebChatLimits{MaxConns: 5, MaxConnsPerAddr: 2, NewSessionsPerMinute: -1}, time.Now)
	var releases []func()
	take := func(addr string) *errLimit {
		rel, err := g.acquire(addr)
		if rel != nil {
			releases = append(releases, rel)
		}
		return err
	}
	for _, tc := range []struct {
		addr string
		want *errLimit
	}{
		{"192.0.2.1", nil}, {"192.0.2.1", nil}, {"192.0.2.1", errAddrFull},
		{"::ffff:192.0.2.1", errAddrFull}, // the same address, IPv4-mapped
		{"2001:db8:1:2::1", nil}, {"2001:db8:1:2::ffff", nil},
		{"2001:db8:1:2:abcd::1", errAddrFull}, // the same /64
		{"2001:db8:1:3::1", nil},              // the next /64
		{"198.51.100.7", errServerFull},
	} {
		if got := take(tc.addr); got != tc.want {
			t.Errorf("connection from %s: %v, want %v", tc.addr, got, tc.want)
		}
		if got := g.full(tc.addr); tc.want != nil && got != tc.want {
			t.Errorf("full(%s) before an upgrade: %v, want %v", tc.addr, got, tc.want)
		}
	}
	releases[0]()
	releases[0]() // twice is once
	if err := take("192.0.2.1"); err != nil {
		t.Errorf("after one closed: %v", err)
	}
	for _, r := range releases {
		r()
	}
	if g.open != 0 || len(g.perAddr) != 0 {
		t.Errorf("after every connection closed: open %d, per address %v", g.open, g.perAddr)
	}
}

func TestWebChatGateLimitsNewSessionsPerMinute(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := newWebChatGate(WebChatLimits{NewSessionsPerMinute: 3}, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if err := g.newSession("192.0.2.1"); err != nil {
			t.Fatalf("session %d: %v", i+1, err)
		}
	}
	if err := g.newSession("192.0.2.1"); !errors.Is(err, errSessionsRate) {
		t.Fatalf("fourth session in a minute: %v", err)
	}
	if err := g.newSession("192.0.2.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	now = now.Add(time.Minute)
	if err := g.newSession("192.0.2.1"); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
	now = now.Add(2 * time.Minute)
	g.newSession("192.0.2.3")
	if len(g.starts) != 1 {
		t.Errorf("counts of past minutes kept: %d addresses", len(g.starts))
	}
}

// Behind a trusted proxy the per-address cap counts the client that
// X-Forwarded-For names; from anyone else the header changes nothing.
func TestWebChatCapPerClientAddressBehindAProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		// outcomes of three connections naming clients A, A, B
		want []int
	}{
		{"trusted proxy", []string{"127.0.0.1"}, []int{101, 429, 101}},
		{"untrusted peer", nil, []int{101, 429, 429}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, func(c *Config) {
				c.Bots = anyBot{}
				c.Live = webChatLive(c.Store, anyBot{}, nopHandler{})
				c.TrustedProxies = tc.trusted
				c.WebChatLimits = WebChatLimits{MaxConnsPerAddr: 1}
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			must(t, err)
			go func() { _ = s.Serve(ln) }()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			})
			for i, client := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.2"} {
				h := http.Header{"X-Forwarded-For": {client}}
				conn, resp, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws/chat", h)
				got := 0
				if resp != nil {
					got = resp.StatusCode
				}
				if got != tc.want[i] {
					t.Errorf("connection %d from %s: status %d (%v), want %d", i+1, client, got, err, tc.want[i])
				}
				if got == 429 && resp.Header.Get("Retry-After") != "10" {
					t.Errorf("429 without Retry-After: %v", resp.Header)
				}
				if conn != nil {
					defer conn.Close()
					// A hello makes sure the server counted the connection
					// before the next one dials.
					must(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
					must(t, conn.WriteJSON(webchat.ClientFrame{Type: webchat.TypeHello, V: 1, Bot: "shop"}))
					var f webchat.ServerFrame
					must(t, conn.ReadJSON(&f))
				}
			}
		})
	}
}
