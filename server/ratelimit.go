package server

import (
	"sync"
	"time"
)

// signinLimiter slows password guessing: after MaxPerLogin failed sign-ins
// for one login, or MaxPerIP from one client address, within Window, further
// attempts are refused (429 with Retry-After) until the oldest failure is
// older than Window. Refused attempts are not counted, so someone who waits
// gets in; a success clears the failures of its login.
//
// The counts live in this process's memory: with N replicas behind a load
// balancer an attacker gets up to N times the attempts, which still turns
// millions of guesses into a handful. The clock is injected for tests.
type signinLimiter struct {
	now         func() time.Time
	window      time.Duration
	maxPerLogin int
	maxPerIP    int
	// maxKeys bounds the memory one attacker spraying logins can take:
	// beyond it, keys without a failure in the window are dropped.
	maxKeys int

	mu    sync.Mutex
	fails map[string][]time.Time // "login\x00<login>" or "ip\x00<ip>" -> failure times, oldest first
}

// Sign-in limits: five wrong passwords for one login in five minutes, or
// twenty from one address (an office behind one NAT address shares it).
const (
	signinWindow      = 5 * time.Minute
	signinMaxPerLogin = 5
	signinMaxPerIP    = 20
)

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, window: signinWindow, maxPerLogin: signinMaxPerLogin, maxPerIP: signinMaxPerIP,
		maxKeys: 100_000, fails: map[string][]time.Time{}}
}

func loginKey(login string) string { return "login\x00" + login }
func ipKey(ip string) string       { return "ip\x00" + ip }

// blocked reports how long the caller must wait before trying to sign in as
// login from ip; 0 means go ahead.
func (l *signinLimiter) blocked(login, ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	wait := l.waitLocked(loginKey(login), l.maxPerLogin, now)
	return max(wait, l.waitLocked(ipKey(ip), l.maxPerIP, now))
}

// waitLocked drops a key's failures that left the window and, when limit
// remain, returns the time until the oldest leaves it.
func (l *signinLimiter) waitLocked(key string, limit int, now time.Time) time.Duration {
	ts := l.recentLocked(key, now)
	if len(ts) < limit {
		return 0
	}
	return ts[len(ts)-limit].Add(l.window).Sub(now)
}

func (l *signinLimiter) recentLocked(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].Add(l.window).After(now) {
		i++
	}
	if i == len(ts) {
		delete(l.fails, key)
		return nil
	}
	if i > 0 {
		ts = ts[i:]
		l.fails[key] = ts
	}
	return ts
}

// fail counts a failed sign-in.
func (l *signinLimiter) fail(login, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= l.maxKeys {
		for k := range l.fails {
			l.recentLocked(k, now)
		}
	}
	for _, k := range []string{loginKey(login), ipKey(ip)} {
		ts := l.recentLocked(k, now)
		// Only the newest max failures matter; the rest would only grow the slice.
		if len(ts) >= l.maxPerIP {
			ts = ts[1:]
		}
		l.fails[k] = append(ts, now)
	}
}

// succeed clears the failures of a login that just signed in; the address
// keeps its count, so one good account does not reset guessing at others.
func (l *signinLimiter) succeed(login string) {
	l.mu.Lock()
	delete(l.fails, loginKey(login))
	l.mu.Unlock()
}
