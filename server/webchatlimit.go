package server

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// WebChatLimits bound what anonymous visitors can hold open on the web chat
// socket. Zero fields take the defaults in brackets; a negative one turns
// that limit off.
type WebChatLimits struct {
	// MaxConns caps the open web chat connections of this process [10000].
	MaxConns int
	// MaxConnsPerAddr caps the open connections from one client address
	// (an IPv6 client counts by its /64, which one subscriber usually has
	// whole) [100].
	MaxConnsPerAddr int
	// NewSessionsPerMinute caps the new conversations one client address
	// starts per minute; resuming one is not counted [30].
	NewSessionsPerMinute int
}

// DefaultWebChatLimits are the defaults of zero WebChatLimits fields.
var DefaultWebChatLimits = WebChatLimits{MaxConns: 10_000, MaxConnsPerAddr: 100, NewSessionsPerMinute: 30}

func (l WebChatLimits) withDefaults() WebChatLimits {
	d := DefaultWebChatLimits
	if l.MaxConns != 0 {
		d.MaxConns = l.MaxConns
	}
	if l.MaxConnsPerAddr != 0 {
		d.MaxConnsPerAddr = l.MaxConnsPerAddr
	}
	if l.NewSessionsPerMinute != 0 {
		d.NewSessionsPerMinute = l.NewSessionsPerMinute
	}
	return d
}

// errLimit is a refusal by the web chat gate: Status before the upgrade,
// Close (a WebSocket close code) after it.
type errLimit struct {
	Status int
	Reason string
}

func (e *errLimit) Error() string { return e.Reason }

var (
	errServerFull   = &errLimit{Status: 503, Reason: "server busy: too many web chat connections, try again later"}
	errAddrFull     = &errLimit{Status: 429, Reason: "too many web chat connections from your address"}
	errSessionsRate = &errLimit{Status: 429, Reason: "too many new chats from your address, try again in a minute"}
)

// webChatGate counts web chat connections, in total and per client address,
// and new sessions per address and minute. Its maps lose their entries as
// connections close and minutes pass, and are rebuilt when they emptied
// out, since a Go map keeps the memory of its largest size.
type webChatGate struct {
	limits WebChatLimits
	now    func() time.Time

	mu      sync.Mutex
	open    int
	perAddr map[string]int
	peak    int // largest len(perAddr) since it was last made
	starts  map[string]*minute
	swept   time.Time
}

// minute counts the new sessions of one address in the minute from start.
type minute struct {
	start time.Time
	n     int
}

func newWebChatGate(l WebChatLimits, now func() time.Time) *webChatGate {
	return &webChatGate{limits: l.withDefaults(), now: now, perAddr: map[string]int{}, starts: map[string]*minute{}}
}

// WebChatConnections is how many web chat connections are open.
func (s *Server) WebChatConnections() int {
	s.webChat.mu.Lock()
	defer s.webChat.mu.Unlock()
	return s.webChat.open
}

// addrKey is the unit a per-address limit counts: the address, or for IPv6
// its /64.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// full reports, before an upgrade, whether a connection from addr would be
// refused; it takes nothing. The authoritative check is acquire, after the
// upgrade: this one saves the upgrade for most of a flood.
func (g *webChatGate) full(addr string) *errLimit {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.checkLocked(addrKey(addr))
}

func (g *webChatGate) checkLocked(key string) *errLimit {
	if g.limits.MaxConns > 0 && g.open >= g.limits.MaxConns {
		return errServerFull
	}
	if g.limits.MaxConnsPerAddr > 0 && g.perAddr[key] >= g.limits.MaxConnsPerAddr {
		return errAddrFull
	}
	return nil
}

// acquire counts a connection from addr, or refuses it; release undoes it
// once the connection ended.
func (g *webChatGate) acquire(addr string) (release func(), err *errLimit) {
	key := addrKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.checkLocked(key); err != nil {
		return nil, err
	}
	g.open++
	g.perAddr[key]++
	g.peak = max(g.peak, len(g.perAddr))
	var once sync.Once
	return func() { once.Do(func() { g.release(key) }) }, nil
}

func (g *webChatGate) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if g.perAddr[key]--; g.perAddr[key] <= 0 {
		delete(g.perAddr, key)
	}
	if len(g.perAddr) == 0 && g.peak > 64 {
		g.perAddr, g.peak = map[string]int{}, 0
	}
}

// newSession counts a new session started from addr, or refuses it.
func (g *webChatGate) newSession(addr string) error {
	if g.limits.NewSessionsPerMinute <= 0 {
		return nil
	}
	key := addrKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.sweepLocked(now)
	m := g.starts[key]
	if m == nil || now.Sub(m.start) >= time.Minute {
		m = &minute{start: now}
		g.starts[key] = m
	}
	if m.n >= g.limits.NewSessionsPerMinute {
		return errSessionsRate
	}
	m.n++
	return nil
}

// sweepLocked drops the counts of past minutes, at most once a minute, into
// a new map sized for what is left.
func (g *webChatGate) sweepLocked(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	fresh := make(map[string]*minute, len(g.starts)/2)
	for k, m := range g.starts {
		if now.Sub(m.start) < time.Minute {
			fresh[k] = m
		}
	}
	g.starts = fresh
}

// retryAfter is the Retry-After of a refusal, in seconds.
func (e *errLimit) retryAfter() string {
	if e == errSessionsRate {
		return strconv.Itoa(60)
	}
	return strconv.Itoa(10)
}

// String describes the limits for the start-up log.
func (l WebChatLimits) String() string {
	return fmt.Sprintf("%d connections, %d per address, %d new chats per address and minute",
		l.MaxConns, l.MaxConnsPerAddr, l.NewSessionsPerMinute)
}
