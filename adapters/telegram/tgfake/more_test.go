package tgfake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

func TestWebhookReplyMethodAndMaxConnections(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx := ctxT(t)
	release := make(chan struct{})
	hs := &hookServer{
		t: t, bot: e.bot,
		block: map[string]chan struct{}{"A1": release},
		reply: map[string]string{"B1": `{"method":"sendMessage","chat_id":2,"text":"pong"}`},
	}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	if _, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": srv.URL, "max_connections": "1"}); err != nil {
		t.Fatal(err)
	}
	a1 := mustSay(t, e.fake, 1, "A1")
	b1 := mustSay(t, e.fake, 2, "B1")
	if _, err := e.fake.WaitUpdate(ctx, a1.UpdateID, func(s tgfake.UpdateStatus) bool { return s.Attempts == 1 }); err != nil {
		t.Fatal(err)
	}
	// One connection: B1 waits although it is another chat.
	if st, _ := e.fake.UpdateStatusOf(b1.UpdateID); st.Attempts != 0 {
		t.Fatalf("B1 sent beyond max_connections: %+v", st)
	}
	close(release)
	// B1's 200 reply carries a sendMessage, which the fake executes.
	sent, err := e.fake.WaitSent(ctx, 2, 1)
	if err != nil || sent[0].Text != "pong" {
		t.Fatalf("reply method: %+v, %v", sent, err)
	}
}

func TestWebhookLifecycle(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 1, "before")
	// An unreachable webhook keeps the update pending.
	if _, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://127.0.0.1:1/x"}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://127.0.0.1:1/x"})
	if err != nil || resp.Description != "Webhook is already set" {
		t.Fatalf("second setWebhook = %+v, %v", resp, err)
	}
	info, err := e.bot.GetWebhookInfo()
	if err != nil || !info.IsSet() || info.PendingUpdateCount != 1 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	// deleteWebhook hands pending updates back to getUpdates.
	resp, err = e.bot.Request(tgbotapi.DeleteWebhookConfig{})
	if err != nil || resp.Description != "Webhook was deleted" {
		t.Fatalf("deleteWebhook = %+v, %v", resp, err)
	}
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "before" {
		t.Fatalf("updates = %+v, %v", ups, err)
	}
	// drop_pending_updates discards them.
	if _, err := e.bot.Request(tgbotapi.DeleteWebhookConfig{DropPendingUpdates: true}); err != nil {
		t.Fatal(err)
	}
	if ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil || len(ups) != 0 {
		t.Fatalf("after drop = %+v, %v", ups, err)
	}
	if st, _ := e.fake.UpdateStatusOf(1); st.State != tgfake.StateDropped {
		t.Fatalf("state = %s", st.State)
	}
	// allowed_updates filters what is produced.
	if _, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{AllowedUpdates: []string{"callback_query"}}); err != nil {
		t.Fatal(err)
	}
	if up := mustSay(t, e.fake, 1, "filtered"); up.UpdateID != 0 {
		t.Fatalf("filtered update got id %d", up.UpdateID)
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	call := func(method, path, body string, out any) int {
		t.Helper()
		req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			OK          bool            `json:"ok"`
			Result      json.RawMessage `json:"result"`
			Description string          `json:"description"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
		if out != nil && env.OK {
			if err := json.Unmarshal(env.Result, out); err != nil {
				t.Fatalf("%s %s: decode result: %v", method, path, err)
			}
		}
		return resp.StatusCode
	}

	var up tgfake.Update
	if code := call("POST", "/_fake/message", `{"user_id":77,"text":"/start promo","first_name":"Olga","username":"olga"}`, &up); code != 200 {
		t.Fatalf("message: %d", code)
	}
	if up.UpdateID != 1 || up.Message.From.FirstName != "Olga" || up.Message.Chat.Username != "olga" {
		t.Fatalf("update = %+v", up)
	}
	msg := tgbotapi.NewMessage(77, "Choose")
	msg.ReplyMarkup = keyboard("a", "b")
	if _, err := e.bot.Send(msg); err != nil {
		t.Fatal(err)
	}
	var sent []tgfake.SentMessage
	if code := call("GET", "/_fake/sent/wait?chat_id=77&n=1&timeout=5s", "", &sent); code != 200 || len(sent) != 1 || sent[0].Text != "Choose" {
		t.Fatalf("sent/wait: %d %+v", code, sent)
	}
	if code := call("POST", "/_fake/press", `{"user_id":77,"text":"btn b"}`, &up); code != 200 || up.CallbackQuery.Data != "b" {
		t.Fatalf("press: %d %+v", code, up)
	}
	if code := call("POST", "/_fake/press", `{"user_id":77,"data":"zzz"}`, nil); code != 400 {
		t.Fatalf("press of a missing button: %d", code)
	}
	if code := call("POST", "/_fake/block", `{"user_id":77}`, &up); code != 200 || up.MyChatMember == nil {
		t.Fatalf("block: %d %+v", code, up)
	}
	var now string
	if code := call("POST", "/_fake/clock/advance", `{"seconds":1}`, &now); code != 200 || now == "" {
		t.Fatalf("advance: %d", code)
	}
	var stats tgfake.Stats
	if code := call("GET", "/_fake/stats", "", &stats); code != 200 || stats.Requests["sendMessage"] != 1 || stats.UpdatesCreated != 3 {
		t.Fatalf("stats: %d %+v", code, stats)
	}
	var ups []tgfake.UpdateStatus
	if code := call("GET", "/_fake/updates", "", &ups); code != 200 || len(ups) != 3 || ups[2].Kind != "my_chat_member" {
		t.Fatalf("updates: %d %+v", code, ups)
	}
	var cleared bool
	if code := call("DELETE", "/_fake/sent", "", &cleared); code != 200 || !cleared || len(e.fake.AllSent()) != 0 {
		t.Fatalf("clear: %d %v %d", code, cleared, len(e.fake.AllSent()))
	}
	if code := call("GET", "/_fake/nope", "", nil); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}
}
