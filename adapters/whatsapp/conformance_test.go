package whatsapp

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/internal/hooktest"
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// rig is an Adapter wired to a wafake through a real HTTP webhook.
type rig struct {
	*hooktest.Rig
	fake *wafake.Fake
	a    *Adapter
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts wafake.Options) *rig {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = log
	}
	opts.RetryScale = 0.001
	fake := wafake.New(opts)
	api := hooktest.Start(t, fake)
	a, err := New(Config{BotID: "shop", PhoneNumberID: fake.PhoneNumberID(), Token: fake.Token(), AppSecret: fake.AppSecret(),
		VerifyToken: "verify-me", APIURL: api, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Rig: hooktest.New(t, fake, wafake.CodeRateLimit, h, a.Webhook), fake: fake, a: a}
	if err := fake.SetWebhook(hooktest.Context(t), r.Hook.URL, "verify-me"); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) Chat(t *testing.T) string {
	chat := fmt.Sprintf("7999000%04d", r.NextChat())
	r.Wait(t, r.fake.SendText(chat, "Ivan", "hello").Delivery)
	return chat
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

func (r *rig) Forge(t *testing.T, chat, text string) int {
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"messages":[{"from":%q,"id":"wamid.forged","timestamp":"1","type":"text","text":{"body":%q}}]}}]}]}`,
		r.a.cfg.PhoneNumberID, chat, text)
	return r.Post(t, body, map[string]string{SignatureHeader: "sha256=" + fakekit.HMACHex("not-the-app-secret", []byte(body))})
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
