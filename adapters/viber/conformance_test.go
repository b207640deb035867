package viber

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

type rig struct {
	fake  *viberfake.Fake
	a     *Adapter
	hook  *httptest.Server
	chats atomic.Int64
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts viberfake.Options, welcome string) *rig {
	t.Helper()
	opts.Logger, opts.RetryScale = log, 0.001
	fake := viberfake.New(opts)
	base, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	a, err := New(Config{BotID: "shop", Token: fake.Token(), APIURL: base + "/pa", Logger: log, Welcome: welcome})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(channel.ServeHTTP(func(r *http.Request, req channel.WebhookRequest) channel.WebhookResponse {
		return a.Webhook(r.Context(), h, req)
	}))
	t.Cleanup(hook.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx, hook.URL); err != nil {
		t.Fatal(err)
	}
	return &rig{fake: fake, a: a, hook: hook}
}

func (r *rig) wait(t *testing.T, id int64) fakekit.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.fake.Deliveries().WaitDone(ctx, id)
	if err != nil || st.State != fakekit.DeliveryDelivered {
		t.Fatalf("delivery %d: %+v, %v", id, st, err)
	}
	return st
}

func (r *rig) Chat(t *testing.T) string {
	chat := fmt.Sprintf("u%04dAbC+dEf==", r.chats.Add(1))
	r.wait(t, r.fake.SendText(chat, "Иван", "hello").Delivery)
	return chat
}

func (r *rig) Write(t *testing.T, chat, text string) channeltest.Delivery {
	return r.fake.SendText(chat, "", text).Delivery
}

func (r *rig) Press(t *testing.T, chat, payload string) channeltest.Delivery {
	a, err := r.fake.Press(chat, payload, "")
	if err != nil {
		t.Fatal(err)
	}
	return a.Delivery
}

func (r *rig) Accepted(t *testing.T, d channeltest.Delivery) (bool, int) {
	st, _ := r.fake.Deliveries().Get(d.(int64))
	return st.State == fakekit.DeliveryDelivered, st.Attempts
}

func (r *rig) Forge(t *testing.T, chat, text string) int {
	body := fmt.Sprintf(`{"event":"message","timestamp":1,"message_token":9007199254740993,"sender":{"id":%q},"message":{"type":"text","text":%q}}`, chat, text)
	req, _ := http.NewRequest(http.MethodPost, r.hook.URL, bytes.NewReader([]byte(body)))
	req.Header.Set(SignatureHeader, fakekit.HMACHex("guessed-token", []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *rig) Fail(t *testing.T, skip, n int, f channeltest.Failure) {
	code := viberfake.StatusTooManyRequests
	if f == channeltest.ServerError {
		code = http.StatusInternalServerError
	}
	r.fake.Faults().FailLater(skip, n, code, nil)
}

func (r *rig) Block(t *testing.T, chat string) bool {
	r.wait(t, r.fake.Unsubscribe(chat).Delivery)
	return true
}

func (r *rig) Sent(t *testing.T, chat string) []string {
	var out []string
	for _, m := range r.fake.Sent(chat) {
		out = append(out, m.Text)
	}
	return out
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Subject{
		TextLimit: MaxText,
		Secrets:   []string{"4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"},
		New: func(t *testing.T, h channel.Handler, log *slog.Logger) (channel.Sender, channeltest.Platform) {
			r := newRig(t, h, log, viberfake.Options{Unlimited: true}, "")
			return r.a, r
		},
	})
}
