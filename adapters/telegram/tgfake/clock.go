package tgfake

import (
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
)

// Clock is the source of time for the fake: message dates, rate-limit
// buckets, callback-query validity, update expiry, long-poll timeouts and
// webhook retry back-off all read it (fakekit.Clock).
type Clock = fakekit.Clock

// SystemClock is the wall clock.
type SystemClock = fakekit.SystemClock

// ManualClock is a Clock that only moves when told to (fakekit.ManualClock).
type ManualClock = fakekit.ManualClock

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock { return fakekit.NewManualClock(start) }
