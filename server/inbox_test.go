package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

const inboxFlow = `voronka: 1
id: f
start: ask
vars: {name: string, budget: number}
triggers:
  - keywords: [manager]
    goto: human
nodes:
  ask: {type: question, text: "Your name?", save: name, next: human}
  human:
    type: handoff
    text: "Connecting"
    queue: sales
    note: "Name {{ name }}"
    resume: back
  back: {type: message, text: "Bot again, {{ name }}", next: ask}
`

// inboxStack is a server with a running runtime over a bolt store: bot
// "shop" runs inboxFlow on channel "telegram".
type inboxStack struct {
	t   *testing.T
	s   *Server
	st  store.Store
	rt  *runtime.Runtime
	snd *recordingSender
	n   int
}

func newInboxStack(t *testing.T) *inboxStack {
	t.Helper()
	return newInboxStackWith(t, nil)
}

// newInboxStackWith is newInboxStack with opt applied to the server's
// config first (a wrapped store, say).
func newInboxStackWith(t *testing.T, opt func(*Config)) *inboxStack {
	t.Helper()
	ctx := context.Background()
	snd := &recordingSender{sent: map[string][]string{}}
	s, st := newTestServer(t, func(cfg *Config) {
		if opt != nil {
			opt(cfg)
		}
		rt, err := runtime.New(runtime.Config{Store: cfg.Store, Flows: runtime.NewStoreFlows(cfg.Store, 0),
			Channels: map[string]runtime.Channel{"telegram": {Sender: snd}},
			Logger:   slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Runtime, cfg.Handler = rt, rt
	})
	rt := s.cfg.Runtime
	if _, err := st.PublishFlow(ctx, store.FlowVersion{Bot: "shop", FlowID: "f", Doc: []byte(inboxFlow)}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{
		{ID: "u-olga", Login: "olga", Name: "Ольга", Role: store.RoleOperator, Queues: []string{"sales"}},
		{ID: "u-ivan", Login: "ivan", Name: "Иван", Role: store.RoleOperator, Queues: []string{"sales"}},
		{ID: "u-petr", Login: "petr", Name: "Пётр", Role: store.RoleOperator, Queues: []string{"support"}},
	} {
		h, _ := bcrypt.GenerateFromPassword([]byte("password-"+u.Login), bcrypt.MinCost)
		u.PasswordHash = string(h)
		if err := st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rt.Shutdown(c)
	})
	return &inboxStack{t: t, s: s, st: st, rt: rt, snd: snd}
}

// say is a customer's message in chat.
func (k *inboxStack) say(chat, text string) {
	k.t.Helper()
	k.n++
	in := channel.Inbound{Bot: "shop", Channel: "telegram", Chat: chat, UpdateID: chat + "-" + string(rune('a'+k.n)),
		Kind: channel.KindText, Text: text, Contact: engine.Contact{FirstName: "Вася"}, Time: time.Now()}
	if err := k.rt.Handle(context.Background(), in); err != nil {
		k.t.Fatal(err)
	}
}

// handoff brings chat to the operator queue "sales".
func (k *inboxStack) handoff(chat string) string {
	k.t.Helper()
	k.say(chat, "hi")
	k.say(chat, "Вася")
	k.snd.wait(k.t, chat, "Your name?", "Connecting")
	return "shop:telegram:" + chat
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

func (c *client) want(code int, method, path, body string) map[string]any {
	c.t.Helper()
	got, b, _ := c.do(method, path, body, jsonType)
	if got != code {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, got, b, code)
	}
	return decode(c.t, b)
}

func TestInboxRoutesAndRoles(t *testing.T) {
	k := newInboxStack(t)
	id := k.handoff("100")
	other := k.handoff("200")
	admin := signIn(t, k.s, "alice", "password-alice")
	olga := signIn(t, k.s, "olga", "password-olga")
	ivan := signIn(t, k.s, "ivan", "password-ivan")
	petr := signIn(t, k.s, "petr", "password-petr")
	mark := signIn(t, k.s, "mark", "password-mark")

	// Marketers get no inbox; operators see their queues' chats.
	mark.want(403, "GET", "/api/inbox", "")
	mark.want(403, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
	list := olga.want(200, "GET", "/api/inbox?status=unassigned", "")
	if items := list["conversations"].([]any); len(items) != 2 {
		t.Fatalf("olga's unassigned list: %v", list)
	}
	if items := petr.want(200, "GET", "/api/inbox", "")["conversations"].([]any); len(items) != 0 {
		t.Fatalf("petr (support) sees sales chats: %v", items)
	}
	petr.want(403, "GET", "/api/conversations/"+id, "")
	petr.want(403, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
	petr.want(403, "GET", "/api/inbox?queue=sales", "")

	// Take: the second operator is told who has it.
	got := olga.want(200, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
	if in := got["conversation"].(map[string]any)["inbox"].(map[string]any); in["assignee"] != "u-olga" || in["assignee_name"] != "Ольга" {
		t.Fatalf("take: %v", got)
	}
	taken := ivan.want(409, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
	if taken["error"] != "taken" || taken["details"].(map[string]any)["assignee"] != "u-olga" {
		t.Fatalf("second take: %v", taken)
	}
	if items := olga.want(200, "GET", "/api/inbox?assignee=me", "")["conversations"].([]any); len(items) != 1 {
		t.Fatalf("mine: %v", items)
	}
	if n := olga.want(200, "GET", "/api/inbox/counts", ""); n["mine"] != float64(1) || n["unassigned"] != float64(1) || n["all"] != float64(2) {
		t.Fatalf("counts: %v", n)
	}

	// The customer writes, the operator answers, a note stays inside.
	k.say("100", "скидка будет?")
	k.snd.wait(t, "100", "Your name?", "Connecting")
	msg := olga.want(201, "POST", "/api/conversations/"+id+"/messages", `{"text":"Да, 10%"}`)
	if m := msg["message"].(map[string]any); m["direction"] != "operator" || m["delivery"] != "pending" || m["author"].(map[string]any)["name"] != "Ольга" {
		t.Fatalf("message: %v", msg)
	}
	olga.want(400, "POST", "/api/conversations/"+id+"/messages", `{"text":"  "}`)
	olga.want(201, "POST", "/api/conversations/"+id+"/notes", `{"text":"просит скидку"}`)
	k.snd.wait(t, "100", "Your name?", "Connecting", "Да, 10%")
	var lines []any
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines = olga.want(200, "GET", "/api/conversations/"+id, "")["messages"].([]any)
		if last := lines[len(lines)-1].(map[string]any); last["direction"] == "note" {
			op := lines[len(lines)-2].(map[string]any)
			if op["delivery"] == "sent" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcript: %v", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dirs := ""
	for _, l := range lines {
		dirs += l.(map[string]any)["direction"].(string)[:1]
	}
	// hi, name?, Вася, connecting, handoff, taken, the customer's question, the answer, the note
	if dirs != "ibibssion" {
		t.Fatalf("transcript directions %q", dirs)
	}

	// The lead card, edits and canned replies.
	card := olga.want(200, "GET", "/api/conversations/"+id+"/card", "")
	if card["note"] != "Name Вася" || card["var_types"].(map[string]any)["budget"] != "number" || len(card["nodes"].([]any)) != 3 {
		t.Fatalf("card: %v", card)
	}
	olga.want(400, "PATCH", "/api/conversations/"+id, `{"vars":{"nope":1}}`)
	olga.want(400, "PATCH", "/api/conversations/"+id, `{"vars":{"budget":"lots"}}`)
	ed := olga.want(200, "PATCH", "/api/conversations/"+id, `{"tags":["vip"],"vars":{"budget":150000}}`)
	if tags := ed["conversation"].(map[string]any)["tags"].([]any); len(tags) != 1 || tags[0] != "vip" {
		t.Fatalf("edit: %v", ed)
	}
	cr := mark.want(201, "POST", "/api/bots/shop/canned", `{"shortcut":"/price","title":"Прайс","text":"{{ contact.first_name }}, бюджет {{ budget }}"}`)
	mark.want(409, "POST", "/api/bots/shop/canned", `{"shortcut":"price","text":"x"}`)
	mark.want(400, "POST", "/api/bots/shop/canned", `{"shortcut":"Bad Name","text":"x"}`)
	mark.want(400, "POST", "/api/bots/shop/canned", `{"shortcut":"x","text":"{{ nope }}"}`)
	cid := cr["id"].(string)
	if l := olga.want(200, "GET", "/api/bots/shop/canned", "")["canned"].([]any); len(l) != 1 {
		t.Fatalf("canned list: %v", l)
	}
	if r := olga.want(200, "POST", "/api/conversations/"+id+"/canned/"+cid, ""); r["text"] != "Вася, бюджет 150000" {
		t.Fatalf("rendered canned reply: %v", r)
	}
	olga.want(200, "PUT", "/api/bots/shop/canned/"+cid, `{"shortcut":"price2","text":"hi"}`)
	olga.want(200, "DELETE", "/api/bots/shop/canned/"+cid, "")
	olga.want(404, "DELETE", "/api/bots/shop/canned/"+cid, "")

	// Transfer to another operator, then resolve with CSAT.
	olga.want(404, "POST", "/api/conversations/"+id+"/assign", `{"to":"u-nobody"}`)
	olga.want(200, "POST", "/api/conversations/"+id+"/assign", `{"to":"u-ivan"}`)
	olga.want(409, "POST", "/api/conversations/"+id+"/resolve", `{}`) // no longer hers
	ivan.want(200, "POST", "/api/conversations/"+id+"/read", "")
	res := ivan.want(200, "POST", "/api/conversations/"+id+"/resolve", `{"csat":true}`)
	if in := res["conversation"].(map[string]any)["inbox"].(map[string]any); in["state"] != "resolved" {
		t.Fatalf("resolve: %v", res)
	}
	ivan.want(409, "POST", "/api/conversations/"+id+"/resolve", `{}`)

	// Hand back the other chat at a chosen node.
	admin.want(400, "POST", "/api/conversations/"+other+"/handback", `{"goto":"nowhere"}`)
	admin.want(200, "POST", "/api/conversations/"+other+"/handback", `{"goto":"back"}`)
	k.snd.wait(t, "200", "Your name?", "Connecting", "Bot again, Вася", "Your name?")

	// Move a chat to another queue: it leaves olga's view, enters petr's.
	third := k.handoff("300")
	admin.want(200, "POST", "/api/conversations/"+third+"/assign", `{"queue":"support"}`)
	petr.want(200, "GET", "/api/conversations/"+third, "")
	olga.want(403, "GET", "/api/conversations/"+third, "")

	ops := admin.want(200, "GET", "/api/inbox/operators", "")
	if len(ops["operators"].([]any)) != 3 {
		t.Fatalf("operators: %v", ops)
	}
	admin.want(400, "GET", "/api/inbox?status=weird", "")
	admin.want(400, "GET", "/api/inbox?assignee=a~b", "")
}

func TestUsersHaveQueuesAndCapacity(t *testing.T) {
	s, _ := newTestServer(t)
	admin := signIn(t, s, "alice", "password-alice")
	u := admin.want(201, "POST", "/api/users", `{"login":"nina","role":"operator","password":"password-nina1","queues":["sales","vip"],"capacity":3}`)
	if u["capacity"] != float64(3) || len(u["queues"].([]any)) != 2 {
		t.Fatalf("created: %v", u)
	}
	u = admin.want(200, "PUT", "/api/users/"+u["id"].(string), `{"queues":[]}`)
	if u["capacity"] != float64(3) || len(u["queues"].([]any)) != 0 {
		t.Fatalf("updated: %v", u)
	}
	admin.want(400, "PUT", "/api/users/"+u["id"].(string), `{"capacity":-1}`)
	if u := admin.want(201, "POST", "/api/users", `{"login":"oleg","role":"operator","password":"password-oleg1"}`); u["capacity"] != float64(store.DefaultCapacity) {
		t.Fatalf("default capacity: %v", u)
	}
}

// sseEvent is one Server-Sent Event read from a stream.
type sseEvent struct {
	name string
	data map[string]any
}

// openStream opens GET /api/inbox/events as c on a real listener and
// returns its events as they come.
func openStream(t *testing.T, addr string, c *client) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/inbox/events", nil)
	req.Header.Set("Cookie", SessionCookie+"="+c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return out
}

// next waits for the next event named name (others are skipped).
func next(t *testing.T, evs <-chan sseEvent, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("stream closed waiting for %s", name)
			}
			if ev.name == name && (match == nil || match(ev.data)) {
				return ev.data
			}
		case <-deadline:
			t.Fatalf("no %s event", name)
		}
	}
}

func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

func TestInboxEventStream(t *testing.T) {
	k := newInboxStack(t)
	addr := serveOn(t, k.s)
	olga := signIn(t, k.s, "olga", "password-olga")
	petr := signIn(t, k.s, "petr", "password-petr")
	mine := openStream(t, addr, olga)
	theirs := openStream(t, addr, petr)
	if h := next(t, mine, "hello", nil); h["user"].(map[string]any)["id"] != "u-olga" {
		t.Fatalf("hello: %v", h)
	}
	next(t, theirs, "hello", nil)
	pres, err := k.st.ListPresence(context.Background())
	if err != nil || len(pres) != 2 {
		t.Fatalf("presence after two streams: %v %v", pres, err)
	}

	id := k.handoff("500")
	c := next(t, mine, "conversation", func(d map[string]any) bool { return d["id"] == id })
	if c["reason"] != "handoff" || c["inbox"].(map[string]any)["state"] != "unassigned" {
		t.Fatalf("first event of a handoff: %v", c)
	}
	next(t, mine, "notify", func(d map[string]any) bool { return d["kind"] == "waiting_in_my_queue" })
	k.say("500", "алло?")
	m := next(t, mine, "message", func(d map[string]any) bool {
		return d["message"].(map[string]any)["text"] == "алло?"
	})
	if m["conversation_id"] != id || m["message"].(map[string]any)["direction"] != "in" {
		t.Fatalf("message event: %v", m)
	}
	olga.want(201, "POST", "/api/conversations/"+id+"/messages", `{"text":"Слушаю"}`)
	next(t, mine, "delivery", func(d map[string]any) bool { return d["delivery"] == "sent" })

	// Petr (support) heard none of it; moving the chat to support shows it to him.
	olga.want(200, "POST", "/api/conversations/"+id+"/assign", `{"queue":"support"}`)
	got := next(t, theirs, "conversation", nil)
	if got["id"] != id || got["inbox"].(map[string]any)["queue"] != "support" {
		t.Fatalf("petr's first event: %v", got)
	}
	// Olga still hears that it left (she has it): the item says where it went.
	left := next(t, mine, "conversation", func(d map[string]any) bool { return d["reason"] == "transferred" })
	if left["inbox"].(map[string]any)["queue"] != "support" {
		t.Fatalf("olga's event: %v", left)
	}
}

// An operator's message the platform refuses shows as failed, one to a
// chat that blocked the bot as blocked, with the reason, and a reply to a
// blocked chat is refused.
func TestInboxDeliveryStates(t *testing.T) {
	k := newInboxStack(t)
	id := k.handoff("600")
	k.snd.mu.Lock()
	k.snd.refuse = func(m channel.Outbound) error {
		switch m.Text {
		case "too long":
			return &channel.SendError{Code: 400, Err: errors.New("Bad Request: message is too long")}
		case "bye":
			return &channel.SendError{Code: 403, Blocked: true, Err: errors.New("Forbidden: bot was blocked by the user")}
		}
		return nil
	}
	k.snd.mu.Unlock()
	olga := signIn(t, k.s, "olga", "password-olga")
	olga.want(201, "POST", "/api/conversations/"+id+"/messages", `{"text":"too long"}`)
	olga.want(201, "POST", "/api/conversations/"+id+"/messages", `{"text":"fine"}`)
	olga.want(201, "POST", "/api/conversations/"+id+"/messages", `{"text":"bye"}`)
	states := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for len(states) < 3 || states["bye"] != "blocked" {
		if time.Now().After(deadline) {
			t.Fatalf("delivery states: %v", states)
		}
		time.Sleep(20 * time.Millisecond)
		clear(states)
		for _, l := range olga.want(200, "GET", "/api/conversations/"+id, "")["messages"].([]any) {
			m := l.(map[string]any)
			if m["direction"] == "operator" {
				states[m["text"].(string)] = m["delivery"].(string)
				if (m["delivery"] == "failed" || m["delivery"] == "blocked") && m["error"] == nil {
					t.Fatalf("a %s message without its reason: %v", m["delivery"], m)
				}
			}
		}
	}
	if states["too long"] != "failed" || states["fine"] != "sent" {
		t.Fatalf("delivery states: %v", states)
	}
	olga.want(422, "POST", "/api/conversations/"+id+"/messages", `{"text":"anyone?"}`)
}
