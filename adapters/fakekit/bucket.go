package fakekit

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket on a fake's clock. The zero value is an
// untouched, full bucket. It is not safe for concurrent use: the fake
// guards it with its own lock (or uses Limiter).
type Bucket struct {
	tokens  float64
	last    time.Time
	touched bool
}

// Refill brings the bucket up to now and returns its tokens.
func (b *Bucket) Refill(now time.Time, rate float64, burst int) float64 {
	if !b.touched {
		b.tokens, b.last, b.touched = float64(burst), now, true
		return b.tokens
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+dt*rate)
		b.last = now
	}
	return b.tokens
}

// Wait returns 0 when a token is available now, else the whole seconds
// (at least 1) until one is.
func (b *Bucket) Wait(now time.Time, rate float64, burst int) int {
	t := b.Refill(now, rate, burst)
	if t >= 1 {
		return 0
	}
	return max(1, int(math.Ceil((1-t)/rate)))
}

// Take spends one token.
func (b *Bucket) Take() { b.tokens-- }

// Rate is one limit: Per tokens a second with bursts of Burst. A zero
// Rate never limits.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) off() bool { return r.PerSecond <= 0 }

func (r Rate) burst() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return max(1, int(math.Ceil(r.PerSecond)))
}

// Limiter is a platform's limits on what a bot sends: one bucket for the
// bot and one per chat. It is safe for concurrent use.
type Limiter struct {
	clock   Clock
	global  Rate
	perChat Rate
	mu      sync.Mutex
	bot     Bucket
	chats   map[string]*Bucket
}

// NewLimiter returns a limiter on clock; a zero Rate switches that limit
// off.
func NewLimiter(clock Clock, global, perChat Rate) *Limiter {
	return &Limiter{clock: clock, global: global, perChat: perChat, chats: map[string]*Bucket{}}
}

// Allow takes a token for chat from both buckets, or takes none and
// returns the whole seconds until both have one.
func (l *Limiter) Allow(chat string) (wait int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var cb *Bucket
	if !l.perChat.off() {
		cb = l.chats[chat]
		if cb == nil {
			cb = &Bucket{}
			l.chats[chat] = cb
		}
		wait = cb.Wait(now, l.perChat.PerSecond, l.perChat.burst())
	}
	if !l.global.off() {
		wait = max(wait, l.bot.Wait(now, l.global.PerSecond, l.global.burst()))
	}
	if wait > 0 {
		return wait
	}
	if cb != nil {
		cb.Take()
	}
	if !l.global.off() {
		l.bot.Take()
	}
	return 0
}
