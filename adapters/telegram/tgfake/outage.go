package tgfake

import (
	"net/http"
	"strings"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
)

// Outage is a way the fake Bot API can be down, for tests of what a bot
// does while Telegram is unreachable (fakekit.Outage).
type Outage = fakekit.Outage

// Outages.
const (
	// OutageNone: the Bot API answers normally.
	OutageNone = fakekit.OutageNone
	// OutageBadGateway: every Bot API request gets 502 with the Bot API's
	// error envelope ("Bad Gateway"), as Telegram answers when its back end
	// is down.
	OutageBadGateway = fakekit.OutageBadGateway
	// OutageHang: requests get no answer until the outage ends (then they
	// are served) or the client gives up.
	OutageHang = fakekit.OutageHang
	// OutageReset: connections are reset without an answer.
	OutageReset = fakekit.OutageReset
)

// DescBadGateway is the description of OutageBadGateway's 502.
const DescBadGateway = "Bad Gateway"

// SetOutage makes every Bot API request fail the given way from now on,
// until SetOutage(OutageNone) or, if d > 0, for d of wall time. The control
// API keeps working, and simulated users can still write: their updates
// wait, as at Telegram, and arrive once the outage ends.
func (f *Fake) SetOutage(kind Outage, d time.Duration) error {
	if err := f.faults.SetOutage(kind, d); err != nil {
		return err
	}
	f.log.Debug("outage", "kind", kind, "for", d)
	return nil
}

// Outage returns the current outage and how many Bot API requests
// outages (and FailNext) have answered so far.
func (f *Fake) Outage() (Outage, int64) { return f.faults.Outage() }

// FailNext makes the next n Bot API calls of method (any method if "")
// fail with the Bot API error of code: 429 (with retry_after 1), 403
// (blocked), 400, or any 5xx.
func (f *Fake) FailNext(n int, method string, code int) { f.FailLater(0, n, method, code) }

// FailLater lets skip calls (of method, if given) through, then fails the
// next n with the Bot API error of code.
func (f *Fake) FailLater(skip, n int, method string, code int) {
	var match func(*http.Request) bool
	if method != "" {
		match = func(r *http.Request) bool {
			_, m, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
			return strings.EqualFold(m, method)
		}
	}
	f.faults.FailLater(skip, n, code, match)
}

// serveOutage answers r the way the current faults demand and reports
// whether it did; false means serve r normally.
func (f *Fake) serveOutage(w http.ResponseWriter, r *http.Request) bool {
	return f.faults.Serve(w, r, f.ctx.Done(), f.writeFault)
}

// writeFault writes the Bot API's error for code.
func (f *Fake) writeFault(w http.ResponseWriter, code int) {
	switch {
	case code == fakekit.CodeBadGateway:
		writeError(w, &apiError{code: http.StatusBadGateway, desc: DescBadGateway})
	case code == http.StatusTooManyRequests:
		f.tooMany.Add(1)
		writeError(w, tooMany(1))
	case code == http.StatusForbidden:
		writeError(w, forbidden(DescBlocked))
	case code >= 500:
		writeError(w, &apiError{code: code, desc: http.StatusText(code)})
	default:
		writeError(w, &apiError{code: code, desc: "Bad Request: injected failure"})
	}
}
