package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
)

const shopFlow = `
voronka: 1
id: f
start: hello
vars:
  budget: number
triggers:
  - command: /start
    goto: hello
nodes:
  hello:
    type: buttons
    text: "Hi"
    buttons:
      - { label: "Offer", next: offer }
  offer:
    type: end
    text: "Our offer"
`

type recSender struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (r *recSender) Send(_ context.Context, m channel.Outbound) (channel.Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[m.Chat] = append(r.sent[m.Chat], m.Text)
	return channel.Sent{}, nil
}

func (r *recSender) texts(chat string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent[chat]...)
}

func TestBroadcastAPI(t *testing.T) {
	ctx := context.Background()
	var rt *runtime.Runtime
	snd := &recSender{sent: map[string][]string{}}
	s, st := newTestServer(t, func(cfg *Config) {
		f, ps := flow.Load("f.yaml", []byte(shopFlow))
		if ps.HasErrors() {
			t.Fatal(ps.Errors())
		}
		p, err := engine.Compile(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		rt, err = runtime.New(runtime.Config{Store: cfg.Store, Flows: runtime.StaticFlows{"shop": p},
			Channels: map[string]runtime.Channel{"telegram": {Sender: snd, Limits: channel.Limits{PerSecond: 100, Burst: 10, PerChatSecond: 10, PerChatBurst: 10, PerGroupMin: 10}}},
			Options:  runtime.Options{BroadcastPoll: 20 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Runtime, cfg.Handler = rt, rt
	})
	if err := rt.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rt.Shutdown(sctx)
	})
	for i, text := range []string{"/start", "/start", "/start", "стоп"} {
		in := channel.Inbound{Bot: "shop", Channel: "telegram", Chat: fmt.Sprint(i), UpdateID: fmt.Sprint(i), Kind: channel.KindText, Text: text}
		if err := rt.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	mark := signIn(t, s, "mark", "password-mark")
	api := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		code, b, _ := mark.do(method, path, body, jsonType)
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		return code, m
	}

	code, body := api("POST", "/api/bots/shop/segments", `{"name":"big","filter":{"expr":"budjet > 1","segments":["tepid"]}}`)
	if code != 422 || !strings.Contains(fmt.Sprint(body["details"]), "expr") || !strings.Contains(fmt.Sprint(body["details"]), "segments") {
		t.Fatalf("bad segment: %d %v", code, body)
	}
	code, body = api("POST", "/api/bots/shop/segments", `{"name":"cold ones","filter":{"segments":["cold"],"expr":"budget == 0"}}`)
	if code != 201 {
		t.Fatalf("create segment: %d %v", code, body)
	}
	seg := body["id"].(string)
	code, body = api("GET", "/api/bots/shop/segments/"+seg+"/count", "")
	if code != 200 || body["members"] != 4.0 || body["reachable"] != 3.0 {
		t.Fatalf("count: %d %v, want 4 members of whom 3 reachable (one said стоп)", code, body)
	}
	code, body = api("POST", "/api/bots/shop/segments/count", `{"channels":["web"]}`)
	if code != 200 || body["members"] != 0.0 || body["contacts"] != 4.0 {
		t.Fatalf("count of an unsaved filter: %d %v", code, body)
	}

	code, body = api("POST", "/api/bots/shop/broadcasts", `{"name":"x","variants":[{"name":"A","text":"Hi {{ nope }}","buttons":[{"label":"Go","node":"nowhere"}]}]}`)
	if code != 422 || !strings.Contains(fmt.Sprint(body["details"]), "nowhere") {
		t.Fatalf("bad broadcast: %d %v", code, body)
	}
	// The WhatsApp template: a name without a language, or a parameter that
	// does not compile, is refused naming the field; a whole one is kept.
	code, body = api("POST", "/api/bots/shop/broadcasts", `{"name":"t","variants":[{"name":"A","text":"Hi"}],"template":{"name":"promo","params":["{{ nope }}"]}}`)
	if d := fmt.Sprint(body["details"]); code != 422 || !strings.Contains(d, "template.language") || !strings.Contains(d, "template.params[0]") {
		t.Fatalf("bad template: %d %v", code, body)
	}
	code, body = api("POST", "/api/bots/shop/broadcasts", `{"name":"t","variants":[{"name":"A","text":"Hi"}],"template":{"name":" promo ","language":"ru","params":["{{ contact.first_name }}"]}}`)
	if tm, _ := body["template"].(map[string]any); code != 201 || tm["name"] != "promo" || tm["language"] != "ru" || fmt.Sprint(tm["params"]) != "[{{ contact.first_name }}]" {
		t.Fatalf("broadcast with a template: %d %v", code, body)
	}
	code, body = api("POST", "/api/bots/shop/broadcasts", `{"name":"Sale","segment":"`+seg+`","variants":[{"name":"A","text":"Sale!","buttons":[{"label":"See","node":"offer"}]}]}`)
	if code != 201 || body["status"] != "draft" {
		t.Fatalf("create broadcast: %d %v", code, body)
	}
	id := body["id"].(string)
	code, body = api("POST", "/api/broadcasts/"+id+"/test", `{"chat":"0"}`)
	if code != 200 {
		t.Fatalf("test send: %d %v", code, body)
	}
	if got := snd.texts("0"); got[len(got)-1] != "[тест] Sale!" {
		t.Fatalf("test send delivered %q", got)
	}
	if code, _ = api("POST", "/api/broadcasts/"+id+"/explode", ""); code != 404 {
		t.Fatalf("unknown broadcast action: %d, want 404", code)
	}
	if code, _ = api("POST", "/api/broadcasts/"+id+"/resume", ""); code != 409 {
		t.Fatalf("resume of a draft: %d, want 409", code)
	}
	if code, body = api("POST", "/api/broadcasts/"+id+"/start", ""); code != 200 {
		t.Fatalf("start: %d %v", code, body)
	}
	var b map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body = api("GET", "/api/bots/shop/broadcasts/"+id, "")
		b, _ = body["broadcast"].(map[string]any)
		if code == 200 && b["status"] == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast did not finish: %d %v", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := b["progress"].(map[string]any)
	if p["sent"] != 3.0 || fmt.Sprint(p["skipped"]) != "map[no_consent:1]" {
		t.Fatalf("progress %v", p)
	}
	res := body["results"].([]any)[0].(map[string]any)
	if res["sent"] != 3.0 {
		t.Fatalf("results %v", res)
	}
	for chat, want := range map[string]int{"0": 1, "1": 1, "2": 1, "3": 0} {
		n := 0
		for _, tx := range snd.texts(chat) {
			if tx == "Sale!" {
				n++
			}
		}
		if n != want {
			t.Fatalf("chat %s got the broadcast %d times, want %d", chat, n, want)
		}
	}
	if code, _ = api("POST", "/api/broadcasts/"+id+"/pause", ""); code != 409 {
		t.Fatalf("pause of a finished broadcast: %d, want 409", code)
	}
	code, body = api("GET", "/api/bots/shop/broadcasts", "")
	if code != 200 || len(body["broadcasts"].([]any)) != 2 { // Sale and the template draft
		t.Fatalf("list: %d %v", code, body)
	}
	olga := signIn(t, s, "olga", "password-olga")
	if code, _, _ := olga.do("GET", "/api/bots/shop/segments", "", nil); code != 403 {
		t.Fatalf("an operator listed segments: %d", code)
	}
	if _, err := st.GetBroadcast(ctx, id); err != nil {
		t.Fatal(err)
	}
}
