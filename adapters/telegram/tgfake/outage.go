package tgfake

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Outage is a way the fake Bot API can be down, for tests of what a bot
// does while Telegram is unreachable.
type Outage string

// Outages.
const (
	// OutageNone: the Bot API answers normally.
	OutageNone Outage = ""
	// OutageBadGateway: every Bot API request gets 502 with the Bot API's
	// error envelope ("Bad Gateway"), as Telegram answers when its back end
	// is down.
	OutageBadGateway Outage = "502"
	// OutageHang: requests get no answer until the outage ends (then they
	// are served) or the client gives up.
	OutageHang Outage = "hang"
	// OutageReset: connections are reset without an answer.
	OutageReset Outage = "reset"
)

// DescBadGateway is the description of OutageBadGateway's 502.
const DescBadGateway = "Bad Gateway"

// outage is the fake's current outage; the zero value is none.
type outage struct {
	mu    sync.Mutex
	kind  Outage
	over  chan struct{} // closed when the current outage ends
	timer *time.Timer
	hits  int64 // requests answered by an outage
}

// SetOutage makes every Bot API request fail the given way from now on,
// until SetOutage(OutageNone) or, if d > 0, for d of wall time. The control
// API keeps working, and simulated users can still write: their updates
// wait, as at Telegram, and arrive once the outage ends.
func (f *Fake) SetOutage(kind Outage, d time.Duration) error {
	switch kind {
	case OutageNone, OutageBadGateway, OutageHang, OutageReset:
	default:
		return fmt.Errorf("unknown outage %q (want \"\", %q, %q or %q)", kind, OutageBadGateway, OutageHang, OutageReset)
	}
	o := &f.outage
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	if o.over != nil {
		close(o.over)
		o.over = nil
	}
	o.kind = kind
	if kind == OutageNone {
		return nil
	}
	o.over = make(chan struct{})
	if d > 0 {
		over := o.over
		o.timer = time.AfterFunc(d, func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			if o.over == over { // not replaced by a later SetOutage
				close(o.over)
				o.over, o.kind, o.timer = nil, OutageNone, nil
			}
		})
	}
	f.log.Debug("outage", "kind", kind, "for", d)
	return nil
}

// Outage returns the current outage and how many Bot API requests
// outages have answered so far.
func (f *Fake) Outage() (Outage, int64) {
	f.outage.mu.Lock()
	defer f.outage.mu.Unlock()
	return f.outage.kind, f.outage.hits
}

// serveOutage answers r the way the current outage demands and reports
// whether it did; false means serve r normally.
func (f *Fake) serveOutage(w http.ResponseWriter, r *http.Request) bool {
	o := &f.outage
	o.mu.Lock()
	kind, over := o.kind, o.over
	if kind != OutageNone {
		o.hits++
	}
	o.mu.Unlock()
	switch kind {
	case OutageBadGateway:
		writeError(w, &apiError{code: http.StatusBadGateway, desc: DescBadGateway})
		return true
	case OutageHang:
		select {
		case <-over:
			return false
		case <-r.Context().Done():
			return true
		case <-f.ctx.Done():
			return true
		}
	case OutageReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			writeError(w, &apiError{code: http.StatusBadGateway, desc: DescBadGateway})
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
