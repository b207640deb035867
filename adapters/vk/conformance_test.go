package vk

import (
	"fmt"
	"log/slog"
	"strconv"
	"testing"

	"github.com/voronka/voronka/adapters/internal/hooktest"
	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

const (
	testSecret  = "s3cr3t-callback-key"
	testConfirm = "a1b2c3d4"
)

type rig struct {
	*hooktest.Rig
	fake *vkfake.Fake
	a    *Adapter
}

func newRig(t *testing.T, h channel.Handler, log *slog.Logger, opts vkfake.Options) *rig {
	t.Helper()
	opts.Logger, opts.RetryScale = log, 0.001
	fake := vkfake.New(opts)
	base := hooktest.Start(t, fake)
	a, err := New(Config{BotID: "shop", GroupID: fake.GroupID(), Token: fake.Token(), Secret: testSecret,
		Confirmation: testConfirm, APIURL: base + "/method", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Rig: hooktest.New(t, fake, vkfake.ErrTooMany, h, a.Webhook), fake: fake, a: a}
	ctx := hooktest.Context(t)
	if _, err := a.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetServer(ctx, r.Hook.URL, testSecret, testConfirm); err != nil {
		t.Fatal(err)
	}
	return r
}

func peer(t *testing.T, chat string) int64 {
	id, err := strconv.ParseInt(chat, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *rig) Chat(t *testing.T) string {
	id := 100000 + r.NextChat()
	r.Wait(t, r.fake.SendText(id, "Привет").Delivery)
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

func (r *rig) Forge(t *testing.T, chat, text string) int {
	body := fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":"forged1","v":"5.199","secret":"guessed","object":{"message":{"id":1,"date":1,"peer_id":%s,"from_id":%s,"text":%q}}}`,
		r.fake.GroupID(), chat, chat, text)
	return r.Post(t, body, nil)
}

func (r *rig) Block(t *testing.T, chat string) bool {
	r.Wait(t, r.fake.Deny(peer(t, chat)).Delivery)
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
