package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
)

// board is a Config.Channels whose states the test sets.
type board struct {
	mu  sync.Mutex
	chs []channel.Status
}

func (b *board) set(chs ...channel.Status) {
	b.mu.Lock()
	b.chs = chs
	b.mu.Unlock()
}

func (b *board) all() []channel.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]channel.Status(nil), b.chs...)
}

var since = time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)

func TestReadyzListsChannelsAndStaysReadyWhileOneIsDown(t *testing.T) {
	b := &board{}
	s, _ := newTestServer(t, func(c *Config) { c.Channels = b.all; c.MetricsToken = "mtok" })
	anon := &client{t: t, s: s}
	next := since.Add(4 * time.Second)
	b.set(
		channel.Status{Bot: "shop", Type: "web", State: channel.StateConnected, Since: since, Mode: "socket"},
		channel.Status{Bot: "shop", Type: "telegram", State: channel.StateDegraded, Since: since, Mode: "polling",
			LastError: "telegram: getMe: Bot API error 502: Bad Gateway", NextRetry: &next},
		channel.Status{Bot: "cafe", Type: "telegram", State: channel.StateFailed, Since: since,
			LastError: "telegram: getMe: the Bot API rejected the token"},
	)
	type ready struct {
		Status     string           `json:"status"`
		Store      string           `json:"store"`
		ChannelsOK bool             `json:"channels_ok"`
		Channels   []channel.Status `json:"channels"`
	}
	code, body, _ := anon.do("GET", "/readyz", "", nil)
	var r ready
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz body %s: %v", body, err)
	}
	if code != 200 || r.Status != "ready" || r.Store != "ok" || r.ChannelsOK {
		t.Fatalf("/readyz with a degraded and a failed channel = %d %s; want 200, ready, channels_ok false", code, body)
	}
	var order []string
	for _, ch := range r.Channels {
		order = append(order, ch.Bot+"/"+ch.Type+"="+string(ch.State))
	}
	if got := strings.Join(order, " "); got != "cafe/telegram=failed shop/telegram=degraded shop/web=connected" {
		t.Fatalf("channels = %s", got)
	}
	if tg := r.Channels[1]; tg.LastError == "" || tg.NextRetry == nil || !tg.NextRetry.Equal(next) || !tg.Since.Equal(since) {
		t.Fatalf("degraded channel = %+v, want its error, since and next retry", tg)
	}

	b.set(channel.Status{Bot: "shop", Type: "telegram", State: channel.StateConnected, Since: since})
	code, body, _ = anon.do("GET", "/readyz", "", nil)
	r = ready{}
	_ = json.Unmarshal([]byte(body), &r)
	if code != 200 || !r.ChannelsOK || len(r.Channels) != 1 {
		t.Fatalf("/readyz with every channel connected = %d %s", code, body)
	}
	if code, body, _ := anon.do("GET", "/metrics", "", map[string]string{"Authorization": "Bearer mtok"}); code != 200 || !strings.Contains(body, `voronka_channel_up{bot="shop",type="telegram"} 1`) {
		t.Fatalf("/metrics = %d, want voronka_channel_up for shop: %s", code, body)
	}
}

func TestBotChannelsRoute(t *testing.T) {
	b := &board{}
	b.set(
		channel.Status{Bot: "shop", Type: "web", State: channel.StateConnected, Since: since},
		channel.Status{Bot: "shop", Type: "telegram", State: channel.StateDegraded, Since: since, LastError: "Bad Gateway"},
		channel.Status{Bot: "other", Type: "telegram", State: channel.StateConnected, Since: since},
	)
	s, st := newTestServer(t, func(c *Config) { c.Channels = b.all })
	// The API lists the bot's stored channels, each with its state.
	if err := st.PutBot(context.Background(), store.Bot{ID: "shop", Name: "Shop", FlowID: "f",
		Channels: []store.Channel{{Type: "web"}, {Type: "telegram", Token: "123456:secret-token-of-the-shop"}}}); err != nil {
		t.Fatal(err)
	}
	anon := &client{t: t, s: s}
	if code, _, _ := anon.do("GET", "/api/bots/shop/channels", "", nil); code != 401 {
		t.Fatalf("anonymous: %d, want 401", code)
	}
	for _, who := range []string{"mark", "olga"} {
		c := signIn(t, s, who, "password-"+who)
		code, body, _ := c.do("GET", "/api/bots/shop/channels", "", nil)
		var got struct {
			Channels []struct {
				ID        string `json:"id"`
				Type      string `json:"type"`
				State     string `json:"state"`
				LastError string `json:"last_error"`
			} `json:"channels"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 {
			t.Fatalf("%s: %d %s (%v)", who, code, body, err)
		}
		if len(got.Channels) != 2 || got.Channels[0].ID != "telegram" || got.Channels[0].State != "degraded" ||
			got.Channels[0].LastError != "Bad Gateway" || got.Channels[1].ID != "web" || got.Channels[1].State != "connected" {
			t.Fatalf("%s: channels of shop = %+v", who, got.Channels)
		}
		if strings.Contains(body, "secret-token") {
			t.Fatalf("%s: the token is in the answer: %s", who, body)
		}
		if code, _, _ := c.do("GET", "/api/bots/nobody/channels", "", nil); code != 404 {
			t.Fatalf("%s: channels of an unknown bot = %d, want 404", who, code)
		}
	}
	// A server told of no channels answers an empty list, not null.
	s2, _ := newTestServer(t)
	if code, body, _ := (&client{t: t, s: s2}).do("GET", "/api/bots/shop/channels", "", map[string]string{"Authorization": "Bearer tok"}); code != 200 || body != `{"channels":[]}` {
		t.Fatalf("no channels: %d %s", code, body)
	}
}
