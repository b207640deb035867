package channel

import (
	"sync"
	"time"
)

// State is how one channel of a bot is doing, as its adapter sees it.
type State string

// Channel states.
const (
	// StateConnecting: the first attempt to reach the platform is under way.
	StateConnecting State = "connecting"
	// StateConnected: the platform answered and updates can arrive.
	StateConnected State = "connected"
	// StateDegraded: the platform cannot be reached or answers with errors;
	// the adapter retries with back-off on its own.
	StateDegraded State = "degraded"
	// StateFailed: the platform refused for good (a token it rejects); no
	// retries until the configuration changes and the process restarts.
	StateFailed State = "failed"
)

// Status is one channel's state, for /readyz and the builder. LastError
// never contains a token: adapters redact it before reporting.
type Status struct {
	Bot   string `json:"bot"`
	Type  string `json:"type"` // "telegram", "web"…
	State State  `json:"state"`
	// Since is when State last changed.
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// NextRetry is when a degraded channel tries again; nil otherwise.
	NextRetry *time.Time `json:"next_retry,omitempty"`
	// Account is the bot's name on the platform (Telegram's @username),
	// once known.
	Account string `json:"account,omitempty"`
	// Mode is how updates arrive: "webhook", "polling", or "socket" (web).
	Mode string `json:"mode,omitempty"`
	// LastUpdate is when the last update from the platform was recorded
	// (by this replica, or by the one polling); zero when none yet.
	LastUpdate time.Time `json:"last_update,omitzero"`
}

// StatusTracker keeps one channel's Status up to date. It is safe for
// concurrent use; the zero value is not usable, use NewStatusTracker.
type StatusTracker struct {
	now func() time.Time
	mu  sync.Mutex
	st  Status
}

// NewStatusTracker starts a tracker in state connecting. now is the clock
// (time.Now outside tests).
func NewStatusTracker(bot, typ, mode string, now func() time.Time) *StatusTracker {
	return &StatusTracker{now: now, st: Status{Bot: bot, Type: typ, Mode: mode, State: StateConnecting, Since: now().UTC()}}
}

// Status returns a copy of the current status.
func (t *StatusTracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	if s.NextRetry != nil {
		n := *s.NextRetry
		s.NextRetry = &n
	}
	return s
}

// Connected records that the platform answered; the last error is kept
// out of the status from then on.
func (t *StatusTracker) Connected(account string) {
	t.set(StateConnected, "", time.Time{}, func(s *Status) {
		if account != "" {
			s.Account = account
		}
	})
}

// Degraded records a failure that will be retried at next (zero: unknown).
func (t *StatusTracker) Degraded(errText string, next time.Time) {
	t.set(StateDegraded, errText, next, nil)
}

// Failed records a permanent failure.
func (t *StatusTracker) Failed(errText string) {
	t.set(StateFailed, errText, time.Time{}, nil)
}

// SetMode changes how updates arrive (webhook or polling).
func (t *StatusTracker) SetMode(mode string) {
	t.mu.Lock()
	t.st.Mode = mode
	t.mu.Unlock()
}

func (t *StatusTracker) set(state State, errText string, next time.Time, also func(*Status)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st.State != state {
		t.st.State, t.st.Since = state, t.now().UTC()
	}
	t.st.LastError = errText
	t.st.NextRetry = nil
	if !next.IsZero() {
		n := next.UTC()
		t.st.NextRetry = &n
	}
	if also != nil {
		also(&t.st)
	}
}
