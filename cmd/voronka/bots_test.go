package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/voronka/voronka/engine/channel"
)

// call makes an API request with the automation token and decodes the
// JSON answer.
func call(t *testing.T, s *stack, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.addr+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func greetFlow(version string) string {
	return `voronka: 1
id: greet
name: Greeting
vars:
  name: string
start: hello
nodes:
  hello: { type: message, text: "Привет ` + version + `", next: ask }
  ask: { type: question, text: "Как вас зовут?", save: name, next: bye }
  bye: { type: end, text: "Пока, {{ name }} (` + version + `)" }
`
}

// TestBotAndTelegramChannelFromAnEmptyStore is the check: serve
// with nothing configured; through the API a bot is created, a flow
// imported, published and made the bot's flow, Telegram connected with a
// token (the fake's); a /start gets the greeting without a restart; a new
// version reaches new chats while a chat in the middle of v1 stays on v1;
// the deep-link payload is on the contact; removing the channel stops it.
func TestBotAndTelegramChannelFromAnEmptyStore(t *testing.T) {
	s := startStack(t, "bolt", stackOpts{empty: true, fakeLimits: unlimited, retry: 20 * 1e6})
	if bots := getJSON(t, s, "/api/bots")["bots"].([]any); len(bots) != 0 {
		t.Fatalf("an empty store has bots: %v", bots)
	}
	code, b := call(t, s, "POST", "/api/bots", "application/json", `{"id":"shop","name":"Shop"}`)
	if code != 201 || b["name"] != "Shop" {
		t.Fatalf("create bot: %d %v", code, b)
	}
	if code, _ := call(t, s, "POST", "/api/bots", "application/json", `{"id":"shop"}`); code != 409 {
		t.Fatalf("a second bot shop: %d, want 409", code)
	}
	if code, b := call(t, s, "POST", "/api/import?bot=shop", "application/yaml", greetFlow("v1")); code != 200 {
		t.Fatalf("import: %d %v", code, b)
	}
	if code, b := call(t, s, "PUT", "/api/bots/shop", "application/json", `{"flow_id":"greet"}`); code != 422 {
		t.Fatalf("a flow never published as the bot's flow: %d %v, want 422", code, b)
	}
	if code, b := call(t, s, "POST", "/api/bots/shop/flows/greet/publish", "application/json", `{}`); code != 201 {
		t.Fatalf("publish: %d %v", code, b)
	}
	if code, b := call(t, s, "PUT", "/api/bots/shop", "application/json", `{"flow_id":"greet"}`); code != 200 || b["flow_id"] != "greet" {
		t.Fatalf("make it the bot's flow: %d %v", code, b)
	}
	if code, b := call(t, s, "POST", "/api/bots/shop/channels", "application/json", `{"type":"telegram","token":"123:not-the-token"}`); code != 422 {
		t.Fatalf("a token Telegram refuses: %d %v, want 422", code, b)
	}
	code, ch := call(t, s, "POST", "/api/bots/shop/channels", "application/json", `{"type":"telegram","token":"`+s.fake.Token()+`"}`)
	if code != 201 || ch["account"] != "@"+s.fake.Bot().Username || ch["link"] != "https://t.me/"+s.fake.Bot().Username || ch["id"] != "telegram" {
		t.Fatalf("connect telegram: %d %v", code, ch)
	}
	if tok, _ := ch["token"].(string); strings.Contains(tok, s.fake.Token()) || tok == "" {
		t.Fatalf("the answer shows the token: %q", tok)
	}

	mustSend(t, s.fake, 7001, "/start promo_autumn")
	if got := wait(t, s.fake, 7001, 2); got[0].Text != "Привет v1" || got[1].Text != "Как вас зовут?" {
		t.Fatalf("first chat: %q", textsOf(got))
	}
	if code, b := call(t, s, "POST", "/api/import?bot=shop", "application/yaml", greetFlow("v2")); code != 200 {
		t.Fatalf("import v2: %d %v", code, b)
	}
	if code, b := call(t, s, "POST", "/api/bots/shop/flows/greet/publish", "application/json", `{}`); code != 201 || b["version"] != float64(2) {
		t.Fatalf("publish v2: %d %v", code, b)
	}
	mustSend(t, s.fake, 7002, "/start")
	if got := wait(t, s.fake, 7002, 1); got[0].Text != "Привет v2" {
		t.Fatalf("a new chat after v2: %q", textsOf(got))
	}
	mustSend(t, s.fake, 7001, "Анна")
	if got := wait(t, s.fake, 7001, 3); got[2].Text != "Пока, Анна (v1)" {
		t.Fatalf("the chat in the middle of v1: %q", textsOf(got))
	}
	conv := getJSON(t, s, "/api/conversations/shop:telegram:7001")
	contact, _ := conv["conversation"].(map[string]any)["contact"].(map[string]any)
	if contact["source"] != "promo_autumn" {
		t.Fatalf("contact %v, want source promo_autumn", contact)
	}
	chs := getJSON(t, s, "/api/bots/shop/channels")["channels"].([]any)
	var tg map[string]any
	for _, c := range chs {
		if c.(map[string]any)["type"] == "telegram" {
			tg = c.(map[string]any)
		}
	}
	if tg == nil || tg["state"] != "connected" || tg["mode"] != "polling" || tg["last_update"] == nil {
		t.Fatalf("telegram channel %v, want connected, polling, with its last update", tg)
	}

	// Removed: the bot stops answering there, at once.
	if code, _ := call(t, s, "DELETE", "/api/bots/shop/channels/telegram", "", ""); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	if n := len(getJSON(t, s, "/api/bots/shop/channels")["channels"].([]any)); n != 1 {
		t.Fatalf("%d channels after removing telegram, want the web chat", n)
	}
}

// TestOneReplicaPolls: two replicas on one MongoDB, the bot's Telegram
// channel in long-polling mode: exactly one polls (Telegram answers 409 to
// a second poller, and neither logs one), both report the channel
// connected, and when the poller stops the other takes over.
func TestOneReplicaPolls(t *testing.T) {
	logsA, logsB := &lockedBuffer{}, &lockedBuffer{}
	a := startStack(t, "mongo", stackOpts{fakeLimits: unlimited, logs: logsA})
	eventually(t, func() bool {
		return channelOf(t, getReadyz(t, a).Channels, tgBot, "telegram").State == channel.StateConnected
	},
		"replica a polls")
	b := startStack(t, "mongo", stackOpts{fake: a.fake, mongoDB: a.cfg.MongoDB, logs: logsB})
	eventually(t, func() bool {
		return channelOf(t, getReadyz(t, b).Channels, tgBot, "telegram").State == channel.StateConnected
	},
		"replica b reports the channel connected (replica a's view)")
	mustSend(t, a.fake, 8801, "/start")
	if got := wait(t, a.fake, 8801, 2); !strings.HasPrefix(got[0].Text, "Здравствуйте") {
		t.Fatalf("reply with two replicas: %q", textsOf(got))
	}
	a.stop()
	mustSend(t, a.fake, 8802, "/start")
	if got := wait(t, a.fake, 8802, 2); !strings.HasPrefix(got[0].Text, "Здравствуйте") {
		t.Fatalf("reply after the poller stopped: %q", textsOf(got))
	}
	if got := a.fake.Sent(8801); len(got) != 2 {
		t.Fatalf("chat 8801 got %d messages, want 2 (each update handled once)", len(got))
	}
	for name, logs := range map[string]*lockedBuffer{"a": logsA, "b": logsB} {
		if strings.Contains(logs.String(), "terminated by other getUpdates") {
			t.Errorf("replica %s met a second poller:\n%s", name, logs.String())
		}
	}
}
