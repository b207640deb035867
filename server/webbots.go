package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// BotInfo answers the channel adapters' questions about bots
// (channel.BotInfo) from the store, the preview ids and the flows.
type BotInfo struct {
	st       store.Bots
	previews *PreviewBots
	flows    runtime.Flows
	log      *slog.Logger
}

// NewBotInfo returns the adapters' view of the bots. previews may be nil
// (no preview), flows nil (nobody hands off).
func NewBotInfo(st store.Bots, previews *PreviewBots, flows runtime.Flows, log *slog.Logger) *BotInfo {
	if log == nil {
		log = slog.Default()
	}
	return &BotInfo{st: st, previews: previews, flows: flows, log: log}
}

// CheckBot implements channel.BotInfo: bot is a bot of the store with a
// channel of type typ, or a preview id that passes PreviewBots.Check.
// Anything else is refused with an error wrapping channel.ErrUnknownBot,
// so a forged or revoked id gets a clear close instead of an error for
// every message.
func (b *BotInfo) CheckBot(ctx context.Context, typ, bot string) error {
	if strings.HasPrefix(bot, PreviewBotPrefix) {
		if b.previews == nil {
			return fmt.Errorf("%w: preview is off", channel.ErrUnknownBot)
		}
		_, err := b.previews.Check(ctx, bot)
		if errors.Is(err, ErrPreviewRefused) {
			return fmt.Errorf("%w: %w", channel.ErrUnknownBot, err)
		}
		return err
	}
	if !ValidID(bot) {
		return fmt.Errorf("%w: not a bot id", channel.ErrUnknownBot)
	}
	sb, err := b.st.GetBot(ctx, bot)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no bot %q", channel.ErrUnknownBot, bot)
	}
	if err != nil {
		return fmt.Errorf("check %s bot %s: %w", typ, bot, err)
	}
	if _, ok := channelOf(sb, typ); !ok {
		return fmt.Errorf("%w: bot %q has no %s channel", channel.ErrUnknownBot, bot, typ)
	}
	return nil
}

// HandoffText implements channel.BotInfo: the text that takes a
// conversation of bot to a person in the flow new conversations start on
// (engine.Program.HandoffText), or "" when it has none or cannot be loaded
// now — the widget then shows no "talk to a person" button, nothing worse.
func (b *BotInfo) HandoffText(ctx context.Context, bot string) string {
	if b.flows == nil {
		return ""
	}
	p, err := b.flows.Current(ctx, bot)
	if err != nil {
		if !errors.Is(err, runtime.ErrNoFlow) {
			b.log.Warn("cannot tell whether the bot hands off", "bot", bot, "err", err)
		}
		return ""
	}
	return p.HandoffText()
}

// ChannelSettings implements channel.BotInfo.
func (b *BotInfo) ChannelSettings(ctx context.Context, typ, bot string) map[string]string {
	if !ValidID(bot) {
		return nil
	}
	sb, err := b.st.GetBot(ctx, bot)
	if err != nil {
		return nil
	}
	c, ok := channelOf(sb, typ)
	if !ok {
		return nil
	}
	return maps.Clone(c.Settings)
}

// channelOf returns bot's channel of type typ.
func channelOf(b *store.Bot, typ string) (store.Channel, bool) {
	for _, c := range b.Channels {
		if c.Type == typ {
			return c, true
		}
	}
	return store.Channel{}, false
}
