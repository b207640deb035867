package main

// End-to-end tests: the real `voronka serve` wiring (server, runtime, store,
// adapters) against the fake Telegram Bot API driven through the real
// go-telegram-bot-api client, and the web chat over a real WebSocket, on the
// bolt store and on MongoDB (FerretDB test server or $MONGO_URI).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/adapters/telegram"
	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/internal/testmongo"
)

func TestMain(m *testing.M) { testmongo.Main(m) }

type stack struct {
	fake *tgfake.Fake
	addr string
	cfg  serveConfig
	stop func()
}

type stackOpts struct {
	webhook    bool
	fakeLimits tgfake.Limits
	ourLimits  *channel.Limits
	// outage, when set, takes the fake down before serve starts.
	outage tgfake.Outage
	// token replaces the fake's token in the configuration (a wrong one).
	token string
	// retry is the channels' first back-off (default the real 1 s).
	retry time.Duration
	// logs also receives serve's log.
	logs io.Writer
	// mongoDB, when set, is the database of a "mongo" stack: a second
	// stack on the same one is another replica.
	mongoDB string
	// empty starts serve with no flows and no Telegram token: an empty
	// store, as a new installation.
	empty bool
	// fake, when set, is the Telegram the stack talks to (another
	// replica's), instead of a fake of its own.
	fake *tgfake.Fake
}

var storeKinds = []string{"bolt", "mongo"}

// startStack runs voronka serve with the example flows, the default bot on
// Telegram (the fake) and every flow in the web chat.
func startStack(t *testing.T, kind string, o stackOpts) *stack {
	t.Helper()
	fake := o.fake
	if fake == nil {
		fake = tgfake.New(tgfake.Options{Limits: o.fakeLimits, RetryScale: 0.01})
		if _, err := fake.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fake.Close() })
		if err := fake.SetOutage(o.outage, 0); err != nil {
			t.Fatal(err)
		}
	}
	cfg := defaults()
	cfg.Flows = "../../flows"
	cfg.Flow = "lead-qualification"
	cfg.Telegram = fake.Token()
	cfg.TelegramAPI = fake.APIEndpoint()
	cfg.LogLevel = "warn"
	cfg.APIToken = testAPIToken
	cfg.MetricsToken = testMetricsToken
	cfg.telegramLimits = o.ourLimits
	cfg.channelRetry = o.retry
	if o.token != "" {
		cfg.Telegram = o.token
	}
	if o.empty {
		cfg.Flows = t.TempDir()
		cfg.Telegram = ""
	}
	switch kind {
	case "bolt":
		cfg.Data = t.TempDir() + "/voronka.db"
	case "mongo":
		cfg.MongoURI = testmongo.URI(t)
		cfg.MongoDB = testmongo.DBName(t)
		if o.mongoDB != "" {
			cfg.MongoDB = o.mongoDB
		}
	}
	var logTo io.Writer = testWriter{t}
	if o.logs != nil {
		logTo = io.MultiWriter(logTo, o.logs)
	}
	log := slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var (
		addr   string
		cancel context.CancelFunc
		done   chan error
	)
	for attempt := 1; addr == ""; attempt++ {
		cfg.Listen = "127.0.0.1:0"
		if o.webhook {
			// The webhook URL must be known before serve starts: reserve a
			// port (on a busy machine another process may take it before
			// serve does; then try another).
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Listen = ln.Addr().String()
			ln.Close()
			cfg.PublicURL = "http://" + cfg.Listen
		}
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done = make(chan error, 1)
		go func() { done <- serve(ctx, cfg, log, ready) }()
		select {
		case addr = <-ready:
		case err := <-done:
			cancel()
			if o.webhook && attempt < 3 && strings.Contains(fmt.Sprint(err), "address already in use") {
				continue
			}
			t.Fatalf("serve exited: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not start")
		}
	}
	s := &stack{fake: fake, addr: addr, cfg: cfg}
	var stopOnce sync.Once
	var stopServe func()
	s.stop = func() { stopOnce.Do(stopServe) }
	stopServe = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}
	t.Cleanup(s.stop)
	return s
}

// testAPIToken is the bearer token the tests call /api with.
const testAPIToken = "e2e-api-token"

// testMetricsToken puts /metrics on the stack's port (it is off without one).
const testMetricsToken = "e2e-metrics-token"

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func wait(t *testing.T, f *tgfake.Fake, chat int64, n int) []tgfake.SentMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := f.WaitSent(ctx, chat, n)
	if err != nil {
		t.Fatalf("waiting for %d messages in chat %d: %v (got %q)", n, chat, err, textsOf(f.Sent(chat)))
	}
	return msgs
}

func textsOf(ms []tgfake.SentMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func mustSend(t *testing.T, f *tgfake.Fake, user int64, text string) {
	t.Helper()
	if _, err := f.SendText(user, text); err != nil {
		t.Fatal(err)
	}
}

func mustPress(t *testing.T, f *tgfake.Fake, user int64, label string) {
	t.Helper()
	if _, err := f.PressButtonText(user, user, 0, label); err != nil {
		t.Fatal(err)
	}
}

// playFunnel walks the lead-qualification funnel to the handoff.
func playFunnel(t *testing.T, f *tgfake.Fake, user int64) {
	t.Helper()
	mustSend(t, f, user, "/start")
	got := wait(t, f, user, 2)
	if !strings.HasPrefix(got[0].Text, "Здравствуйте") || got[1].Text != "Что вас интересует?" || got[1].Keyboard == nil {
		t.Fatalf("greeting: %q", textsOf(got))
	}
	mustPress(t, f, user, "Хочу купить")
	if got := wait(t, f, user, 3); got[2].Text != "Какой у вас бюджет в месяц, в рублях?" {
		t.Fatalf("after the press: %q", textsOf(got))
	}
	mustSend(t, f, user, "150 000")
	wait(t, f, user, 4)
	mustSend(t, f, user, "+7 999 123-45-67")
	if got := wait(t, f, user, 5); got[4].Text != "Передаю вас менеджеру, он ответит в течение 15 минут." {
		t.Fatalf("end of funnel: %q", textsOf(got))
	}
}

var unlimited = tgfake.Limits{Unlimited: true}
var fast = &channel.Limits{PerSecond: 1000, Burst: 1000, PerChatSecond: 1000, PerChatBurst: 1000, PerGroupMin: 1000}

func TestFunnelOverWebhook(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{webhook: true, fakeLimits: unlimited})
			playFunnel(t, s.fake, 1001)
			conv := getJSON(t, s, "/api/conversations/lead-qualification:telegram:1001")
			c := conv["conversation"].(map[string]any)
			if c["status"] != "handoff" || c["segment"] != "hot" {
				t.Fatalf("conversation in the store: %v", c)
			}
		})
	}
}

func TestFunnelOverLongPolling(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{fakeLimits: unlimited})
			playFunnel(t, s.fake, 2002)
		})
	}
}

func TestDuplicateUpdateIsProcessedOnce(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{webhook: true, fakeLimits: unlimited})
			mustSend(t, s.fake, 3003, "hello") // makes the chat known to the fake
			wait(t, s.fake, 3003, 2)
			update := fmt.Sprintf(`{"update_id": 777000, "message": {"message_id": 99, "date": %d,
				"from": {"id": 3003, "is_bot": false, "first_name": "Dup"},
				"chat": {"id": 3003, "type": "private", "first_name": "Dup"}, "text": "Хочу купить"}}`, time.Now().Unix())
			for i := 0; i < 3; i++ {
				req, _ := http.NewRequest("POST", "http://"+s.addr+"/telegram/lead-qualification", strings.NewReader(update))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", telegram.WebhookSecret(s.fake.Token()))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("delivery %d: status %d", i+1, resp.StatusCode)
				}
			}
			got := wait(t, s.fake, 3003, 3)
			if got[2].Text != "Какой у вас бюджет в месяц, в рублях?" {
				t.Fatalf("reply: %q", textsOf(got))
			}
			// Every delivery was acknowledged only after its durable write, so
			// the duplicates are already counted when the POSTs returned.
			if m := metric(t, s, "voronka_inbound_duplicates_total"); m != 2 {
				t.Fatalf("duplicates counted: %v, want 2", m)
			}
			mustSend(t, s.fake, 3003, "100000") // a later message still gets its answer, and only it
			if got := wait(t, s.fake, 3003, 4); len(got) != 4 || got[3].Text != "Оставьте телефон — менеджер перезвонит в течение часа." {
				t.Fatalf("after duplicates: %q", textsOf(got))
			}
		})
	}
}

func TestRapidMessagesAreAnsweredInOrder(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{webhook: true, fakeLimits: unlimited, ourLimits: fast})
			const user = 4004
			mustSend(t, s.fake, user, "/start")
			wait(t, s.fake, user, 2)
			// Twenty rapid messages the buttons node does not understand: each
			// gets the prompt again, and the FAQ question gets its answer in
			// its place in the sequence.
			for i := 0; i < 20; i++ {
				text := fmt.Sprintf("сообщение %d", i)
				if i == 10 {
					text = "а доставка есть?"
				}
				mustSend(t, s.fake, user, text)
			}
			got := wait(t, s.fake, user, 2+21)
			for i, m := range got[2:] {
				want := "Что вас интересует?"
				if i == 10 {
					want = "Подключаем за один рабочий день, выезд инженера по Москве — бесплатно."
				}
				if m.Text != want {
					t.Fatalf("reply %d: %q, want %q\nall: %q", i+1, m.Text, want, textsOf(got))
				}
			}
		})
	}
}

func TestRateLimitStormLosesAndDuplicatesNothing(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			// The fake enforces tight limits our runtime does not know about,
			// so it answers 429 with retry_after again and again.
			tight := tgfake.Limits{GlobalPerSecond: 50, GlobalBurst: 50, PrivatePerSecond: 4, PrivateBurst: 1, GroupPerMinute: 20, GroupBurst: 1}
			s := startStack(t, kind, stackOpts{webhook: true, fakeLimits: tight, ourLimits: fast})
			users := []int64{5001, 5002, 5003}
			for _, u := range users {
				mustSend(t, s.fake, u, "/start")
			}
			for _, u := range users {
				mustSend(t, s.fake, u, "ммм")
			}
			for _, u := range users {
				got := wait(t, s.fake, u, 3)
				if len(got) != 3 || !strings.HasPrefix(got[0].Text, "Здравствуйте") || got[1].Text != "Что вас интересует?" || got[2].Text != "Что вас интересует?" {
					t.Fatalf("chat %d: %q", u, textsOf(got))
				}
			}
			if s.fake.Stats().TooManyRequests == 0 {
				t.Fatal("the storm produced no 429: the test did not test anything")
			}
		})
	}
}

func TestBlockedUserIsMarkedAndComesBack(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{webhook: true, fakeLimits: unlimited})
			const user = 6006
			mustSend(t, s.fake, user, "/start")
			wait(t, s.fake, user, 2)
			if _, err := s.fake.Block(user); err != nil {
				t.Fatal(err)
			}
			eventually(t, func() bool {
				c := getJSON(t, s, "/api/conversations/lead-qualification:telegram:6006")["conversation"].(map[string]any)
				return c["blocked"] == true
			}, "the conversation is marked blocked")
			// Writing again unblocks the bot (Telegram's "Restart bot").
			mustSend(t, s.fake, user, "Хочу купить")
			if got := wait(t, s.fake, user, 3); got[2].Text != "Какой у вас бюджет в месяц, в рублях?" {
				t.Fatalf("after unblocking: %q", textsOf(got))
			}
		})
	}
}

func TestWebChatFunnel(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{fakeLimits: unlimited})
			ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/ws/chat?bot=faq-bot", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			send := func(v any) {
				if err := ws.WriteJSON(v); err != nil {
					t.Fatal(err)
				}
			}
			// A reply may overtake the ack of the message it answers (the
			// runtime sends while the hub acks), so frames of another type
			// wait in pending instead of being dropped.
			var pending []map[string]any
			next := func(typ string) map[string]any {
				t.Helper()
				for i, f := range pending {
					if f["type"] == typ {
						pending = append(pending[:i], pending[i+1:]...)
						return f
					}
				}
				for {
					_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
					var f map[string]any
					if err := ws.ReadJSON(&f); err != nil {
						t.Fatalf("waiting for %s: %v", typ, err)
					}
					if f["type"] == typ {
						return f
					}
					pending = append(pending, f)
				}
			}
			send(map[string]any{"type": "hello", "bot": "faq-bot", "profile": map[string]any{"first_name": "Веб"}})
			welcome := next("welcome")
			session := welcome["session"]
			// faq-bot's keyword trigger «оператор» leads to its handoff node:
			// the widget offers it as a «talk to a person» button.
			if welcome["handoff"] != "оператор" {
				t.Fatalf("welcome %v: want handoff «оператор»", welcome)
			}
			send(map[string]any{"type": "text", "id": "c1", "text": "привет"})
			next("typing") // the widget shows «Печатает…» until the reply
			next("ack")
			menu := next("message")
			if at, _ := menu["at"].(float64); at <= 0 {
				t.Fatalf("menu without a time: %v", menu)
			}
			if !strings.HasPrefix(menu["text"].(string), "Здравствуйте! Я отвечу на частые вопросы.") {
				t.Fatalf("menu: %v", menu)
			}
			buttons := menu["buttons"].([]any)
			pay := buttons[1].(map[string]any) // «Оплата»
			send(map[string]any{"type": "press", "id": "c2", "payload": pay["payload"], "label": pay["label"]})
			next("ack")
			if m := next("message"); m["text"] != "Оплатить можно картой на сайте, по СБП или наличными курьеру." {
				t.Fatalf("answer: %v", m)
			}
			if m := next("message"); m["text"] != "Могу ещё чем-нибудь помочь?" {
				t.Fatalf("follow-up: %v", m)
			}
			send(map[string]any{"type": "text", "id": "c3", "text": welcome["handoff"]})
			next("ack")
			if m := next("message"); m["text"] != "Соединяю с оператором. Обычно отвечаем в течение 5 минут." {
				t.Fatalf("the handoff text did not reach the operator: %v", m)
			}
			conv := getJSON(t, s, fmt.Sprintf("/api/conversations/faq-bot:web:%s", session))
			if msgs := conv["messages"].([]any); len(msgs) < 5 {
				t.Fatalf("transcript has %d lines", len(msgs))
			}
		})
	}
}

func TestBrokenInputGetsClearErrors(t *testing.T) {
	s := startStack(t, "bolt", stackOpts{webhook: true, fakeLimits: unlimited})
	url := "http://" + s.addr
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
	}{
		{"webhook without secret", "POST", "/telegram/lead-qualification", `{"update_id":1}`, nil, 401},
		{"malformed webhook", "POST", "/telegram/lead-qualification", `{"update_id":`, map[string]string{"X-Telegram-Bot-Api-Secret-Token": telegram.WebhookSecret(s.fake.Token())}, 400},
		{"webhook for an unknown bot", "POST", "/telegram/nobody", `{}`, nil, 404},
		{"flow with errors cannot be published", "POST", "/api/bots/faq-bot/flows/faq-bot/publish", "voronka: 1\nid: faq-bot\nstart: nowhere\nnodes:\n  a: {type: end}\n", map[string]string{"Content-Type": "application/yaml", "Authorization": "Bearer " + testAPIToken}, 422},
		{"unknown API route", "GET", "/api/nothing", "", map[string]string{"Authorization": "Bearer " + testAPIToken}, 404},
		{"API without a session or token", "GET", "/api/bots", "", nil, 401},
		{"API with a wrong token", "GET", "/api/bots", "", map[string]string{"Authorization": "Bearer wrong"}, 401},
		{"API with an unknown session", "GET", "/api/bots", "", map[string]string{"Cookie": "voronka_session=forged"}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, url+c.path, strings.NewReader(c.body))
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil || e["error"] == nil {
				t.Fatalf("not a JSON error: %s", body)
			}
		})
	}
	// A 100 MB body is refused without being read, and the server goes on.
	big := bytes.NewReader(make([]byte, 100<<20))
	resp, err := http.Post(url+"/api/validate", "application/yaml", big)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("100 MB body: status %d", resp.StatusCode)
		}
	}
	if r, err := http.Get(url + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("server unhealthy after a huge body: %v", err)
	}
}

func getJSON(t *testing.T, s *stack, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %v", path, resp.StatusCode, err, out)
	}
	return out
}

func metric(t *testing.T, s *stack, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("metric %s not found in:\n%s", name, body)
	return 0
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
