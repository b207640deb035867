package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// webhookEnv is an env whose adapter receives updates by webhook.
func webhookEnv(t *testing.T, rec *recorder) (*env, string) {
	t.Helper()
	e := newEnv(t, tgfake.Options{})
	secret, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.SetWebhook(ctxT(t), e.hook(e.a, rec), secret); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	return e, secret
}

func TestWebhookRoundTrip(t *testing.T) {
	rec := &recorder{}
	e, _ := webhookEnv(t, rec)
	e.fake.AddUser(tgfake.User{ID: 42, FirstName: "Anna", LastName: "Petrova", Username: "anna_p", LanguageCode: "ru"})
	u := mustSay(t, e.fake, 42, "/start promo_spring")

	got := rec.wait(t, 1)
	want := channel.Inbound{
		Bot: testBotID, Channel: "telegram", Chat: "42", UpdateID: fmt.Sprintf("tg:%d", u.UpdateID),
		Kind: channel.KindText, Text: "/start promo_spring", Source: "promo_spring",
		Contact: engine.Contact{FirstName: "Anna", LastName: "Petrova", Username: "anna_p", Language: "ru", Channel: "telegram"},
		Time:    epoch.UTC(),
	}
	if got[0] != want {
		t.Fatalf("inbound =\n%+v\nwant\n%+v", got[0], want)
	}
	st, err := e.fake.WaitUpdateDone(ctxT(t), u.UpdateID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tgfake.StateDelivered || st.Failures != 0 {
		t.Fatalf("update state %s with %d failures, want delivered with none", st.State, st.Failures)
	}
}

func TestWebhookRegistersSecretAndAllowedUpdates(t *testing.T) {
	rec := &recorder{}
	e, _ := webhookEnv(t, rec)
	resp, err := e.a.call(ctxT(t), "getWebhookInfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	var info tgbotapi.WebhookInfo
	if err := json.Unmarshal(resp.Result, &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.URL, "/telegram/webhook") {
		t.Errorf("webhook URL = %q", info.URL)
	}
	if want := []string{"message", "callback_query", "my_chat_member"}; !slices.Equal(info.AllowedUpdates, want) {
		t.Errorf("allowed_updates = %v, want %v", info.AllowedUpdates, want)
	}
}

func TestSetWebhookRejectsBadSecretLocally(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	for _, secret := range []string{"", "has space", "slash/", strings.Repeat("a", 257), "ünï"} {
		if err := e.a.SetWebhook(ctxT(t), "https://example.com/hook", secret); err == nil {
			t.Errorf("SetWebhook with secret %q succeeded", secret)
		}
	}
	if n := e.fake.Stats().Requests["setWebhook"]; n != 0 {
		t.Errorf("%d setWebhook requests reached the API, want 0", n)
	}
}

func TestGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := GenerateSecret()
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateSecret(s); err != nil {
			t.Fatalf("GenerateSecret() = %q: %v", s, err)
		}
		if seen[s] {
			t.Fatalf("GenerateSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func TestWebhookSecretHeader(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "right_secret-1"})
	body := []byte(`{"update_id":7,"message":{"message_id":1,"date":1750000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`)
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "wrong_secret-1", http.StatusUnauthorized},
		{"prefix", "right_secret-", http.StatusUnauthorized},
		{"longer", "right_secret-12", http.StatusUnauthorized},
		{"right", "right_secret-1", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			status, err := a.HandleWebhook(ctxT(t), rec, tc.header, body)
			if status != tc.status {
				t.Fatalf("status = %d (%v), want %d", status, err, tc.status)
			}
			if tc.status == http.StatusUnauthorized {
				if !errors.Is(err, ErrBadSecret) {
					t.Errorf("err = %v, want ErrBadSecret", err)
				}
				if rec.callCount() != 0 {
					t.Errorf("handler called for a rejected request")
				}
			} else if err != nil || len(rec.all()) != 1 {
				t.Errorf("err = %v, handled %d, want nil and 1", err, len(rec.all()))
			}
		})
	}
}

func TestWebhookWithoutSecretFailsClosed(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec := &recorder{}
	body := []byte(`{"update_id":7,"message":{"message_id":1,"date":1750000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`)
	for _, header := range []string{"", "anything"} {
		if status, err := e.a.HandleWebhook(ctxT(t), rec, header, body); status != http.StatusUnauthorized || !errors.Is(err, ErrBadSecret) {
			t.Errorf("header %q: status %d, err %v; want 401 ErrBadSecret", header, status, err)
		}
	}
	if rec.callCount() != 0 {
		t.Error("handler called without a configured secret")
	}
}

// TestWebhookWrongSecretFromTelegram: a webhook registered with another
// secret (a replica with a stale Config) is refused, and Telegram keeps
// the update.
func TestWebhookWrongSecretFromTelegram(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec := &recorder{}
	a := e.newAdapter(Config{WebhookSecret: "the_right_one"})
	params := tgbotapi.Params{"url": e.hook(a, rec), "secret_token": "a_stale_one"}
	if _, err := e.a.call(ctxT(t), "setWebhook", params); err != nil {
		t.Fatal(err)
	}
	u := mustSay(t, e.fake, 42, "hello")
	st, err := e.fake.WaitUpdate(ctxT(t), u.UpdateID, func(s tgfake.UpdateStatus) bool { return s.Failures > 0 })
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tgfake.StatePending || !strings.Contains(st.LastError, "401") {
		t.Fatalf("update %s, last error %q; want pending after a 401", st.State, st.LastError)
	}
	if rec.callCount() != 0 {
		t.Fatal("handler called for a request with the wrong secret")
	}
}

func TestWebhookMalformedBody(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "s"})
	for _, body := range []string{
		"", "{", "[]", "null", "42", `"update"`, `{}`, `{"update_id":0}`, `{"update_id":-5}`,
		`{"update_id":"7"}`, `{"update_id":7,"message":"text"}`, `{"update_id":7,"message":{"chat":{"id":"x"}}}`,
		`{"update_id":7,"callback_query":{"data":5}}`, "<html>502</html>", "\xff\xfe",
	} {
		rec := &recorder{}
		status, err := a.HandleWebhook(ctxT(t), rec, "s", []byte(body))
		if status != http.StatusBadRequest || !errors.Is(err, ErrMalformedUpdate) {
			t.Errorf("body %q: status %d, err %v; want 400 ErrMalformedUpdate", body, status, err)
		}
		if rec.callCount() != 0 {
			t.Errorf("body %q reached the handler", body)
		}
	}
}

// TestWebhookHandlerErrorIsRetried: a handler error answers 500, Telegram
// retries, and the second attempt is accepted.
func TestWebhookHandlerErrorIsRetried(t *testing.T) {
	rec := &recorder{fail: func(call int, _ channel.Inbound) error {
		if call == 1 {
			return errors.New("store unavailable")
		}
		return nil
	}}
	e, secret := webhookEnv(t, rec)
	u := mustSay(t, e.fake, 42, "hello")
	got := rec.wait(t, 1)
	if got[0].Text != "hello" {
		t.Fatalf("inbound text %q", got[0].Text)
	}
	st, err := e.fake.WaitUpdateDone(ctxT(t), u.UpdateID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tgfake.StateDelivered || st.Failures != 1 || !strings.Contains(st.LastError, "500") {
		t.Fatalf("update %s after %d failures (last %q), want delivered after one 500", st.State, st.Failures, st.LastError)
	}

	// The same, called directly: the error comes back with the status.
	body := []byte(`{"update_id":99,"message":{"message_id":1,"date":1750000000,"chat":{"id":42,"type":"private"},"text":"x"}}`)
	boom := errors.New("boom")
	status, err := e.a.HandleWebhook(ctxT(t), channelHandlerFunc(func(context.Context, channel.Inbound) error { return boom }), secret, body)
	if status != http.StatusInternalServerError || !errors.Is(err, boom) {
		t.Fatalf("status %d, err %v; want 500 wrapping the handler's error", status, err)
	}
}

// TestWebhookCallbackQueryAnswered: a press on a button we sent arrives as
// KindPress with the payload, and the query is answered.
func TestWebhookCallbackQueryAnswered(t *testing.T) {
	rec := &recorder{}
	e, _ := webhookEnv(t, rec)
	mustSay(t, e.fake, 42, "/start")
	rec.wait(t, 1)
	_, err := e.a.Send(ctxT(t), channel.Outbound{ID: "m1", Chat: "42", Text: "Coffee or tea?", Buttons: []engine.Button{
		{Label: "Coffee", Payload: "drink:coffee"}, {Label: "Tea", Payload: "drink:tea"},
	}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	u, err := e.fake.PressButtonText(42, 42, 0, "Tea")
	if err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 2)[1]
	if got.Kind != channel.KindPress || got.Payload != "drink:tea" || got.Chat != "42" || got.UpdateID != fmt.Sprintf("tg:%d", u.UpdateID) {
		t.Fatalf("press inbound = %+v", got)
	}
	if got.Contact.Channel != "telegram" || got.Contact.FirstName == "" {
		t.Errorf("press contact = %+v", got.Contact)
	}
	if _, err := e.fake.WaitUpdateDone(ctxT(t), u.UpdateID); err != nil {
		t.Fatal(err)
	}
	answers := e.fake.CallbackAnswers()
	if len(answers) != 1 || answers[0].QueryID != u.CallbackQuery.ID {
		t.Fatalf("callback answers = %+v, want one for query %s", answers, u.CallbackQuery.ID)
	}
	// The keyboard stays: earlier buttons remain pressable.
	if n := len(e.fake.Sent(42)); n != 1 {
		t.Errorf("%d sends/edits in the chat, want 1 (no keyboard edit)", n)
	}
	if _, err := e.fake.PressButtonText(42, 42, 0, "Coffee"); err != nil {
		t.Fatalf("second press on the same keyboard: %v", err)
	}
	if got := rec.wait(t, 3)[2]; got.Payload != "drink:coffee" {
		t.Fatalf("second press payload %q", got.Payload)
	}
}

func TestWebhookBlockUnblock(t *testing.T) {
	rec := &recorder{}
	e, _ := webhookEnv(t, rec)
	mustSay(t, e.fake, 42, "/start")
	if _, err := e.fake.Block(42); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.Unblock(42); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, 3)
	if got[1].Kind != channel.KindBlocked || got[1].Chat != "42" {
		t.Errorf("block inbound = %+v, want KindBlocked in chat 42", got[1])
	}
	if got[2].Kind != channel.KindUnblocked || got[2].Chat != "42" {
		t.Errorf("unblock inbound = %+v, want KindUnblocked in chat 42", got[2])
	}
	if !got[1].Time.Equal(epoch) || got[1].Contact.Channel != "telegram" {
		t.Errorf("block inbound time %v contact %+v", got[1].Time, got[1].Contact)
	}
}

// TestWebhookNonTextMessage: a message without text (what the fake sends
// for an empty text, like a sticker) is KindText with empty text.
func TestWebhookNonTextMessage(t *testing.T) {
	rec := &recorder{}
	e, _ := webhookEnv(t, rec)
	mustSay(t, e.fake, 42, "")
	got := rec.wait(t, 1)[0]
	if got.Kind != channel.KindText || got.Text != "" || got.Chat != "42" {
		t.Fatalf("inbound = %+v, want empty KindText", got)
	}
}

type channelHandlerFunc func(context.Context, channel.Inbound) error

func (f channelHandlerFunc) Handle(ctx context.Context, in channel.Inbound) error { return f(ctx, in) }

// TestSetWebhookRotatesSecret: after SetWebhook with a new secret, this
// adapter accepts only the new one.
func TestSetWebhookRotatesSecret(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "old_secret"})
	if err := a.SetWebhook(ctxT(t), "https://voronka.example/telegram/webhook", "new_secret"); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"update_id":7,"message":{"message_id":1,"date":1750000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`)
	if status, _ := a.HandleWebhook(ctxT(t), &recorder{}, "old_secret", body); status != http.StatusUnauthorized {
		t.Errorf("old secret: status %d, want 401", status)
	}
	if status, err := a.HandleWebhook(ctxT(t), &recorder{}, "new_secret", body); status != http.StatusOK {
		t.Errorf("new secret: status %d (%v), want 200", status, err)
	}
}
