package vk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// Caps: an inline keyboard of 10 buttons (40 as a standard keyboard),
// labels of 40 characters, texts split at 4,096; read receipts only; only
// people who wrote or allowed messages can be messaged.
var Caps = channel.Capabilities{ButtonsPerMessage: MaxInlineKeys, ButtonTitleLen: MaxLabel, TextLen: MaxText, ReadReceipts: true}

// Settings a VK channel reads: the community's id and the confirmation
// string of its callback server. The callback secret is the channel's
// secret, the community token its token.
var Settings = []string{"group_id", "confirmation"}

// Type is VK as a channel type.
var Type = channel.Type{
	Name: ChannelName, Title: "VK", Caps: Caps, Limits: Limits, NeedsToken: true, Settings: Settings,
	// Chats with a community are peer ids of people (below 2e9);
	// conversations are 2e9 and above.
	IsGroup: func(chat string) bool { n, _ := strconv.ParseInt(chat, 10, 64); return n >= 2_000_000_000 },
	Open:    msgkit.Opener(ChannelName, build),
}

func init() { channel.Register(Type) }

// build makes one bot's VK channel, its Callback API at POST /vk/{bot}.
func build(env channel.Env, cfg channel.Config, log *slog.Logger) (channel.Channel, error) {
	gid, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(cfg.Settings["group_id"]), "club"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: vk: group_id %q is not a community id (the number in vk.com/club<id>)", channel.ErrBadConfig, cfg.Settings["group_id"])
	}
	a, err := New(Config{BotID: cfg.Bot, GroupID: gid, Token: cfg.Token, Secret: cfg.Secret,
		Confirmation: strings.TrimSpace(cfg.Settings["confirmation"]), APIURL: cfg.APIURL, HTTPClient: env.HTTPClient, Logger: log})
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

// Routes serve POST /vk/{bot}.
func (c *liveChannel) Routes() []channel.Route {
	return msgkit.WebhookRoutes(func(ctx context.Context, req channel.WebhookRequest) channel.WebhookResponse {
		return c.Webhook(ctx, c.h, req)
	}, nil, nil, http.MethodPost)
}

// Check asks groups.getById about the community.
func (c *liveChannel) Check(ctx context.Context) (channel.Account, error) {
	name, err := c.Connect(ctx)
	if err != nil {
		if errors.Is(err, ErrTokenRejected) || strings.Contains(err.Error(), "belongs to community") {
			return channel.Account{}, fmt.Errorf("%w: %w", channel.ErrBadConfig, err)
		}
		return channel.Account{}, err
	}
	club := "club" + strconv.FormatInt(c.cfg.GroupID, 10)
	return channel.Account{Name: name, Link: "https://vk.com/" + club, DeepLink: "https://vk.me/" + club + "?ref={payload}"}, nil
}
