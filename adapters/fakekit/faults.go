package fakekit

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Outage is a way a fake platform API can be down, for tests of what a bot
// does while the platform is unreachable.
type Outage string

// Outages.
const (
	// OutageNone: the API answers normally.
	OutageNone Outage = ""
	// OutageBadGateway: every API request gets 502, in the platform's
	// error envelope where it has one.
	OutageBadGateway Outage = "502"
	// OutageHang: requests get no answer until the outage ends (then they
	// are served) or the client gives up.
	OutageHang Outage = "hang"
	// OutageReset: connections are reset without an answer.
	OutageReset Outage = "reset"
)

// CodeBadGateway is the code Faults passes to the ErrorWriter for
// OutageBadGateway.
const CodeBadGateway = http.StatusBadGateway

// ErrorWriter answers a request with the platform's error for code: an
// HTTP status for outages (502), or a platform error code for FailNext
// (Telegram 429, WhatsApp 130429, Viber 12, VK 9…).
type ErrorWriter func(w http.ResponseWriter, code int)

// Faults are the failures injected into a fake's API: an outage, and the
// next N calls failing with a code. The zero value injects nothing; it is
// safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	kind  Outage
	over  chan struct{} // closed when the current outage ends
	timer *time.Timer
	hits  int64 // requests answered by an outage or a failure

	failSkip int
	failN    int
	failCode int
	// failMatch limits FailNext to requests it accepts (nil: every call).
	failMatch func(*http.Request) bool
}

// SetOutage makes every API request fail the given way from now on, until
// SetOutage(OutageNone) or, if d > 0, for d of wall time.
func (f *Faults) SetOutage(kind Outage, d time.Duration) error {
	switch kind {
	case OutageNone, OutageBadGateway, OutageHang, OutageReset:
	default:
		return fmt.Errorf("unknown outage %q (want \"\", %q, %q or %q)", kind, OutageBadGateway, OutageHang, OutageReset)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if f.over != nil {
		close(f.over)
		f.over = nil
	}
	f.kind = kind
	if kind == OutageNone {
		return nil
	}
	f.over = make(chan struct{})
	if d > 0 {
		over := f.over
		f.timer = time.AfterFunc(d, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.over == over { // not replaced by a later SetOutage
				close(f.over)
				f.over, f.kind, f.timer = nil, OutageNone, nil
			}
		})
	}
	return nil
}

// Outage returns the current outage and how many requests faults have
// answered so far.
func (f *Faults) Outage() (Outage, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kind, f.hits
}

// FailNext makes the next n API calls that match (nil: any call) fail with
// the platform error code; n = 0 cancels it.
func (f *Faults) FailNext(n, code int, match func(*http.Request) bool) {
	f.FailLater(0, n, code, match)
}

// FailLater lets skip matching calls through, then fails the next n with
// code: the second part of a split message, say.
func (f *Faults) FailLater(skip, n, code int, match func(*http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSkip, f.failN, f.failCode, f.failMatch = skip, n, code, match
}

// Reset ends any outage and pending failures.
func (f *Faults) Reset() {
	_ = f.SetOutage(OutageNone, 0)
	f.FailNext(0, 0, nil)
}

// Serve answers r the way the current faults demand and reports whether it
// did; false means serve r normally. done ends a hang (the fake closing).
func (f *Faults) Serve(w http.ResponseWriter, r *http.Request, done <-chan struct{}, write ErrorWriter) bool {
	f.mu.Lock()
	kind, over := f.kind, f.over
	fail := 0
	if kind == OutageNone && f.failN > 0 && (f.failMatch == nil || f.failMatch(r)) {
		if f.failSkip > 0 {
			f.failSkip--
		} else {
			f.failN--
			fail = f.failCode
		}
	}
	if kind != OutageNone || fail != 0 {
		f.hits++
	}
	f.mu.Unlock()
	if fail != 0 {
		write(w, fail)
		return true
	}
	switch kind {
	case OutageBadGateway:
		write(w, CodeBadGateway)
		return true
	case OutageHang:
		select {
		case <-over:
			return false
		case <-r.Context().Done():
			return true
		case <-done:
			return true
		}
	case OutageReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			write(w, CodeBadGateway)
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return true
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = conn.Close()
		return true
	}
	return false
}
