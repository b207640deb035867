package telegram

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/channel"
)

// Caps are what Telegram shows: 100 inline buttons a message, 4,096
// characters of text (longer texts are split), no receipts, and a bot may
// only write to people who wrote to it first.
var Caps = channel.Capabilities{ButtonsPerMessage: 100, TextLen: 4096}

// Type is Telegram as a channel type.
var Type = channel.Type{
	Name:       ChannelName,
	Title:      "Telegram",
	Caps:       Caps,
	Limits:     channel.TelegramLimits,
	NeedsToken: true,
	Settings:   []string{SettingOperatorNames},
	Open:       openType,
}

// SettingOperatorNames is the channel setting that says whether operators'
// messages carry their name: "on" (the default when unset) or "off".
const SettingOperatorNames = "operator_names"

// signOperators reads SettingOperatorNames.
func signOperators(settings map[string]string) (bool, error) {
	switch v := settings[SettingOperatorNames]; v {
	case "", "on":
		return true, nil
	case "off":
		return false, nil
	default:
		return false, fmt.Errorf("telegram: %s is on or off, not %q", SettingOperatorNames, v)
	}
}

func init() { channel.Register(Type) }

type typeAdapter struct{ env channel.Env }

func openType(env channel.Env) (channel.Adapter, error) {
	if env.Handler == nil {
		return nil, errors.New("telegram: Env.Handler is nil")
	}
	return &typeAdapter{env: env}, nil
}

// Build makes the channel of one bot: a webhook when cfg has a WebhookURL,
// long polling otherwise (Run).
func (t *typeAdapter) Build(cfg channel.Config) (channel.Channel, error) {
	api := cfg.APIURL
	if api == "" {
		api = t.env.APIURL
	}
	api = endpointFormat(api)
	sign, err := signOperators(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	log := t.env.Logger
	if log != nil {
		log = log.With("channel", ChannelName)
	}
	a, err := Open(Config{BotID: cfg.Bot, Token: cfg.Token, APIEndpoint: api, HTTPClient: t.env.HTTPClient,
		Logger: log, WebhookSecret: WebhookSecret(cfg.Token), SignOperators: sign})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	if t.env.Now != nil {
		a.now = t.env.Now
	}
	mode := ModePolling
	if cfg.WebhookURL != "" {
		mode = ModeWebhook
	}
	a.status.SetMode(mode)
	return &liveChannel{Adapter: a, h: t.env.Handler,
		run: RunOptions{WebhookURL: cfg.WebhookURL, RetryMin: t.env.RetryMin, RetryMax: t.env.RetryMin * 4}}, nil
}

// endpointFormat turns an API base ("http://127.0.0.1:9000") into the
// Sprintf format Config.APIEndpoint takes; a format is kept as it is, ""
// is Telegram's own.
func endpointFormat(api string) string {
	switch {
	case api == "":
		return DefaultAPIEndpoint
	case strings.Contains(api, "%s"):
		return api
	}
	return strings.TrimRight(api, "/") + "/bot%s/%s"
}

// WebhookSecret derives the webhook's secret_token from the bot token:
// every replica computes the same value without sharing state, and nobody
// can forge it without the token.
func WebhookSecret(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("voronka telegram webhook"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// liveChannel is an Adapter bound to the runtime: what the live channel
// set runs.
type liveChannel struct {
	*Adapter
	h   channel.Handler
	run RunOptions
}

// Routes serve the webhook at POST /telegram/{bot}.
func (c *liveChannel) Routes() []channel.Route {
	return []channel.Route{{Method: http.MethodPost, Handle: c.webhook}}
}

func (c *liveChannel) webhook(ctx context.Context, r *channel.Request) channel.Response {
	status, err := c.HandleWebhook(ctx, c.h, r.Header(SecretHeader), r.Body)
	if err != nil && status >= 500 {
		c.log.Warn("telegram update not accepted; Telegram will retry", "err", err)
	}
	resp := channel.Response{Status: status}
	if status >= 400 {
		msg := "update not accepted"
		switch status {
		case http.StatusUnauthorized:
			msg = "wrong secret token"
		case http.StatusBadRequest:
			msg = "malformed update"
		}
		resp.ContentType = "application/json"
		resp.Body, _ = json.Marshal(map[string]string{"error": msg})
	}
	return resp
}

// Run registers the webhook or polls (see Adapter.Run).
func (c *liveChannel) Run(ctx context.Context) error {
	err := c.Adapter.Run(ctx, c.h, c.run)
	if err != nil && permanent(err) {
		return fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	return err
}

// Check asks getMe who the bot is.
func (c *liveChannel) Check(ctx context.Context) (channel.Account, error) {
	if err := c.Connect(ctx); err != nil {
		if permanent(err) {
			return channel.Account{}, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
		}
		return channel.Account{}, err
	}
	return accountOf(c.Username()), nil
}

func accountOf(username string) channel.Account {
	if username == "" {
		return channel.Account{}
	}
	link := "https://t.me/" + username
	return channel.Account{Name: "@" + username, Link: link, DeepLink: link + "?start={payload}"}
}

// Health reads getWebhookInfo: Telegram's last delivery error and the
// updates waiting for us.
func (c *liveChannel) Health(ctx context.Context) (channel.Health, error) {
	resp, err := c.call(ctx, "getWebhookInfo", nil)
	if err != nil {
		return channel.Health{}, fmt.Errorf("telegram: getWebhookInfo: %w", err)
	}
	var info struct {
		URL                string `json:"url"`
		PendingUpdateCount int    `json:"pending_update_count"`
		LastErrorDate      int64  `json:"last_error_date"`
		LastErrorMessage   string `json:"last_error_message"`
	}
	if err := json.Unmarshal(resp.Result, &info); err != nil {
		return channel.Health{}, fmt.Errorf("telegram: getWebhookInfo: %w", err)
	}
	h := channel.Health{LastError: info.LastErrorMessage, Pending: info.PendingUpdateCount, Webhook: c.redactString(info.URL)}
	if info.LastErrorDate > 0 {
		h.LastErrorAt = time.Unix(info.LastErrorDate, 0).UTC()
	}
	return h, nil
}

// Remove deletes the webhook of a channel that is being deleted, so
// Telegram stops calling us for it (pending updates are kept: the token
// may be connected again).
func (c *liveChannel) Remove(ctx context.Context) error {
	if c.run.WebhookURL == "" {
		return nil
	}
	return c.DeleteWebhook(ctx, false)
}
