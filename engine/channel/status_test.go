package channel

import (
	"testing"
	"time"
)

func TestStatusTrackerKeepsSinceUntilTheStateChanges(t *testing.T) {
	now := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tr := NewStatusTracker("shop", "telegram", "polling", clock)
	if s := tr.Status(); s.State != StateConnecting || !s.Since.Equal(now) || s.Bot != "shop" || s.Mode != "polling" {
		t.Fatalf("new tracker = %+v", s)
	}
	steps := []struct {
		at    time.Duration
		do    func()
		state State
		since time.Duration // since the start
		err   string
		retry bool
	}{
		{1 * time.Second, func() { tr.Degraded("502", now.Add(time.Second)) }, StateDegraded, 1 * time.Second, "502", true},
		// Still degraded: since stays at the first failure, the error is the latest.
		{3 * time.Second, func() { tr.Degraded("reset", now.Add(2*time.Second)) }, StateDegraded, 1 * time.Second, "reset", true},
		{6 * time.Second, func() { tr.Connected("shop_bot") }, StateConnected, 6 * time.Second, "", false},
		{9 * time.Second, func() { tr.Failed("rejected") }, StateFailed, 9 * time.Second, "rejected", false},
	}
	start := now
	for i, s := range steps {
		now = start.Add(s.at)
		s.do()
		got := tr.Status()
		if got.State != s.state || !got.Since.Equal(start.Add(s.since)) || got.LastError != s.err || (got.NextRetry != nil) != s.retry {
			t.Fatalf("step %d: status %+v, want %s since +%v, error %q, next retry %v", i, got, s.state, s.since, s.err, s.retry)
		}
	}
	if got := tr.Status(); got.Account != "shop_bot" {
		t.Fatalf("account = %q, want it kept after connecting", got.Account)
	}
	// A copy does not share NextRetry with the tracker.
	tr.Degraded("x", now.Add(time.Minute))
	a := tr.Status()
	*a.NextRetry = time.Time{}
	if b := tr.Status(); b.NextRetry.IsZero() {
		t.Fatal("changing a returned status changed the tracker")
	}
}
