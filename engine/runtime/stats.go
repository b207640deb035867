package runtime

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds of the latency histograms, chosen
// around the 50 ms p99 target for one inbound message.
var latencyBuckets = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 5 * time.Second,
}

// Histogram is a cumulative latency histogram in the Prometheus shape:
// Counts[i] is how many observations were ≤ Bounds[i]; Count includes the
// ones above the last bound.
type Histogram struct {
	Bounds []time.Duration
	Counts []uint64
	Count  uint64
	Sum    time.Duration
}

type histogram struct {
	counts [len(latencyBuckets)]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	for i, b := range latencyBuckets {
		if d <= b {
			h.counts[i].Add(1)
			break
		}
	}
	h.count.Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: latencyBuckets[:], Counts: make([]uint64, len(latencyBuckets))}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		s.Counts[i] = cum
	}
	s.Count = h.count.Load()
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// Stats is a snapshot of the runtime's counters for the server's /metrics.
// Counters only grow over the life of the Runtime.
type Stats struct {
	Inbound    uint64 // updates handed to Handle
	Duplicates uint64 // updates dropped as already seen
	Steps      uint64 // engine steps committed (inbound, timers, webhooks…)
	StepErrors uint64 // steps whose Output.Err was set
	Conflicts  uint64 // conditional writes lost to another writer
	Errors     uint64 // Handle and job failures returned or retried

	Sent        uint64 // messages delivered
	SendFailed  uint64 // messages given up on
	SendRetries uint64 // retryable send failures (429, 5xx, network)
	Blocked     uint64 // chats found blocked while sending
	Resends     uint64 // outboxes adopted from a process whose lease ended

	JobsRun     uint64 // jobs executed
	JobsFailed  uint64 // jobs given up on (FailJob)
	TimersFired uint64 // timer jobs delivered to their conversation
	Webhooks    uint64 // webhook calls made

	// QueueDepth is the number of pending jobs (store.CountPendingJobs).
	QueueDepth int64
	// Sending is the number of conversations with an outbox being drained.
	Sending int64
	// JobsActive is the number of job batches being claimed or run.
	JobsActive int64

	HandleLatency Histogram // Handle end to end
	StepLatency   Histogram // engine.Step alone
}

type counters struct {
	inbound, duplicates, steps, stepErrors, conflicts, errors atomic.Uint64
	sent, sendFailed, sendRetries, blocked, resends           atomic.Uint64
	jobsRun, jobsFailed, timersFired, webhooks                atomic.Uint64
	handleLatency, stepLatency                                histogram
}

// Stats returns the current counters and the job queue depth; only the depth
// costs a store query.
func (r *Runtime) Stats(ctx context.Context) (Stats, error) {
	c := &r.stats
	s := Stats{
		Inbound: c.inbound.Load(), Duplicates: c.duplicates.Load(), Steps: c.steps.Load(),
		StepErrors: c.stepErrors.Load(), Conflicts: c.conflicts.Load(), Errors: c.errors.Load(),
		Sent: c.sent.Load(), SendFailed: c.sendFailed.Load(), SendRetries: c.sendRetries.Load(),
		Blocked: c.blocked.Load(), Resends: c.resends.Load(),
		JobsRun: c.jobsRun.Load(), JobsFailed: c.jobsFailed.Load(), TimersFired: c.timersFired.Load(),
		Webhooks:      c.webhooks.Load(),
		Sending:       r.out.active(),
		JobsActive:    r.jobsActive.Load(),
		HandleLatency: c.handleLatency.snapshot(),
		StepLatency:   c.stepLatency.snapshot(),
	}
	n, err := r.st.CountPendingJobs(ctx)
	if err != nil {
		return s, fmt.Errorf("runtime stats: %w", err)
	}
	s.QueueDepth = n
	return s, nil
}
