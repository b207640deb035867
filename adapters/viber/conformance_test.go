package viber

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/internal/hooktest"
	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

type rig struct {
	*hooktest.Rig
	fake *viberfake.Fake
	a    *Adapter
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts viberfake.Options, welcome string) *rig {
	t.Helper()
	opts.Logger, opts.RetryScale = log, 0.001
	fake := viberfake.New(opts)
	base := hooktest.Start(t, fake)
	a, err := New(Config{BotID: "shop", Token: fake.Token(), APIURL: base + "/pa", Logger: log, Welcome: welcome})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Rig: hooktest.New(t, fake, viberfake.StatusTooManyRequests, h, a.Webhook), fake: fake, a: a}
	if _, err := a.Connect(hooktest.Context(t), r.Hook.URL); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) Chat(t *testing.T) string {
	chat := fmt.Sprintf("u%04dAbC+dEf==", r.NextChat())
	r.Wait(t, r.fake.SendText(chat, "Иван", "hello").Delivery)
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

func (r *rig) Forge(t *testing.T, chat, text string) int {
	body := fmt.Sprintf(`{"event":"message","timestamp":1,"message_token":9007199254740993,"sender":{"id":%q},"message":{"type":"text","text":%q}}`, chat, text)
	return r.Post(t, body, map[string]string{SignatureHeader: fakekit.HMACHex("guessed-token", []byte(body))})
}

func (r *rig) Block(t *testing.T, chat string) bool {
	r.Wait(t, r.fake.Unsubscribe(chat).Delivery)
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
