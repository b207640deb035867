package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// JobRetention is the kind of the periodic purge job.
const JobRetention = "retention"

// Keep is an age that keeps a kind of data for ever.
const Keep time.Duration = -1

// Retention says how long the store keeps what piles up, and how often a
// purge deletes what is older. Zero fields take the defaults in brackets;
// Keep (any negative age) keeps that kind for ever.
//
// What is kept for ever whatever these say: conversations (their state,
// contact and consent), flows, users, bots, pending jobs, and analytics
// rollups, the aggregates reports read (their own collection, when they
// come: a purge of raw events must never thin a report).
type Retention struct {
	// Every is how often the purge runs [1h]; negative turns it off.
	Every time.Duration
	// Jobs is the age of done and cancelled jobs (timers, webhook calls,
	// resends, expiries) past which they go [24h]. A job is kept after it
	// ran so scheduling it again is recognised as a duplicate; a day is
	// far beyond any retry of the same work.
	Jobs time.Duration
	// FailedJobs is the age of failed jobs past which they go [30 days],
	// long enough for an operator to look at why.
	FailedJobs time.Duration
	// Messages is the age of transcript lines past which they go [180 days].
	Messages time.Duration
	// Events is the age of raw analytics events past which they go [90 days].
	Events time.Duration
}

// Default retention ages; the README's Retention table states the same.
const (
	DefaultRetentionEvery   = time.Hour
	DefaultRetainJobs       = 24 * time.Hour
	DefaultRetainFailedJobs = 30 * 24 * time.Hour
	DefaultRetainMessages   = 180 * 24 * time.Hour
	DefaultRetainEvents     = 90 * 24 * time.Hour
)

// A purge job's id is the prefix and the start of its period, in UTC.
const (
	retentionJobPrefix    = JobRetention + ":"
	retentionPeriodFormat = "20060102T150405Z"
)

func (p Retention) withDefaults() Retention {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.Every, DefaultRetentionEvery)
	def(&p.Jobs, DefaultRetainJobs)
	def(&p.FailedJobs, DefaultRetainFailedJobs)
	def(&p.Messages, DefaultRetainMessages)
	def(&p.Events, DefaultRetainEvents)
	return p
}

// options turns ages into the cut-offs of a purge at now; a kept kind has
// a zero cut-off, which Purge skips.
func (p Retention) options(now time.Time) store.PurgeOptions {
	before := func(age time.Duration) time.Time {
		if age < 0 {
			return time.Time{}
		}
		return now.Add(-age)
	}
	return store.PurgeOptions{
		JobsBefore: before(p.Jobs), FailedJobsBefore: before(p.FailedJobs),
		MessagesBefore: before(p.Messages), EventsBefore: before(p.Events),
	}
}

// retentionJob is the purge job of the period that holds at: one id per
// period, so every replica schedules the same job and the job queue's
// lease runs it once.
func retentionJob(at time.Time, every time.Duration) store.Job {
	start := at.UTC().Truncate(every)
	return store.Job{ID: retentionJobPrefix + start.Format(retentionPeriodFormat), Kind: JobRetention, DueAt: start}
}

// scheduleRetention schedules the purge of the current period, at start-up.
// Each purge schedules the next period's, so the chain goes on from here;
// scheduling at every start mends a chain a failed schedule broke, and a
// period whose purge already ran is a duplicate that changes nothing.
func (r *Runtime) scheduleRetention(ctx context.Context) {
	p := r.opts.Retention.withDefaults()
	if p.Every < 0 {
		return
	}
	j := retentionJob(r.clock.Now(), p.Every)
	err := r.st.ScheduleJob(ctx, j)
	if err == nil || errors.Is(err, store.ErrDuplicate) {
		return
	}
	// Not fatal, and not worth holding up the job loop for: another
	// replica's start, or this one's next, schedules it.
	r.log.Error("schedule retention purge", "job", j.ID, "err", err)
	r.stats.errors.Add(1)
}

// runMaintenance runs the job kinds of housekeeping, and turns any other
// kind away for good (a job a newer release scheduled, say).
func (r *Runtime) runMaintenance(ctx context.Context, j store.Job) (time.Time, error) {
	if j.Kind != JobRetention {
		return time.Time{}, errPermanent{fmt.Errorf("unknown job kind %q", j.Kind)}
	}
	return r.retain(ctx, j)
}

// retain is one period's purge; a non-zero time asks to be run again then,
// to go on with a purge cut short. It schedules the next period's first, so
// a purge that keeps failing does not stop the ones after it; the next
// period is the one after now, not after this job's, so a process that was
// down for a week purges once, not once per missed period.
func (r *Runtime) retain(ctx context.Context, j store.Job) (time.Time, error) {
	p := r.opts.Retention.withDefaults()
	now := r.clock.Now()
	if p.Every >= 0 {
		next := retentionJob(now.Add(p.Every), p.Every)
		if err := r.st.ScheduleJob(ctx, next); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return time.Time{}, fmt.Errorf("schedule retention purge %s: %w", next.ID, err)
		}
	}
	// A purge that outlives the job's lease would be claimed and run a
	// second time beside itself: stop well before, and carry on in a new
	// claim (a purge cut short has deleted a part and goes on from there).
	pctx, cancel := context.WithTimeout(ctx, r.opts.JobLease/2)
	defer cancel()
	// Analytics rollups are not purged here, on purpose: raw events go
	// after Events, and the rollups built from them stay.
	res, err := r.st.Purge(pctx, p.options(now))
	r.log.Info("retention purge", "job", j.ID, "events", res.Events, "messages", res.Messages, "jobs", res.Jobs)
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		return now, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("retention purge: %w", err)
	}
	sessions, err := r.st.PurgeSessions(ctx, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("retention purge: sessions: %w", err)
	}
	r.log.Info("retention purge done", "job", j.ID, "sessions", sessions)
	return time.Time{}, nil
}

// recordsAge is the age past which an outbox item's records may be gone:
// its delivery events (the only proof that it went out) and the logs it
// carries. It is the shorter of the event and transcript ages, less a
// margin for the clocks of the replicas and a purge that ran a period
// early; 0 when the purge keeps both for ever.
func (p Retention) recordsAge() time.Duration {
	p = p.withDefaults()
	if p.Every < 0 {
		return 0
	}
	var age time.Duration
	for _, a := range []time.Duration{p.Events, p.Messages} {
		if a > 0 && (age == 0 || a < age) {
			age = a
		}
	}
	return age - min(24*time.Hour, age/4)
}

// pastRecords reports whether outbox item m is older than recordsAge. Such
// an item is taken as seen through, never sent or recorded again: it sits
// in the outbox only because its conversation has not been written since
// it went out (the next write prunes it), the purge may have deleted the
// delivery event that says so, so finding none proves nothing, and the
// logs it carries, appended again, would bring back purged lines and
// events. An item still unsent at that age is far past SendHorizon anyway.
func (r *Runtime) pastRecords(m store.OutMessage) bool {
	return r.recordsAge > 0 && !m.At.IsZero() && r.clock.Now().Sub(m.At) > r.recordsAge
}

// logsOf returns the logs item m carries that may still be appended.
func (r *Runtime) logsOf(m store.OutMessage) *store.PendingLogs {
	if r.pastRecords(m) {
		return nil
	}
	return m.Logs
}
