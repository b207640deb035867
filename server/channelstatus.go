package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/channel"
)

// channelStatuses returns every channel's state, sorted by bot then type
// (none without Config.Channels).
func (s *Server) channelStatuses() []channel.Status {
	if s.cfg.Channels == nil {
		return []channel.Status{}
	}
	out := s.cfg.Channels()
	slices.SortFunc(out, func(a, b channel.Status) int {
		return cmp.Or(cmp.Compare(a.Bot, b.Bot), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// ready reports whether this replica can take traffic: the store answers.
// Channels are listed with their states but do not change the answer: a
// messenger outage hits every replica alike, and the web chat, the builder,
// the API and the other bots still work here, so taking the replica out of
// a load balancer would only make things worse. Alert on "channels_ok"
// (or voronka_channel_up) instead.
func (s *Server) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "store unreachable", Details: err.Error()}
	}
	chs := s.channelStatuses()
	ok := true
	for _, ch := range chs {
		ok = ok && ch.State == channel.StateConnected
	}
	return c.JSON(fiber.Map{"status": "ready", "store": "ok", "channels_ok": ok, "channels": chs})
}

// channelMetrics writes voronka_channel_up: 1 for a connected channel, 0
// otherwise.
func (s *Server) channelMetrics(b *strings.Builder) {
	chs := s.channelStatuses()
	if len(chs) == 0 {
		return
	}
	b.WriteString("# HELP voronka_channel_up Whether a bot's channel is connected to its messenger (1) or not (0: connecting, degraded, failed).\n# TYPE voronka_channel_up gauge\n")
	for _, ch := range chs {
		up := 0
		if ch.State == channel.StateConnected {
			up = 1
		}
		fmt.Fprintf(b, "voronka_channel_up{bot=%q,type=%q} %d\n", ch.Bot, ch.Type, up)
	}
}
