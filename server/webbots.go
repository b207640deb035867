package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/voronka/voronka/adapters/webchat"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// WebChatBots is the web chat hub's Options.CheckBot: a hello may name a
// bot of the store that chats on the web, or a preview bot id that passes
// PreviewBots.Check (previews may be nil: no preview). Anything else is
// refused with an error wrapping webchat.ErrUnknownBot, so a forged or
// revoked id gets a clear close instead of an error for every message.
func WebChatBots(st store.Bots, previews *PreviewBots) func(ctx context.Context, bot string) error {
	return func(ctx context.Context, bot string) error {
		if strings.HasPrefix(bot, PreviewBotPrefix) {
			if previews == nil {
				return fmt.Errorf("%w: preview is off", webchat.ErrUnknownBot)
			}
			_, err := previews.Check(ctx, bot)
			if errors.Is(err, ErrPreviewRefused) {
				return fmt.Errorf("%w: %w", webchat.ErrUnknownBot, err)
			}
			return err
		}
		if !ValidID(bot) {
			return fmt.Errorf("%w: not a bot id", webchat.ErrUnknownBot)
		}
		b, err := st.GetBot(ctx, bot)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: no bot %q", webchat.ErrUnknownBot, bot)
		}
		if err != nil {
			return fmt.Errorf("check web chat bot %s: %w", bot, err)
		}
		if !slices.ContainsFunc(b.Channels, func(c store.Channel) bool { return c.Type == webchat.Channel }) {
			return fmt.Errorf("%w: bot %q does not chat on the web", webchat.ErrUnknownBot, bot)
		}
		return nil
	}
}

// WebChatHandoff is the web chat hub's Options.Handoff: the text that takes
// a conversation of bot to a person in the flow new conversations start on
// (engine.Program.HandoffText), or "" when it has none or cannot be loaded
// now — the widget then shows no "talk to a person" button, nothing worse.
func WebChatHandoff(flows runtime.Flows, log *slog.Logger) func(ctx context.Context, bot string) string {
	return func(ctx context.Context, bot string) string {
		p, err := flows.Current(ctx, bot)
		if err != nil {
			if !errors.Is(err, runtime.ErrNoFlow) {
				log.Warn("web chat: cannot tell whether the bot hands off", "bot", bot, "err", err)
			}
			return ""
		}
		return p.HandoffText()
	}
}
