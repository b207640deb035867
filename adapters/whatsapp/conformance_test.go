package whatsapp

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
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// rig is an Adapter wired to a wafake through a real HTTP webhook.
type rig struct {
	fake  *wafake.Fake
	a     *Adapter
	hook  *httptest.Server
	chats atomic.Int64
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts wafake.Options) *rig {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = log
	}
	opts.RetryScale = 0.001
	fake := wafake.New(opts)
	api, err := fake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	a, err := New(Config{BotID: "shop", PhoneNumberID: fake.PhoneNumberID(), Token: fake.Token(), AppSecret: fake.AppSecret(),
		VerifyToken: "verify-me", APIURL: api, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(channel.ServeHTTP(func(r *http.Request, req channel.WebhookRequest) channel.WebhookResponse {
		return a.Webhook(r.Context(), h, req)
	}))
	t.Cleanup(hook.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.SetWebhook(ctx, hook.URL, "verify-me"); err != nil {
		t.Fatal(err)
	}
	return &rig{fake: fake, a: a, hook: hook}
}

func (r *rig) Chat(t *testing.T) string {
	chat := fmt.Sprintf("7999000%04d", r.chats.Add(1))
	d := r.fake.SendText(chat, "Ivan", "hello")
	r.wait(t, d.Delivery)
	return chat
}

func (r *rig) wait(t *testing.T, id int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := r.fake.Deliveries().WaitDone(ctx, id); err != nil || st.State != fakekit.DeliveryDelivered {
		t.Fatalf("delivery %d: %+v, %v", id, st, err)
	}
}

func (r *rig) Write(t *testing.T, chat, text string) channeltest.Delivery {
	return r.fake.SendText(chat, "", text).Delivery
}

func (r *rig) Press(t *testing.T, chat, payload string) channeltest.Delivery {
	in, err := r.fake.Press(chat, payload, "")
	if err != nil {
		t.Fatal(err)
	}
	return in.Delivery
}

func (r *rig) Accepted(t *testing.T, d channeltest.Delivery) (bool, int) {
	st, ok := r.fake.Deliveries().Get(d.(int64))
	if !ok {
		t.Fatalf("no delivery %v", d)
	}
	return st.State == fakekit.DeliveryDelivered, st.Attempts
}

func (r *rig) Forge(t *testing.T, chat, text string) int {
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"messages":[{"from":%q,"id":"wamid.forged","timestamp":"1","type":"text","text":{"body":%q}}]}}]}]}`,
		r.a.cfg.PhoneNumberID, chat, text)
	req, _ := http.NewRequest(http.MethodPost, r.hook.URL, bytes.NewReader([]byte(body)))
	req.Header.Set(SignatureHeader, "sha256="+fakekit.HMACHex("not-the-app-secret", []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (r *rig) Fail(t *testing.T, skip, n int, f channeltest.Failure) {
	code := wafake.CodeRateLimit
	if f == channeltest.ServerError {
		code = http.StatusInternalServerError
	}
	r.fake.Faults().FailLater(skip, n, code, nil)
}

func (r *rig) Block(t *testing.T, chat string) bool { r.fake.Block(chat); return true }

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
		Secrets:   []string{"EAAG-fake-whatsapp-token", "fake-app-secret"},
		New: func(t *testing.T, h channel.Handler, log *slog.Logger) (channel.Sender, channeltest.Platform) {
			r := newRig(t, h, log, wafake.Options{Unlimited: true})
			return r.a, r
		},
	})
}
