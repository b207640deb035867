package tgfake

import (
	"math"

	"github.com/voronka/voronka/adapters/fakekit"
)

// Limits are the flood limits on messages the bot sends (sendMessage and
// editMessageReplyMarkup). Zero fields take the real Telegram defaults
// from DefaultLimits; set Unlimited to switch flood control off.
type Limits struct {
	// Unlimited disables every limit.
	Unlimited bool
	// GlobalPerSecond and GlobalBurst bound the bot as a whole (≈30 msg/s).
	GlobalPerSecond float64
	GlobalBurst     int
	// PrivatePerSecond and PrivateBurst bound one private chat (≈1 msg/s,
	// short bursts tolerated).
	PrivatePerSecond float64
	PrivateBurst     int
	// GroupPerMinute and GroupBurst bound one group chat (20 msg/min).
	GroupPerMinute float64
	GroupBurst     int
}

// DefaultLimits returns the limits of the real Bot API (Bot FAQ).
func DefaultLimits() Limits {
	return Limits{
		GlobalPerSecond:  30,
		GlobalBurst:      30,
		PrivatePerSecond: 1,
		PrivateBurst:     3,
		GroupPerMinute:   20,
		GroupBurst:       20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.GlobalPerSecond <= 0 {
		l.GlobalPerSecond = d.GlobalPerSecond
	}
	if l.GlobalBurst <= 0 {
		l.GlobalBurst = max(d.GlobalBurst, int(math.Ceil(l.GlobalPerSecond)))
	}
	if l.PrivatePerSecond <= 0 {
		l.PrivatePerSecond = d.PrivatePerSecond
	}
	if l.PrivateBurst <= 0 {
		l.PrivateBurst = max(d.PrivateBurst, int(math.Ceil(l.PrivatePerSecond)))
	}
	if l.GroupPerMinute <= 0 {
		l.GroupPerMinute = d.GroupPerMinute
	}
	if l.GroupBurst <= 0 {
		l.GroupBurst = max(d.GroupBurst, int(math.Ceil(l.GroupPerMinute)))
	}
	return l
}

// bucket is a token bucket on the injected clock (fakekit.Bucket).
type bucket = fakekit.Bucket
