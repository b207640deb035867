package viber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/voronka/voronka/adapters/internal/msgkit"
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
	Open:    msgkit.Opener(ChannelName, build),
}

func init() { channel.Register(Type) }

// build makes one bot's Viber channel; Run sets its webhook.
func build(env channel.Env, cfg channel.Config, log *slog.Logger) (channel.Channel, error) {
	a, err := New(Config{BotID: cfg.Bot, Token: cfg.Token, SenderName: cfg.Settings["sender_name"], Welcome: cfg.Settings["welcome"],
		APIURL: cfg.APIURL, HTTPClient: env.HTTPClient, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	if env.Now != nil {
		a.now = env.Now
	}
	retry := env.RetryMin
	if retry <= 0 {
		retry = 2 * time.Second
	}
	return &liveChannel{Adapter: a, h: env.Handler, webhook: cfg.WebhookURL, retry: retry}, nil
}

type liveChannel struct {
	*Adapter
	h       channel.Handler
	webhook string
	retry   time.Duration
}

// Routes serve POST /viber/{bot}.
func (c *liveChannel) Routes() []channel.Route {
	return msgkit.WebhookRoutes(func(ctx context.Context, req channel.WebhookRequest) channel.WebhookResponse {
		return c.Webhook(ctx, c.h, req)
	}, nil, []string{SignatureHeader}, http.MethodPost)
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
