package main

// Start-up independent of messengers: `voronka serve` started while
// Telegram is down serves the web chat, the builder's API and /readyz at
// once, shows the Telegram channel degraded, and connects by itself when
// Telegram comes back; a rejected token leaves the channel failed and the
// rest serving.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

// readyz is /readyz's answer.
type readyz struct {
	Status     string           `json:"status"`
	ChannelsOK bool             `json:"channels_ok"`
	Channels   []channel.Status `json:"channels"`
	raw        string
}

func getReadyz(t *testing.T, s *stack) readyz {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var r readyz
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil || resp.StatusCode != http.StatusOK || r.Status != "ready" {
		t.Fatalf("/readyz = %d %s (%v); want 200 ready whatever Telegram does", resp.StatusCode, buf.String(), err)
	}
	r.raw = buf.String()
	return r
}

// channelOf finds a bot's channel of a type in the list.
func channelOf(t *testing.T, chs []channel.Status, bot, typ string) channel.Status {
	t.Helper()
	for _, c := range chs {
		if c.Bot == bot && c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s channel of %s in %+v", typ, bot, chs)
	return channel.Status{}
}

// webChatAnswers has a web chat conversation with faq-bot and waits for
// its first reply.
func webChatAnswers(t *testing.T, s *stack) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat?bot=faq-bot", nil)
	if err != nil {
		t.Fatalf("web chat: %v", err)
	}
	defer ws.Close()
	for _, f := range []map[string]any{
		{"type": "hello", "bot": "faq-bot"},
		{"type": "text", "id": "c1", "text": "привет"},
	} {
		if err := ws.WriteJSON(f); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("web chat reply: %v", err)
		}
		if f["type"] == "message" {
			if text, _ := f["text"].(string); !strings.HasPrefix(text, "Здравствуйте") {
				t.Fatalf("web chat reply: %v", f)
			}
			return
		}
	}
}

const tgBot = "lead-qualification"

func TestServeStartsWhileTelegramIsDown(t *testing.T) {
	cases := []struct {
		name    string
		outage  tgfake.Outage
		webhook bool
		// while down: degraded once an attempt failed; connecting while the
		// first getMe hangs unanswered
		down channel.State
	}{
		{"502 polling", tgfake.OutageBadGateway, false, channel.StateDegraded},
		{"502 webhook", tgfake.OutageBadGateway, true, channel.StateDegraded},
		{"reset polling", tgfake.OutageReset, false, channel.StateDegraded},
		{"reset webhook", tgfake.OutageReset, true, channel.StateDegraded},
		{"hang polling", tgfake.OutageHang, false, channel.StateConnecting},
		{"hang webhook", tgfake.OutageHang, true, channel.StateConnecting},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// startStack returns once serve listens: Telegram has not
			// answered a single request by then.
			s := startStack(t, "bolt", stackOpts{webhook: c.webhook, outage: c.outage, fakeLimits: unlimited, retry: 20 * time.Millisecond})
			webChatAnswers(t, s)
			// A Telegram user writes during the outage.
			mustSend(t, s.fake, 3003, "/start")

			var r readyz
			eventually(t, func() bool {
				r = getReadyz(t, s)
				return channelOf(t, r.Channels, tgBot, "telegram").State == c.down
			}, "the Telegram channel is "+string(c.down))
			tg := channelOf(t, r.Channels, tgBot, "telegram")
			if c.down == channel.StateDegraded && (tg.LastError == "" || tg.NextRetry == nil) {
				t.Fatalf("degraded channel = %+v, want its last error and next retry", tg)
			}
			if web := channelOf(t, r.Channels, "faq-bot", "web"); web.State != channel.StateConnected || r.ChannelsOK {
				t.Fatalf("web chat %+v, channels_ok %v; want the web chat connected, channels_ok false", web, r.ChannelsOK)
			}
			wantMode := "polling"
			if c.webhook {
				wantMode = "webhook"
			}
			if tg.Mode != wantMode || strings.Contains(r.raw, "TEST-fake-token") {
				t.Fatalf("telegram channel %+v in %s; want mode %s and no token", tg, r.raw, wantMode)
			}
			api := getJSON(t, s, "/api/bots/"+tgBot+"/channels")["channels"].([]any)
			if len(api) != 2 || api[0].(map[string]any)["id"] != "telegram" || api[0].(map[string]any)["state"] != string(c.down) ||
				api[1].(map[string]any)["id"] != "web" || api[1].(map[string]any)["state"] != "connected" {
				t.Fatalf("GET /api/bots/%s/channels = %v, want telegram %s and web connected", tgBot, api, c.down)
			}
			if got, n := s.fake.Outage(); got != c.outage || n == 0 {
				t.Fatalf("fake outage %q with %d requests; the test did not take Telegram down", got, n)
			}

			if err := s.fake.SetOutage(tgfake.OutageNone, 0); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() bool {
				r = getReadyz(t, s)
				return r.ChannelsOK
			}, "every channel is connected")
			tg = channelOf(t, r.Channels, tgBot, "telegram")
			if tg.LastError != "" || tg.Account != s.fake.Bot().Username {
				t.Fatalf("connected channel = %+v", tg)
			}
			// The message written during the outage gets its reply, without a restart.
			if got := wait(t, s.fake, 3003, 2); !strings.HasPrefix(got[0].Text, "Здравствуйте") {
				t.Fatalf("reply after the outage: %q", textsOf(got))
			}
			mustPress(t, s.fake, 3003, "Хочу купить")
			wait(t, s.fake, 3003, 3)
		})
	}
}

// lockedBuffer collects serve's log across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeWithARejectedTokenServesAndShowsTheChannelFailed(t *testing.T) {
	const revoked = "123456789:REVOKED-token-of-the-test"
	for _, webhook := range []bool{false, true} {
		t.Run(map[bool]string{false: "polling", true: "webhook"}[webhook], func(t *testing.T) {
			logs := &lockedBuffer{}
			s := startStack(t, "bolt", stackOpts{webhook: webhook, token: revoked, fakeLimits: unlimited, retry: 20 * time.Millisecond, logs: logs})
			var r readyz
			eventually(t, func() bool {
				r = getReadyz(t, s)
				return channelOf(t, r.Channels, tgBot, "telegram").State == channel.StateFailed
			}, "the Telegram channel has failed")
			if tg := channelOf(t, r.Channels, tgBot, "telegram"); !strings.Contains(tg.LastError, "rejected the token") || tg.NextRetry != nil {
				t.Fatalf("failed channel = %+v, want the reason and no retry", tg)
			}
			webChatAnswers(t, s)
			for what, text := range map[string]string{"/readyz": r.raw, "log": logs.String()} {
				if strings.Contains(text, "REVOKED-token") {
					t.Errorf("the token is in the %s: %s", what, text)
				}
			}
			if !strings.Contains(logs.String(), "telegram channel is down") {
				t.Errorf("the log does not say the channel is down:\n%s", logs.String())
			}
		})
	}
}
