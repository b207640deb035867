package main

// The messengers the load tool drives (-platform): each is its fake, how
// `voronka serve` is pointed at it, and what a person does there. The
// modes (chats, broadcast) are written once against this interface.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/adapters/viber"
	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/adapters/vk"
	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/adapters/whatsapp"
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
	"github.com/voronka/voronka/engine/channel"
)

// platform is one messenger as the load tool drives it. Users are numbered
// from 1; chat maps a number to the platform's chat id.
type platform interface {
	// name is the channel type, as in the store and the server's routes.
	name() string
	// limits are the platform's send limits (PLATFORMS.md), which the
	// fake enforces unless started unlimited.
	limits() channel.Limits
	// start starts the fake as o says.
	start(o fakeSetup) error
	close()
	// env is the server's environment for the platform; readyLine, when
	// set, is the log line that says the channel is up (Telegram's
	// webhook), else connect makes it so once the server answers.
	env(rate float64) []string
	readyLine() string
	connect(ctx context.Context, s *bcServer) error
	chat(user int) string
	// write makes user write text; its delivery to the webhook is the
	// fake's, signed like the platform's.
	write(user int, text string) error
	// seed makes user known to the fake, allowed to get messages, without
	// a webhook delivery.
	seed(user int)
	// waitSent waits until the bot sent n messages to user and returns
	// how many there are.
	waitSent(ctx context.Context, user, n int) (int, error)
	sent(user int) []sentMsg
	// stats are the sends the fake took and its rate-limit answers.
	stats() (sent int, limited int64)
}

// fakeSetup is how a fake is started.
type fakeSetup struct {
	// unlimited switches the platform's limits off; else rate is the
	// bot-wide limit in msg/s (0: the platform's own).
	unlimited bool
	rate      float64
	// lean keeps counts, not the messages: sent then answers nothing.
	// The chats mode sets it, as its fake would otherwise keep megabytes
	// a second, whose collections take the cores from the server.
	lean bool
}

type sentMsg struct {
	text string
	at   time.Time
}

func newPlatform(name string) (platform, error) {
	switch name {
	case "telegram":
		return &tgPlatform{}, nil
	case "whatsapp":
		return &waPlatform{}, nil
	case "viber":
		return &viberPlatform{}, nil
	case "vk":
		return &vkPlatform{}, nil
	}
	return nil, fmt.Errorf("unknown -platform %q (telegram, whatsapp, viber or vk)", name)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rateEnv lifts or sets the server's bot-wide rate for a channel type.
func rateEnv(typ string, rate float64) string {
	return fmt.Sprintf("VORONKA_CHANNEL_RATES=%s=%g", typ, rate)
}

// retry calls fn until it succeeds or ctx ends: a channel connected through
// the API starts on its replica a moment later.
func retry(ctx context.Context, what string, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type tgPlatform struct{ f *tgfake.Fake }

func (p *tgPlatform) name() string           { return "telegram" }
func (p *tgPlatform) limits() channel.Limits { return channel.TelegramLimits }
func (p *tgPlatform) start(o fakeSetup) error {
	l := tgfake.Limits{Unlimited: true}
	if !o.unlimited {
		l = tgfake.DefaultLimits()
		if o.rate > 0 {
			l.GlobalPerSecond, l.GlobalBurst = o.rate, int(o.rate)
		}
	}
	p.f = tgfake.New(tgfake.Options{Limits: l, Logger: quiet, Lean: o.lean})
	_, err := p.f.Start()
	return err
}
func (p *tgPlatform) close() { p.f.Close() }
func (p *tgPlatform) env(rate float64) []string {
	return []string{"VORONKA_TELEGRAM_TOKEN=" + p.f.Token(), "VORONKA_TELEGRAM_API=" + p.f.APIEndpoint(),
		fmt.Sprintf("VORONKA_TELEGRAM_RATE=%g", rate)}
}
func (p *tgPlatform) readyLine() string                        { return "webhook set" }
func (p *tgPlatform) connect(context.Context, *bcServer) error { return nil }
func (p *tgPlatform) chat(user int) string                     { return strconv.Itoa(user) }
func (p *tgPlatform) write(user int, text string) error {
	_, err := p.f.SendText(int64(user), text)
	return err
}
func (p *tgPlatform) stats() (int, int64) { st := p.f.Stats(); return st.Sent, st.TooManyRequests }
func (p *tgPlatform) waitSent(ctx context.Context, user, n int) (int, error) {
	return p.f.WaitSentCount(ctx, int64(user), n)
}
func (p *tgPlatform) sent(user int) []sentMsg {
	var out []sentMsg
	for _, m := range p.f.Sent(int64(user)) {
		out = append(out, sentMsg{m.Text, m.Time})
	}
	return out
}

// seed makes the user start the bot, then drops the update so that only
// the seeded conversation (written to the store) counts.
func (p *tgPlatform) seed(user int) {
	p.f.AddUser(tgfake.User{ID: int64(user), FirstName: fmt.Sprintf("U%d", user)})
	_, _ = p.f.SendText(int64(user), "/start")
}

// dropSeeded forgets the seeding updates before the server starts.
func (p *tgPlatform) dropSeeded() error {
	resp, err := http.Get(fmt.Sprintf(p.f.APIEndpoint(), p.f.Token(), "deleteWebhook") + "?drop_pending_updates=true")
	if err != nil {
		return fmt.Errorf("drop seeded updates: %w", err)
	}
	return resp.Body.Close()
}

type waPlatform struct {
	f   *wafake.Fake
	api string
}

const waVerify = "loadtest-verify"

func (p *waPlatform) name() string           { return "whatsapp" }
func (p *waPlatform) limits() channel.Limits { return whatsapp.Limits }
func (p *waPlatform) start(o fakeSetup) error {
	p.f = wafake.New(wafake.Options{Unlimited: o.unlimited, PerSecond: o.rate, Logger: quiet, Lean: o.lean})
	var err error
	p.api, err = p.f.Start("")
	return err
}
func (p *waPlatform) close()                    { _ = p.f.Close() }
func (p *waPlatform) env(rate float64) []string { return []string{rateEnv("whatsapp", rate)} }
func (p *waPlatform) readyLine() string         { return "" }
func (p *waPlatform) connect(ctx context.Context, s *bcServer) error {
	if _, err := s.api("POST", "/api/bots/"+s.bot+"/channels", map[string]any{"type": "whatsapp", "token": p.f.Token(),
		"secret": p.f.AppSecret(), "api_url": p.api,
		"settings": map[string]string{"phone_number_id": p.f.PhoneNumberID(), "verify_token": waVerify}}); err != nil {
		return err
	}
	// Meta's console check: the GET with hub.challenge, then POSTs.
	return retry(ctx, "verify the webhook", func() error {
		return p.f.SetWebhook(ctx, "http://"+s.addr+"/whatsapp/"+s.bot, waVerify)
	})
}
func (p *waPlatform) chat(user int) string { return fmt.Sprintf("7999%07d", user) }
func (p *waPlatform) write(user int, text string) error {
	p.f.SendText(p.chat(user), fmt.Sprintf("U%d", user), text)
	return nil
}
func (p *waPlatform) seed(user int) { p.f.AddUser(p.chat(user), fmt.Sprintf("U%d", user), time.Now()) }
func (p *waPlatform) waitSent(ctx context.Context, user, n int) (int, error) {
	return p.f.Records.WaitCount(ctx, p.chat(user), n)
}
func (p *waPlatform) sent(user int) []sentMsg {
	var out []sentMsg
	for _, m := range p.f.Sent(p.chat(user)) {
		out = append(out, sentMsg{m.Text, m.Time})
	}
	return out
}
func (p *waPlatform) stats() (int, int64) { st := p.f.Stats(); return st.Sent, st.RateLimit }

type viberPlatform struct {
	f   *viberfake.Fake
	api string
}

func (p *viberPlatform) name() string           { return "viber" }
func (p *viberPlatform) limits() channel.Limits { return viber.Limits }
func (p *viberPlatform) start(o fakeSetup) error {
	// Viber's limit is its own (50 msg/s after a burst); not settable.
	p.f = viberfake.New(viberfake.Options{Unlimited: o.unlimited, Logger: quiet, Lean: o.lean})
	var err error
	p.api, err = p.f.Start("")
	return err
}
func (p *viberPlatform) close()                    { _ = p.f.Close() }
func (p *viberPlatform) env(rate float64) []string { return []string{rateEnv("viber", rate)} }
func (p *viberPlatform) readyLine() string         { return "" }
func (p *viberPlatform) connect(ctx context.Context, s *bcServer) error {
	if _, err := s.api("POST", "/api/bots/"+s.bot+"/channels", map[string]any{"type": "viber", "token": p.f.Token(),
		"api_url": p.api + "/pa"}); err != nil {
		return err
	}
	// Voronka sets the webhook itself (set_webhook, answered by the
	// server's reply to Viber's "webhook" event).
	return retry(ctx, "wait for set_webhook", func() error {
		if p.f.Deliveries().URL() == "" {
			return fmt.Errorf("no webhook set")
		}
		return nil
	})
}
func (p *viberPlatform) chat(user int) string { return fmt.Sprintf("vb%08d==", user) }
func (p *viberPlatform) write(user int, text string) error {
	p.f.SendText(p.chat(user), fmt.Sprintf("U%d", user), text)
	return nil
}
func (p *viberPlatform) seed(user int) { p.f.AddUser(p.chat(user), fmt.Sprintf("U%d", user)) }
func (p *viberPlatform) waitSent(ctx context.Context, user, n int) (int, error) {
	return p.f.Records.WaitCount(ctx, p.chat(user), n)
}
func (p *viberPlatform) sent(user int) []sentMsg {
	var out []sentMsg
	for _, m := range p.f.Sent(p.chat(user)) {
		out = append(out, sentMsg{m.Text, m.Time})
	}
	return out
}
func (p *viberPlatform) stats() (int, int64) { st := p.f.Stats(); return st.Sent, st.TooManyRequests }

type vkPlatform struct {
	f   *vkfake.Fake
	api string
}

const (
	vkSecret  = "loadtest-secret"
	vkConfirm = "a1b2c3d4"
)

func (p *vkPlatform) name() string           { return "vk" }
func (p *vkPlatform) limits() channel.Limits { return vk.Limits }
func (p *vkPlatform) start(o fakeSetup) error {
	p.f = vkfake.New(vkfake.Options{Unlimited: o.unlimited, PerSecond: o.rate, Logger: quiet, Lean: o.lean})
	var err error
	p.api, err = p.f.Start("")
	return err
}
func (p *vkPlatform) close()                    { _ = p.f.Close() }
func (p *vkPlatform) env(rate float64) []string { return []string{rateEnv("vk", rate)} }
func (p *vkPlatform) readyLine() string         { return "" }
func (p *vkPlatform) connect(ctx context.Context, s *bcServer) error {
	if _, err := s.api("POST", "/api/bots/"+s.bot+"/channels", map[string]any{"type": "vk", "token": p.f.Token(),
		"secret": vkSecret, "api_url": p.api + "/method",
		"settings": map[string]string{"group_id": strconv.FormatInt(p.f.GroupID(), 10), "confirmation": vkConfirm}}); err != nil {
		return err
	}
	// The community's Callback API settings: VK's confirmation request.
	return retry(ctx, "confirm the callback server", func() error {
		return p.f.SetServer(ctx, "http://"+s.addr+"/vk/"+s.bot, vkSecret, vkConfirm)
	})
}
func (p *vkPlatform) chat(user int) string              { return strconv.Itoa(user) }
func (p *vkPlatform) write(user int, text string) error { p.f.SendText(int64(user), text); return nil }
func (p *vkPlatform) seed(user int)                     { p.f.AddUser(int64(user)) }
func (p *vkPlatform) stats() (int, int64)               { st := p.f.Stats(); return st.Sent, st.TooManyRequests }
func (p *vkPlatform) waitSent(ctx context.Context, user, n int) (int, error) {
	return p.f.Records.WaitCount(ctx, p.chat(user), n)
}
func (p *vkPlatform) sent(user int) []sentMsg {
	var out []sentMsg
	for _, m := range p.f.Sent(int64(user)) {
		out = append(out, sentMsg{m.Text, m.Time})
	}
	return out
}
