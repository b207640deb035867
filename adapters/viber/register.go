package viber

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/voronka/voronka/engine/channel"
)

// Caps: a keyboard of up to 24 buttons, texts split at 7,000 characters,
// delivered and seen receipts; only people who subscribed or wrote can be
// messaged.
var Caps = channel.Capabilities{ButtonsPerMessage: MaxButtons, TextLen: MaxText, DeliveryReceipts: true, ReadReceipts: true}

// Settings a Viber channel reads: the welcome message for
// conversation_started and the sender name.
var Settings = []string{"welcome", "sender_name"}

// Type is Viber as a channel type.
var Type = channel.Type{
	Name: ChannelName, Title: "Viber", Caps: Caps, Limits: Limits, NeedsToken: true, Settings: Settings,
	IsGroup: func(string) bool { return false },
	Open:    openType,
}

func init() { channel.Register(Type) }

type typeAdapter struct{ env channel.Env }

func openType(env channel.Env) (channel.Adapter, error) {
	if env.Handler == nil {
		return nil, errors.New("viber: Env.Handler is nil")
	}
	return &typeAdapter{env: env}, nil
}

// Build makes one bot's Viber channel; Run sets its webhook.
func (t *typeAdapter) Build(cfg channel.Config) (channel.Channel, error) {
	api := cfg.APIURL
	if api == "" {
		api = t.env.APIURL
	}
	log := t.env.Logger
	if log != nil {
		log = log.With("channel", ChannelName)
	}
	a, err := New(Config{BotID: cfg.Bot, Token: cfg.Token, SenderName: cfg.Settings["sender_name"], Welcome: cfg.Settings["welcome"],
		APIURL: api, HTTPClient: t.env.HTTPClient, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	if t.env.Now != nil {
		a.now = t.env.Now
	}
	retry := t.env.RetryMin
	if retry <= 0 {
		retry = 2 * time.Second
	}
	return &liveChannel{Adapter: a, h: t.env.Handler, webhook: cfg.WebhookURL, retry: retry}, nil
}

type liveChannel struct {
	*Adapter
	h       channel.Handler
	webhook string
	retry   time.Duration
}

// Routes serve POST /viber/{bot}.
func (c *liveChannel) Routes() []channel.Route {
	return []channel.Route{{Method: http.MethodPost, Handle: func(ctx context.Context, r *channel.Request) channel.Response {
		h := http.Header{}
		h.Set(SignatureHeader, r.Header(SignatureHeader))
		res := c.Webhook(ctx, c.h, channel.WebhookRequest{Method: r.Method, Query: url.Values{}, Header: h, Body: r.Body})
		return channel.Response{Status: res.Status, ContentType: res.ContentType, Body: res.Body}
	}}}
}

// Run sets the webhook (Voronka's public URL + /viber/{bot}), retrying
// while Viber cannot be reached; a rejected token stops it.
func (c *liveChannel) Run(ctx context.Context) error {
	if c.webhook == "" {
		err := errors.New("viber: Viber delivers only to a webhook: set the server's public URL (VORONKA_PUBLIC_URL)")
		c.status.Failed(err.Error())
		return fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	wait := c.retry
	for {
		_, err := c.Connect(ctx, c.webhook)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrTokenRejected) {
			return fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
		}
		c.log.Warn("set webhook failed; retrying", "in", wait, "err", err)
		c.status.Degraded(err.Error(), c.now().Add(wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Minute)
	}
}

// Check asks get_account_info who the bot is.
func (c *liveChannel) Check(ctx context.Context) (channel.Account, error) {
	var info struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	if err := c.call(ctx, "get_account_info", struct{}{}, &info); err != nil {
		if errors.Is(err, ErrTokenRejected) {
			return channel.Account{}, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
		}
		return channel.Account{}, err
	}
	if info.Name != "" {
		c.account.Store(&info.Name)
	}
	acct := channel.Account{Name: info.Name}
	if info.URI != "" {
		acct.Link = "viber://pa?chatURI=" + url.QueryEscape(info.URI)
		acct.DeepLink = acct.Link + "&context={payload}"
	}
	return acct, nil
}

// Remove unsets the webhook of a channel being deleted.
func (c *liveChannel) Remove(ctx context.Context) error {
	if c.webhook == "" {
		return nil
	}
	return c.Disconnect(ctx)
}
