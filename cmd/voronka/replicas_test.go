package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// wsTab is one browser tab of the widget, talking to one replica.
type wsTab struct {
	t  *testing.T
	ws *websocket.Conn
}

func openTab(t *testing.T, s *stack, bot string) *wsTab {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat?bot="+bot, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsTab{t: t, ws: ws}
}

func (c *wsTab) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next frame of type typ, skipping others.
func (c *wsTab) next(typ string) map[string]any {
	c.t.Helper()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var f map[string]any
		if err := c.ws.ReadJSON(&f); err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f["type"] == typ {
			return f
		}
	}
}

// Two replicas on one MongoDB: a customer whose socket is held by replica A
// sees the reply that replica B produced (here: to the same customer's
// second tab, which the load balancer sent to B).
func TestWebChatReplyCrossesReplicas(t *testing.T) {
	a := startStack(t, "mongo", stackOpts{fakeLimits: unlimited})
	b := startStack(t, "mongo", stackOpts{fakeLimits: unlimited, mongoDB: a.cfg.MongoDB})

	onA := openTab(t, a, "faq-bot")
	onA.send(map[string]any{"type": "hello", "bot": "faq-bot"})
	session := onA.next("welcome")["session"]

	onB := openTab(t, b, "faq-bot")
	onB.send(map[string]any{"type": "hello", "bot": "faq-bot", "session": session})
	if w := onB.next("welcome"); w["session"] != session {
		t.Fatalf("replica b did not resume the session: %v", w)
	}
	start := time.Now()
	onB.send(map[string]any{"type": "text", "id": "c1", "text": "привет"})
	menu := onB.next("message")
	if !strings.HasPrefix(menu["text"].(string), "Здравствуйте! Я отвечу на частые вопросы.") {
		t.Fatalf("replica b's own socket got %v", menu)
	}
	onBAt := time.Since(start)
	got := onA.next("message")
	t.Logf("the reply reached the socket on replica b after %s and the one on replica a after %s", onBAt, time.Since(start))
	if got["id"] != menu["id"] || got["text"] != menu["text"] || len(got["buttons"].([]any)) != len(menu["buttons"].([]any)) {
		t.Fatalf("the socket on replica a got %v, want %v", got, menu)
	}

	// The tab on A answers; A's reply reaches the tab on B, once each.
	pay := got["buttons"].([]any)[1].(map[string]any) // «Оплата»
	onA.send(map[string]any{"type": "press", "id": "c2", "payload": pay["payload"], "label": pay["label"]})
	for name, tab := range map[string]*wsTab{"a": onA, "b": onB} {
		if m := tab.next("message"); m["text"] != "Оплатить можно картой на сайте, по СБП или наличными курьеру." {
			t.Fatalf("tab on replica %s: %v", name, m)
		}
		if m := tab.next("message"); m["text"] != "Могу ещё чем-нибудь помочь?" {
			t.Fatalf("tab on replica %s: %v", name, m)
		}
	}
}
