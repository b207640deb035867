package telegram

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

const conformanceSecret = "conformance-webhook-secret"

// conformanceRig is an Adapter on a tgfake that delivers by webhook.
type conformanceRig struct {
	fake  *tgfake.Fake
	a     *Adapter
	hook  *httptest.Server
	chats atomic.Int64
}

func (r *conformanceRig) update(t *testing.T, u tgfake.Update, err error) channeltest.Delivery {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return u.UpdateID
}

func (r *conformanceRig) Chat(t *testing.T) string {
	id := 5000 + r.chats.Add(1)
	u, err := r.fake.SendText(id, "/start")
	d := r.update(t, u, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := r.fake.WaitUpdateDone(ctx, d.(int64)); err != nil || st.State != tgfake.StateDelivered {
		t.Fatalf("first message: %+v, %v", st, err)
	}
	return strconv.FormatInt(id, 10)
}

func chatID(t *testing.T, chat string) int64 {
	id, err := strconv.ParseInt(chat, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *conformanceRig) Write(t *testing.T, chat, text string) channeltest.Delivery {
	u, err := r.fake.SendText(chatID(t, chat), text)
	return r.update(t, u, err)
}

func (r *conformanceRig) Press(t *testing.T, chat, payload string) channeltest.Delivery {
	id := chatID(t, chat)
	u, err := r.fake.PressButton(id, id, 0, payload)
	return r.update(t, u, err)
}

func (r *conformanceRig) Accepted(t *testing.T, d channeltest.Delivery) (bool, int) {
	st, ok := r.fake.UpdateStatusOf(d.(int64))
	if !ok {
		t.Fatalf("no update %v", d)
	}
	return st.State == tgfake.StateDelivered, st.Attempts
}

func (r *conformanceRig) Forge(t *testing.T, chat, text string) int {
	body := `{"update_id":999999,"message":{"message_id":1,"date":1,"chat":{"id":` + chat + `,"type":"private"},"from":{"id":` + chat + `,"is_bot":false,"first_name":"X"},"text":"` + text + `"}}`
	req, _ := http.NewRequest(http.MethodPost, r.hook.URL, bytes.NewReader([]byte(body)))
	req.Header.Set(SecretHeader, "guessed-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *conformanceRig) Fail(t *testing.T, skip, n int, f channeltest.Failure) {
	code := http.StatusTooManyRequests
	if f == channeltest.ServerError {
		code = http.StatusInternalServerError
	}
	r.fake.FailLater(skip, n, "sendMessage", code)
}

func (r *conformanceRig) Block(t *testing.T, chat string) bool {
	if _, err := r.fake.Block(chatID(t, chat)); err != nil {
		t.Fatal(err)
	}
	return true
}

func (r *conformanceRig) Sent(t *testing.T, chat string) []string {
	var out []string
	for _, m := range r.fake.Sent(chatID(t, chat)) {
		if m.Method == "sendMessage" {
			out = append(out, m.Text)
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Subject{
		TextLimit: MaxTextLen,
		Secrets:   []string{"123456789:TEST-fake-token", conformanceSecret},
		New: func(t *testing.T, h channel.Handler, log *slog.Logger) (channel.Sender, channeltest.Platform) {
			fake := tgfake.New(tgfake.Options{Logger: log, RetryScale: 0.001})
			base, err := fake.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = fake.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := New(ctx, Config{BotID: testBotID, Token: fake.Token(), APIEndpoint: base + "/bot%s/%s", Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				var body bytes.Buffer
				_, _ = body.ReadFrom(req.Body)
				status, _ := a.HandleWebhook(req.Context(), h, req.Header.Get(SecretHeader), body.Bytes())
				w.WriteHeader(status)
			}))
			t.Cleanup(hook.Close)
			if err := a.SetWebhook(ctx, hook.URL, conformanceSecret); err != nil {
				t.Fatal(err)
			}
			return a, &conformanceRig{fake: fake, a: a, hook: hook}
		},
	})
}
