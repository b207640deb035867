package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
)

const shopFlow = `voronka: 1
id: shop
start: hello
nodes:
  hello: { type: message, text: "Здравствуйте!", next: pick }
  pick:
    type: buttons
    text: "Что вас интересует?"
    buttons:
      - { label: "Цены", next: prices }
      - { label: "Доставка", next: delivery }
      - { label: "Менеджер", next: delivery }
  prices: { type: end, text: "Цены от 990 ₽" }
  delivery: { type: end, text: "Доставим завтра" }
`

// startShop serves an empty store with a public URL, and through the API
// makes bot "shop" running shopFlow.
func startShop(t *testing.T) *stack {
	t.Helper()
	s := startStack(t, "bolt", stackOpts{empty: true, webhook: true, retry: 20 * time.Millisecond})
	steps := []struct{ method, path, ct, body string }{
		{"POST", "/api/bots", "application/json", `{"id":"shop","name":"Shop"}`},
		{"POST", "/api/import?bot=shop", "application/yaml", shopFlow},
		{"POST", "/api/bots/shop/flows/shop/publish", "application/json", `{}`},
		{"PUT", "/api/bots/shop", "application/json", `{"flow_id":"shop"}`},
	}
	for _, st := range steps {
		if code, b := call(t, s, st.method, st.path, st.ct, st.body); code >= 300 {
			t.Fatalf("%s %s: %d %v", st.method, st.path, code, b)
		}
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestWhatsAppFromTheAPI: connected through the API, verified by Meta's
// GET, a signed message gets the flow's reply with its buttons as
// interactive reply buttons, a press comes back, an unsigned POST is
// refused and stores nothing.
func TestWhatsAppFromTheAPI(t *testing.T) {
	s := startShop(t)
	fake := wafake.New(wafake.Options{Unlimited: true, RetryScale: 0.01})
	api, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	body := fmt.Sprintf(`{"type":"whatsapp","token":%q,"secret":%q,"api_url":%q,"settings":{"phone_number_id":%q,"verify_token":"vt-123"}}`,
		fake.Token(), fake.AppSecret(), api, fake.PhoneNumberID())
	code, ch := call(t, s, "POST", "/api/bots/shop/channels", "application/json", body)
	if code != 201 || !strings.Contains(fmt.Sprint(ch["account"]), "Voronka Test") || strings.Contains(fmt.Sprint(ch), fake.Token()) {
		t.Fatalf("connect whatsapp: %d %v", code, ch)
	}
	// The validator now knows the bot is on WhatsApp: four buttons become a list.
	four := strings.Replace(shopFlow, `      - { label: "Менеджер", next: delivery }`, "      - { label: \"Менеджер\", next: delivery }\n      - { label: \"Оплата\", next: delivery }", 1)
	if code, b := call(t, s, "POST", "/api/validate?bot=shop", "application/yaml", four); code != 200 || !strings.Contains(fmt.Sprint(b["problems"]), "WhatsApp shows up to 3 buttons as buttons; these 4 become a list") {
		t.Fatalf("validate four buttons: %d %v", code, b["problems"])
	}
	hook := s.cfg.PublicURL + "/whatsapp/shop"
	if err := fake.SetWebhook(ctxT(t), hook, "wrong-verify-token"); err == nil {
		t.Fatal("verification with a wrong verify token passed")
	}
	if err := fake.SetWebhook(ctxT(t), hook, "vt-123"); err != nil {
		t.Fatal(err)
	}
	fake.SendText("79990001122", "Иван", "Привет")
	got, err := fake.WaitSent(ctxT(t), "79990001122", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Text != "Здравствуйте!" || got[1].Type != "interactive" || got[1].List || len(got[1].Buttons) != 3 || got[1].Buttons[1].Title != "Доставка" {
		t.Fatalf("sent %+v", got)
	}
	if _, err := fake.Press("79990001122", "", "Доставка"); err != nil {
		t.Fatal(err)
	}
	if got, err := fake.WaitSent(ctxT(t), "79990001122", 3); err != nil || got[2].Text != "Доставим завтра" {
		t.Fatalf("after the press: %+v %v", got, err)
	}
	// Unsigned: 401, and no conversation appears.
	raw := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` +
		fake.PhoneNumberID() + `"},"messages":[{"from":"79995550000","id":"wamid.x","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}`
	for _, sig := range []string{"", "sha256=" + fakekit.HMACHex("not-the-secret", []byte(raw))} {
		req, _ := http.NewRequest("POST", hook, strings.NewReader(raw))
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("unsigned message answered %d", resp.StatusCode)
		}
	}
	if code, _ := call(t, s, "GET", "/api/conversations/shop:whatsapp:79995550000", "", ""); code != 404 {
		t.Fatalf("an unsigned message made a conversation: %d", code)
	}
}

// TestViberFromTheAPI: connecting sets the webhook; conversation_started
// gets the welcome; a message gets the flow with a keyboard;
// unsubscribed turns consent off.
func TestViberFromTheAPI(t *testing.T) {
	s := startShop(t)
	fake := viberfake.New(viberfake.Options{Unlimited: true, RetryScale: 0.01})
	base, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	body := fmt.Sprintf(`{"type":"viber","token":%q,"api_url":%q,"settings":{"welcome":"Добро пожаловать! Напишите нам."}}`, fake.Token(), base+"/pa")
	if code, ch := call(t, s, "POST", "/api/bots/shop/channels", "application/json", body); code != 201 || ch["account"] != "Voronka Shop" {
		t.Fatalf("connect viber: %d %v", code, ch)
	}
	deadline := time.Now().Add(20 * time.Second)
	for fake.Deliveries().URL() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the webhook was never set")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fake.Open("u1==", "Оля")
	if got, err := fake.WaitSent(ctxT(t), "u1==", 1); err != nil || !got[0].Welcome || got[0].Text != "Добро пожаловать! Напишите нам." {
		t.Fatalf("welcome: %+v %v", got, err)
	}
	fake.SendText("u1==", "Оля", "Привет")
	got, err := fake.WaitSent(ctxT(t), "u1==", 3)
	if err != nil || got[1].Text != "Здравствуйте!" || len(got[2].Buttons) != 3 {
		t.Fatalf("flow: %+v %v", got, err)
	}
	a := fake.Unsubscribe("u1==")
	if _, err := fake.Deliveries().WaitDone(ctxT(t), a.Delivery); err != nil {
		t.Fatal(err)
	}
	conv := getJSON(t, s, "/api/conversations/shop:viber:u1==")["conversation"].(map[string]any)
	consent, _ := conv["consent"].(map[string]any)
	if conv["blocked"] != true && consent["subscribed"] != false {
		t.Fatalf("after unsubscribed: %v", conv)
	}
}

// TestVKFromTheAPI: the confirmation is answered, a message gets the flow
// with an inline keyboard, a repeated event_id is answered once.
func TestVKFromTheAPI(t *testing.T) {
	s := startShop(t)
	fake := vkfake.New(vkfake.Options{Unlimited: true, RetryScale: 0.01})
	base, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	body := fmt.Sprintf(`{"type":"vk","token":%q,"secret":"cb-secret","api_url":%q,"settings":{"group_id":"%d","confirmation":"c0nf1rm"}}`,
		fake.Token(), base+"/method", fake.GroupID())
	if code, ch := call(t, s, "POST", "/api/bots/shop/channels", "application/json", body); code != 201 || ch["account"] != "Voronka Shop" {
		t.Fatalf("connect vk: %d %v", code, ch)
	}
	hook := s.cfg.PublicURL + "/vk/shop"
	if err := fake.SetServer(ctxT(t), hook, "cb-secret", "c0nf1rm"); err != nil {
		t.Fatal(err)
	}
	fake.SendText(501, "Привет")
	got, err := fake.WaitSent(ctxT(t), 501, 2)
	if err != nil || got[0].Text != "Здравствуйте!" || !got[1].Inline || len(got[1].Buttons) != 3 {
		t.Fatalf("flow: %+v %v", got, err)
	}
	ev := fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":"dup-1","v":"5.199","secret":"cb-secret","object":{"message":{"id":900,"date":%d,"peer_id":502,"from_id":502,"text":"Привет"}}}`,
		fake.GroupID(), time.Now().Unix())
	for range 2 {
		resp, err := http.Post(hook, "application/json", bytes.NewReader([]byte(ev)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// 502 never wrote through the fake, so VK refuses sends to it; the
	// conversation shows one inbound line however often the event came.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, conv := call(t, s, "GET", "/api/conversations/shop:vk:502", "", "")
		if code == 200 {
			n := 0
			msgs, _ := conv["messages"].([]any)
			for _, m := range msgs {
				if mm, _ := m.(map[string]any); mm["direction"] == "in" {
					n++
				}
			}
			if n == 1 {
				break
			}
			if n > 1 {
				t.Fatalf("a repeated event_id was taken %d times", n)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no conversation for the event: %d %v", code, conv)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
