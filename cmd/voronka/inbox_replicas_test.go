package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// operator is a signed-in browser of the inbox: its session (kept in the
// store) works on every replica.
type operator struct {
	t      *testing.T
	cookie string
	csrf   string
}

func apiCall(t *testing.T, s *stack, method, path, body string, op *operator) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if op == nil {
		req.Header.Set("Authorization", "Bearer "+testAPIToken)
	} else {
		req.Header.Set("Cookie", "voronka_session="+op.cookie)
		req.Header.Set("X-CSRF-Token", op.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func signInOn(t *testing.T, s *stack, login, password string) *operator {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/login", strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ CSRF string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	for _, c := range resp.Cookies() {
		if c.Name == "voronka_session" {
			return &operator{t: t, cookie: c.Value, csrf: body.CSRF}
		}
	}
	t.Fatalf("sign-in of %s: %d, no cookie", login, resp.StatusCode)
	return nil
}

// inboxEvent is one event of GET /api/inbox/events, with when it arrived.
type inboxEvent struct {
	name string
	data map[string]any
	at   time.Time
}

func openInboxEvents(t *testing.T, s *stack, op *operator) <-chan inboxEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/api/inbox/events", nil)
	req.Header.Set("Cookie", "voronka_session="+op.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("event stream: %d", resp.StatusCode)
	}
	out := make(chan inboxEvent, 1024)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev inboxEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.name != "":
				ev.at = time.Now()
				out <- ev
				ev = inboxEvent{}
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return out
}

func awaitEvent(t *testing.T, evs <-chan inboxEvent, name string, match func(map[string]any) bool) inboxEvent {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("the stream closed waiting for %s", name)
			}
			if ev.name == name && (match == nil || match(ev.data)) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", name)
		}
	}
}

// Two replicas on one MongoDB: an operator's event stream on replica A
// shows what happens on replica B (a web chat customer asking for a
// person, another operator taking the chat, a reply) within a second, and
// the reply reaches the customer's socket.
func TestInboxEventsCrossReplicas(t *testing.T) {
	a := startStack(t, "mongo", stackOpts{fakeLimits: unlimited})
	b := startStack(t, "mongo", stackOpts{fakeLimits: unlimited, mongoDB: a.cfg.MongoDB})
	for _, u := range []string{"olga", "ivan"} {
		if code, out := apiCall(t, a, "POST", "/api/users", `{"login":"`+u+`","name":"`+u+`","role":"operator","password":"password-`+u+`1"}`, nil); code != 201 {
			t.Fatalf("create %s: %d %v", u, code, out)
		}
	}
	olga := signInOn(t, a, "olga", "password-olga1")
	ivan := signInOn(t, b, "ivan", "password-ivan1")
	events := openInboxEvents(t, a, olga)
	awaitEvent(t, events, "hello", nil)

	// The customer chats on replica B and asks for a person.
	tab := openTab(t, b, "faq-bot")
	tab.send(map[string]any{"type": "hello", "bot": "faq-bot"})
	welcome := tab.next("welcome")
	asked := time.Now()
	tab.send(map[string]any{"type": "text", "id": "c1", "text": welcome["handoff"]})
	ev := awaitEvent(t, events, "conversation", func(d map[string]any) bool { return d["reason"] == "handoff" })
	id := ev.data["id"].(string)
	t.Logf("handoff on replica b reached the stream on replica a after %s", ev.at.Sub(asked))

	// Olga is online (her stream): the auto-assigner gives it to her.
	ev = awaitEvent(t, events, "conversation", func(d map[string]any) bool { return d["reason"] == "assigned" })
	if in := ev.data["inbox"].(map[string]any); in["assignee_name"] != "olga" {
		t.Fatalf("auto-assigned to %v", in)
	}
	// Ivan's take on replica B loses: exactly one holder.
	if code, out := apiCall(t, b, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`, ivan); code != 409 || out["error"] != "taken" {
		t.Fatalf("a take of olga's chat on replica b: %d %v", code, out)
	}
	// Olga, through replica B, hands it to Ivan: her stream on A hears it.
	users := getJSON(t, a, "/api/users")["users"].([]any)
	ivanID := ""
	for _, u := range users {
		if u.(map[string]any)["login"] == "ivan" {
			ivanID = u.(map[string]any)["id"].(string)
		}
	}
	start := time.Now()
	if code, out := apiCall(t, b, "POST", "/api/conversations/"+id+"/assign", `{"to":"`+ivanID+`"}`, olga); code != 200 {
		t.Fatalf("transfer on b: %d %v", code, out)
	}
	took := time.Since(start)
	ev = awaitEvent(t, events, "conversation", func(d map[string]any) bool { return d["reason"] == "transferred" })
	lat := ev.at.Sub(start)
	t.Logf("a transfer on replica b answered in %s; the event reached replica a's stream after %s", took, lat)
	if lat > time.Second {
		t.Errorf("the transfer reached the other replica's stream after %s, want within 1 s", lat)
	}

	// Ivan replies on B: the message is on A's stream within a second and
	// in the customer's widget with his name.
	start = time.Now()
	if code, out := apiCall(t, b, "POST", "/api/conversations/"+id+"/messages", `{"text":"Здравствуйте, это Иван"}`, ivan); code != 201 {
		t.Fatalf("reply on b: %d %v", code, out)
	}
	ev = awaitEvent(t, events, "message", func(d map[string]any) bool {
		return d["message"].(map[string]any)["direction"] == "operator"
	})
	if lat := ev.at.Sub(start); lat > time.Second {
		t.Errorf("the reply reached the other replica's stream after %s, want within 1 s", lat)
	} else {
		t.Logf("the reply reached replica a's stream after %s", lat)
	}
	var joined []string
	for {
		m := tab.next("message")
		if m["notice"] == "operator_joined" {
			joined = append(joined, m["author"].(string))
			continue
		}
		if m["text"] == "Здравствуйте, это Иван" {
			if m["author"] != "ivan" {
				t.Fatalf("the reply in the widget has author %v", m["author"])
			}
			break
		}
	}
	if strings.Join(joined, ",") != "olga,ivan" {
		t.Errorf("the widget was told %v joined, want olga then ivan", joined)
	}
}
