package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/store"
)

// errPermanent marks a job that can never succeed (a payload this release
// cannot read): it fails at once instead of retrying.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// jobLoop claims due jobs and runs them on JobWorkers workers. It claims the
// next batch as soon as the last jobs of a batch have a worker, so claiming
// overlaps with running and no worker waits for a batch's slowest job. It
// returns when ctx ends, once the jobs it claimed have run.
func (r *Runtime) jobLoop(ctx context.Context) {
	workers := make(chan struct{}, r.opts.JobWorkers)
	var running sync.WaitGroup
	defer running.Wait()
	for {
		n, batch, err := r.startDueJobs(ctx, workers)
		if batch != nil {
			running.Add(1)
			go func() {
				defer running.Done()
				batch.Wait()
				r.jobsActive.Add(-1)
			}()
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Error("run due jobs", "err", err)
			r.stats.errors.Add(1)
		} else if n >= r.opts.JobBatch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(r.opts.JobPoll):
		case <-r.wake:
		}
	}
}

// RunDueJobs claims the jobs due now (one batch) and runs them to the end,
// returning how many it ran. Tests call it to step the scheduler without
// waiting for a poll.
func (r *Runtime) RunDueJobs(ctx context.Context) (int, error) {
	n, batch, err := r.startDueJobs(ctx, make(chan struct{}, r.opts.JobWorkers))
	if batch != nil {
		batch.Wait()
		r.jobsActive.Add(-1)
	}
	return n, err
}

// startDueJobs claims a batch of due jobs and starts each on a worker
// (a slot in workers), waiting for free workers as needed. Unless the claim
// failed, the batch counts in jobsActive until the caller has seen it finish
// (batch.Wait) and taken it off.
func (r *Runtime) startDueJobs(ctx context.Context, workers chan struct{}) (int, *sync.WaitGroup, error) {
	r.jobsActive.Add(1)
	jobs, err := r.st.ClaimJobs(ctx, r.opts.Owner, r.clock.Now(), r.opts.JobBatch, r.opts.JobLease)
	if err != nil {
		r.jobsActive.Add(-1)
		return 0, nil, fmt.Errorf("claim jobs: %w", err)
	}
	var batch sync.WaitGroup
	for _, j := range jobs {
		workers <- struct{}{}
		batch.Add(1)
		go func() {
			defer func() { <-workers; batch.Done() }()
			// Claimed jobs run to the end even when the loop stops: only a
			// Shutdown past its deadline cancels them (and the lease expires).
			r.runJob(r.bg, j)
		}()
	}
	return len(jobs), &batch, nil
}

func (r *Runtime) runJob(ctx context.Context, j store.Job) {
	r.stats.jobsRun.Add(1)
	var next time.Time
	var err error
	switch j.Kind {
	case JobTimer:
		err = r.fireTimer(ctx, j)
	case JobWebhook:
		err = r.runWebhook(ctx, j)
	case JobResend:
		next, err = r.resend(ctx, j)
	case JobExpire:
		next, err = r.expire(ctx, j)
	default:
		next, err = r.runMaintenance(ctx, j)
	}
	owner := r.opts.Owner
	log := r.log.With("job", j.ID, "kind", j.Kind)
	switch {
	case err == nil && next.IsZero():
		err = r.st.CompleteJob(ctx, j.ID, owner)
	case err == nil:
		err = r.st.RetryJobLater(ctx, j.ID, owner, next, "")
	default:
		r.stats.errors.Add(1)
		var perm errPermanent
		if errors.As(err, &perm) || j.Attempts+1 >= r.opts.JobAttempts {
			r.stats.jobsFailed.Add(1)
			log.Error("job failed for good", "attempts", j.Attempts+1, "err", err)
			err = r.st.FailJob(ctx, j.ID, owner, err.Error())
		} else {
			at := r.clock.Now().Add(r.backoff(r.opts.JobBackoff, 10*time.Minute, j.Attempts+1))
			log.Warn("job failed, retrying", "attempts", j.Attempts+1, "at", at, "err", err)
			err = r.st.RetryJobLater(ctx, j.ID, owner, at, err.Error())
		}
	}
	if err != nil {
		// Most likely our lease expired and another process has the job:
		// it runs again there, and every job is safe to repeat.
		log.Warn("finish job", "err", err)
	}
}

// fireTimer delivers a timer to its conversation; a timer the conversation
// moved past is dropped by the engine and the job completes all the same.
func (r *Runtime) fireTimer(ctx context.Context, j store.Job) error {
	id, err := strconv.ParseUint(string(j.Payload), 10, 32)
	if err != nil {
		return errPermanent{fmt.Errorf("timer payload %q: %w", j.Payload, err)}
	}
	r.stats.timersFired.Add(1)
	res, err := r.commit(ctx, op{convID: j.Target, key: "timer:" + strconv.FormatUint(id, 10), step: true,
		input: engine.Input{Kind: engine.InputTimer, Timer: uint32(id)}})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the conversation is gone
	}
	if err != nil {
		return err
	}
	r.finish(ctx, res)
	return nil
}

// runWebhook makes the call and feeds the result back as InputWebhook. A
// crash after the call and before the write repeats the call: webhook
// receivers see at-least-once delivery.
func (r *Runtime) runWebhook(ctx context.Context, j store.Job) error {
	var call engine.WebhookCall
	if err := json.Unmarshal(j.Payload, &call); err != nil {
		return errPermanent{fmt.Errorf("webhook payload: %w", err)}
	}
	if st, _, err := r.stateOf(ctx, j.Target); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	} else if st.Webhook != call.ID || st.Wait != engine.WaitWebhook {
		return nil // the conversation moved on; do not call for nothing
	}
	r.stats.webhooks.Add(1)
	result := r.callHTTP(ctx, &call)
	res, err := r.commit(ctx, op{convID: j.Target, key: "webhook:" + strconv.FormatUint(uint64(call.ID), 10), step: true,
		input: engine.Input{Kind: engine.InputWebhook, Webhook: &result}})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.finish(ctx, res)
	return nil
}

func (r *Runtime) callHTTP(ctx context.Context, call *engine.WebhookCall) engine.WebhookResult {
	res := engine.WebhookResult{ID: call.ID}
	ctx, cancel := context.WithTimeout(ctx, r.opts.WebhookTimeout)
	defer cancel()
	var body io.Reader
	if call.Body != nil {
		body = bytes.NewReader(call.Body)
	}
	method := call.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, call.URL, body)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	for _, h := range call.Headers {
		req.Header.Add(h[0], h[1])
	}
	if call.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.opts.WebhookMaxBody+1))
	switch {
	case err != nil:
		res.Err = "read response: " + err.Error()
	case int64(len(data)) > r.opts.WebhookMaxBody:
		res.Err = fmt.Sprintf("response larger than %d bytes", r.opts.WebhookMaxBody)
	default:
		res.Body = data
	}
	return res
}

// resend serves the resend jobs earlier releases scheduled for every
// written outbox: leases replaced them, so the job only makes sure the
// outbox is delivered (adopting items whose owner is gone) and completes.
func (r *Runtime) resend(ctx context.Context, j store.Job) (time.Time, error) {
	if _, err := r.fresh(ctx, j.Target); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	mine, err := r.claim(ctx, j.Target)
	if err != nil {
		return time.Time{}, err
	}
	if mine {
		r.out.kick(j.Target)
	}
	return time.Time{}, nil
}

// expire ends a run idle past its flow's expire. The job is scheduled once
// per run and moves itself to the new deadline while the person is active,
// so activity costs no job writes.
func (r *Runtime) expire(ctx context.Context, j store.Job) (time.Time, error) {
	st, p, err := r.stateOf(ctx, j.Target)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	if st.Status == engine.StatusEnded || expireJobID(j.Target, st.Started) != j.ID {
		return time.Time{}, nil // ended, or a later run has its own job
	}
	last := st.LastActive
	if last.Before(st.Started) {
		last = st.Started
	}
	if due := last.Add(p.Flow.Expire); due.After(r.clock.Now()) {
		return due, nil
	}
	res, err := r.commit(ctx, op{convID: j.Target, key: "expire:" + strings.TrimPrefix(j.ID, j.Target+":expire:"), step: true,
		input: engine.Input{Kind: engine.InputExpire}})
	if err != nil {
		return time.Time{}, err
	}
	r.finish(ctx, res)
	return time.Time{}, nil
}

// fresh reads a conversation from the store and refreshes the cache when
// the store has a newer version (written by another process).
//
// The read is made without the stripe lock, so a step may commit a later
// version before the lock is taken: offer keeps the cache from going back.
func (r *Runtime) fresh(ctx context.Context, id string) (*store.Conversation, error) {
	c, err := r.st.GetConversation(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	s := r.locks.of(id)
	s.mu.Lock()
	s.offer(id, c, r.opts.CachePerStripe)
	s.mu.Unlock()
	return c, nil
}

// stateOf decodes a conversation's current state with its pinned program.
func (r *Runtime) stateOf(ctx context.Context, id string) (*engine.State, *engine.Program, error) {
	conv, err := r.fresh(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if len(conv.State) == 0 {
		return nil, nil, fmt.Errorf("conversation %s has no state: %w", id, store.ErrNotFound)
	}
	p, err := r.flows.Program(ctx, conv.Bot, conv.FlowID, conv.FlowVersion)
	if err != nil {
		return nil, nil, err
	}
	st, err := engine.DecodeState(conv.State, p)
	if err != nil {
		return nil, nil, errPermanent{fmt.Errorf("conversation %s: %w", id, err)}
	}
	return st, p, nil
}
