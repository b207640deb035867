package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// Caps: 3 reply buttons or a list of 10 rows (titles ≤ 20 shown whole as
// buttons, 24 in a list), 4,096 characters, delivery and read receipts; a
// business may write first with an approved template.
var Caps = channel.Capabilities{ButtonsPerMessage: MaxRows, ButtonTitleLen: MaxButtonTitle, ListAbove: MaxButtons, TextLen: MaxText,
	DeliveryReceipts: true, ReadReceipts: true, StartsConversations: true, FreeFormWindow: Window}

// Settings a WhatsApp channel reads: the phone number id, the verify
// token Meta's console sends, and the label of a list's button. The app
// secret is the channel's secret, the access token its token.
var Settings = []string{"phone_number_id", "verify_token", "list_button"}

// Type is WhatsApp as a channel type.
var Type = channel.Type{
	Name: ChannelName, Title: "WhatsApp", Caps: Caps, Limits: Limits, NeedsToken: true, Settings: Settings,
	IsGroup: func(string) bool { return false },
	Open:    msgkit.Opener(ChannelName, build),
}

func init() { channel.Register(Type) }

// build makes one bot's WhatsApp channel: its webhook at /whatsapp/{bot}
// (GET for Meta's verification, POST for messages and statuses).
func build(env channel.Env, cfg channel.Config, log *slog.Logger) (channel.Channel, error) {
	a, err := New(Config{BotID: cfg.Bot, PhoneNumberID: strings.TrimSpace(cfg.Settings["phone_number_id"]), Token: cfg.Token,
		AppSecret: cfg.Secret, VerifyToken: cfg.Settings["verify_token"], APIURL: cfg.APIURL, HTTPClient: env.HTTPClient,
		Logger: log, ListButton: cfg.Settings["list_button"]})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
	}
	if env.Now != nil {
		a.now = env.Now
	}
	return &liveChannel{Adapter: a, h: env.Handler}, nil
}

type liveChannel struct {
	*Adapter
	h channel.Handler
}

// Routes serve GET (Meta's verification) and POST /whatsapp/{bot}.
func (c *liveChannel) Routes() []channel.Route {
	return msgkit.WebhookRoutes(func(ctx context.Context, req channel.WebhookRequest) channel.WebhookResponse {
		return c.Webhook(ctx, c.h, req)
	}, []string{"hub.mode", "hub.verify_token", "hub.challenge"}, []string{SignatureHeader}, http.MethodGet, http.MethodPost)
}

// Check asks the Graph API about the phone number: its verified name and
// number, and a wa.me link to it.
func (c *liveChannel) Check(ctx context.Context) (channel.Account, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u := c.cfg.APIURL + "/" + APIVersion + "/" + c.cfg.PhoneNumberID + "?fields=display_phone_number,verified_name"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return channel.Account{}, fmt.Errorf("%w: %w", channel.ErrBadConfig, c.redact.Err(err))
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return channel.Account{}, c.redact.Err(fmt.Errorf("whatsapp: check the phone number: %w", err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var out struct {
		Display  string    `json:"display_phone_number"`
		Verified string    `json:"verified_name"`
		Error    *apiError `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return channel.Account{}, fmt.Errorf("whatsapp: check the phone number: HTTP %d, not a Graph answer", resp.StatusCode)
	}
	if out.Error != nil {
		out.Error.Status = resp.StatusCode
		out.Error.Message = c.redact.String(out.Error.Message)
		c.status.Failed(out.Error.Error())
		return channel.Account{}, fmt.Errorf("%w: %w", channel.ErrBadConfig, out.Error)
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, out.Display)
	name := out.Verified
	if out.Display != "" {
		name = strings.TrimSpace(name + " " + out.Display)
	}
	c.status.Connected(name)
	acct := channel.Account{Name: name}
	if digits != "" {
		acct.Link = "https://wa.me/" + digits
		acct.DeepLink = acct.Link + "?text={payload}"
	}
	return acct, nil
}
