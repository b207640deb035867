package vk

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

const (
	testSecret  = "s3cr3t-callback-key"
	testConfirm = "a1b2c3d4"
)

type rig struct {
	fake  *vkfake.Fake
	a     *Adapter
	hook  *httptest.Server
	chats atomic.Int64
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts vkfake.Options) *rig {
	t.Helper()
	opts.Logger, opts.RetryScale = log, 0.001
	fake := vkfake.New(opts)
	base, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	a, err := New(Config{BotID: "shop", GroupID: fake.GroupID(), Token: fake.Token(), Secret: testSecret,
		Confirmation: testConfirm, APIURL: base + "/method", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(channel.ServeHTTP(func(r *http.Request, req channel.WebhookRequest) channel.WebhookResponse {
		return a.Webhook(r.Context(), h, req)
	}))
	t.Cleanup(hook.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetServer(ctx, hook.URL, testSecret, testConfirm); err != nil {
		t.Fatal(err)
	}
	return &rig{fake: fake, a: a, hook: hook}
}

func (r *rig) wait(t *testing.T, id int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := r.fake.Deliveries().WaitDone(ctx, id); err != nil || st.State != fakekit.DeliveryDelivered {
		t.Fatalf("delivery %d: %+v, %v", id, st, err)
	}
}

func peer(t *testing.T, chat string) int64 {
	id, err := strconv.ParseInt(chat, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *rig) Chat(t *testing.T) string {
	id := 100000 + r.chats.Add(1)
	r.wait(t, r.fake.SendText(id, "Привет").Delivery)
	return strconv.FormatInt(id, 10)
}

func (r *rig) Write(t *testing.T, chat, text string) channeltest.Delivery {
	return r.fake.SendText(peer(t, chat), text).Delivery
}

func (r *rig) Press(t *testing.T, chat, payload string) channeltest.Delivery {
	a, err := r.fake.Press(peer(t, chat), fmt.Sprintf(`{"b":%q}`, payload), "")
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
	body := fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":"forged1","v":"5.199","secret":"guessed","object":{"message":{"id":1,"date":1,"peer_id":%s,"from_id":%s,"text":%q}}}`,
		r.fake.GroupID(), chat, chat, text)
	resp, err := http.Post(r.hook.URL, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *rig) Fail(t *testing.T, skip, n int, f channeltest.Failure) {
	code := vkfake.ErrTooMany
	if f == channeltest.ServerError {
		code = http.StatusInternalServerError
	}
	r.fake.Faults().FailLater(skip, n, code, nil)
}

func (r *rig) Block(t *testing.T, chat string) bool {
	r.wait(t, r.fake.Deny(peer(t, chat)).Delivery)
	return true
}

func (r *rig) Sent(t *testing.T, chat string) []string {
	var out []string
	for _, m := range r.fake.Sent(peer(t, chat)) {
		out = append(out, m.Text)
	}
	return out
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Subject{
		TextLimit: MaxText,
		Secrets:   []string{"vk1.a.fake-community-token", testSecret},
		New: func(t *testing.T, h channel.Handler, log *slog.Logger) (channel.Sender, channeltest.Platform) {
			r := newRig(t, h, log, vkfake.Options{Unlimited: true})
			return r.a, r
		},
	})
}
