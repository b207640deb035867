package server

import (
	"context"
	"log/slog"

	"github.com/voronka/voronka/adapters/webchat"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/live"
	"github.com/voronka/voronka/engine/store"
)

// webChatLive is a live channel set with the web chat only, as voronka
// serve builds it, whose hub checks hellos with bots.
func webChatLive(st store.Store, bots channel.BotInfo, h channel.Handler) *live.Set {
	reg, err := channel.NewRegistry(webchat.Type)
	if err != nil {
		panic(err)
	}
	set, err := live.New(live.Config{Store: st, Registry: reg, Owner: "test", Logger: slog.New(slog.DiscardHandler),
		Env: channel.Env{Bots: bots, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		panic(err)
	}
	set.SetHandler(h)
	return set
}

// anyBot lets every hello in.
type anyBot struct{}

func (anyBot) CheckBot(context.Context, string, string) error                    { return nil }
func (anyBot) HandoffText(context.Context, string) string                        { return "" }
func (anyBot) ChannelSettings(context.Context, string, string) map[string]string { return nil }
