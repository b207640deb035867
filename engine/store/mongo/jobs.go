package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/voronka/voronka/engine/store"
)

// ScheduleJob implements store.Jobs.
func (s *Store) ScheduleJob(ctx context.Context, j store.Job) error {
	if j.ID == "" {
		return fmt.Errorf("schedule job: empty id")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	now := time.Now().UTC()
	j.Status = store.JobPending
	j.LeaseOwner, j.LeaseUntil, j.Rev = "", time.Time{}, 1
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	j.UpdatedAt = now
	if _, err := s.jobs.InsertOne(ctx, &j); err != nil {
		return fmt.Errorf("schedule job %s: %w", j.ID, duplicate(err))
	}
	s.cands.noteDue(j.DueAt)
	return nil
}

// GetJob implements store.Jobs.
func (s *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	j, err := s.getJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	if s.guard && j.Status == store.JobPending {
		l, err := s.getLease(ctx, j.ID, j.Rev)
		if err != nil {
			return nil, fmt.Errorf("get job %s: %w", id, err)
		}
		if l != nil {
			j.LeaseOwner, j.LeaseUntil = l.Owner, l.Until
		}
	}
	return j, nil
}

func (s *Store) getJob(ctx context.Context, id string) (*store.Job, error) {
	var j store.Job
	if err := s.jobs.FindOne(ctx, bson.M{"_id": id}).Decode(&j); err != nil {
		return nil, notFound(err)
	}
	return &j, nil
}

// writeJob stores j (revision j.Rev+1) if the stored revision is still j.Rev;
// j.UpdatedAt must be the stored value (it tells whether a guard can be stale).
func (s *Store) writeJob(ctx context.Context, j *store.Job) (bool, error) {
	next := *j
	next.Rev++
	next.UpdatedAt = time.Now().UTC()
	fresh := time.Since(j.UpdatedAt) < s.opts.GuardTTL/2
	ok, err := s.replaceIf(ctx, s.jobs, j.ID, "rev", j.Rev, fresh, &next)
	if errors.Is(err, store.ErrVersionConflict) {
		return false, nil
	}
	if ok {
		*j = next
	}
	return ok, err
}

// ClaimJobs implements store.Jobs: read a window of due candidates through
// the (status, due_at) index, then lease them. Without contention the
// earliest due win; once a lease is lost to another replica the rest of the
// window is tried in random order, so N replicas polling at once spread over
// the queue instead of colliding on its head. Guarded (FerretDB), a wide
// window serves several claims (see candidates).
func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Job, error) {
	limit = store.ClampLimit(limit)
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var claimed []store.Job
	var err error
	if s.guard {
		claimed, err = s.claimGuarded(ctx, owner, now, limit, lease)
	} else {
		var cands []store.Job
		cands, err = s.dueJobs(ctx, now, min(10*limit+50, store.MaxLimit))
		if err == nil {
			claimed, err = s.claimByWrite(ctx, owner, now, limit, lease, cands)
		}
	}
	slices.SortFunc(claimed, func(a, b store.Job) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if err != nil {
		return claimed, fmt.Errorf("claim jobs for %s: %w", owner, err)
	}
	return claimed, nil
}

// dueJobs reads up to window claimable jobs due at now, earliest first.
func (s *Store) dueJobs(ctx context.Context, now time.Time, window int) ([]store.Job, error) {
	return findAll[store.Job](ctx, s.jobs, bson.M{
		"status":      store.JobPending,
		"due_at":      bson.M{"$lte": now},
		"lease_until": bson.M{"$lte": now},
	}, options.Find().SetSort(bson.D{{Key: "due_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(window)))
}

// candidates are the due jobs one scan of the jobs collection found and no
// claim has tried yet, earliest due first. Guarded (FerretDB), a query on
// anything but _id reads every document of the collection, so a scan with
// a wide window (guardedWindow) serves the claims that follow: they lease
// from the list, each lease still decided by its unique insert and each
// leased job read back by _id, since a candidate may have been claimed,
// completed or cancelled since the scan. The list is read again when it
// runs out, when the claim time is earlier than the scan's, when this
// process scheduled a job due by the scan's time, and when it is older
// (in claim time or wall time) than ten scans took, at least
// candidatesMinAge and at most candidatesMaxAge: scans then cost about a
// tenth of the time spent claiming, and a job that fell due meanwhile, or
// was scheduled by another replica, waits behind the list at most that long.
// All fields but stale and dueBy belong to claimMu.
type candidates struct {
	jobs []store.Job
	now  time.Time     // the claim time of the scan
	at   time.Time     // the wall time of the scan
	took time.Duration // how long the scan took
	// dueBy is now in Unix nanoseconds while jobs are kept, else 0;
	// scheduling a job due by then sets stale.
	dueBy atomic.Int64
	stale atomic.Bool
}

const (
	guardedWindow    = 10 * store.MaxLimit
	candidatesMinAge = 100 * time.Millisecond
	candidatesMaxAge = 30 * time.Second
)

// noteDue tells the candidate list that a job due at due became claimable.
func (c *candidates) noteDue(due time.Time) {
	if by := c.dueBy.Load(); by != 0 && due.UnixNano() <= by {
		c.stale.Store(true)
	}
}

// usable reports whether the list can serve a claim at now.
func (c *candidates) usable(now time.Time) bool {
	if len(c.jobs) == 0 || now.Before(c.now) || c.stale.Load() {
		return false
	}
	age := min(max(10*c.took, candidatesMinAge), candidatesMaxAge)
	return now.Sub(c.now) <= age && time.Since(c.at) <= age
}

// scan replaces the list by the due jobs read for now. A job scheduled
// while the scan runs, which it may miss, marks the new list stale.
func (c *candidates) scan(now time.Time, read func() ([]store.Job, error)) error {
	c.jobs = nil
	c.stale.Store(false)
	c.dueBy.Store(now.UnixNano())
	start := time.Now()
	jobs, err := read()
	if err != nil {
		c.dueBy.Store(0)
		return err
	}
	c.jobs, c.now, c.at, c.took = jobs, now, time.Now(), time.Since(start)
	return nil
}

// claimGuarded leases up to limit jobs from the candidate list, reading it
// again (once per claim) when it cannot serve or runs out.
func (s *Store) claimGuarded(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Job, error) {
	s.leased.expire(now)
	c := &s.cands
	var claimed []store.Job
	scanned := false
	for len(claimed) < limit {
		if !c.usable(now) {
			if scanned {
				break
			}
			err := c.scan(now, func() ([]store.Job, error) { return s.dueJobs(ctx, now, guardedWindow) })
			if err != nil {
				return claimed, err
			}
			scanned = true
			if len(c.jobs) == 0 {
				break
			}
		}
		got, rest, err := s.claimByLease(ctx, owner, now, limit-len(claimed), lease, c.jobs)
		c.jobs = rest
		claimed = append(claimed, got...)
		if err != nil {
			return claimed, err
		}
	}
	if len(c.jobs) == 0 {
		c.dueBy.Store(0)
	}
	return claimed, nil
}

// claimByWrite leases each candidate with a conditional write of the job:
// one atomic filtered replace on MongoDB.
func (s *Store) claimByWrite(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration, candidates []store.Job) ([]store.Job, error) {
	var claimed []store.Job
	shuffled := false
	for i := range candidates {
		if len(claimed) == limit {
			break
		}
		j := &candidates[i]
		j.LeaseOwner, j.LeaseUntil = owner, now.Add(lease)
		ok, err := s.writeJob(ctx, j)
		if err != nil {
			return claimed, fmt.Errorf("claim job %s: %w", j.ID, err)
		}
		if ok {
			claimed = append(claimed, *j)
		} else if !shuffled {
			// Another replica is claiming the same head of the queue: spread
			// out over the rest instead of colliding on every candidate.
			rest := candidates[i+1:]
			rand.Shuffle(len(rest), func(a, b int) { rest[a], rest[b] = rest[b], rest[a] })
			shuffled = true
		}
	}
	return claimed, nil
}

// lease is the lease of a job at one revision, kept as its own document when
// conditional writes are guarded (FerretDB). There a write to a job takes
// a guard, a read and a replace (and on a stock FerretDB v1, whose _id
// lookups miss its own _id index, costs time in proportion to the jobs
// collection; tools/mongotest adds the index they need), while leasing by a
// unique insert takes one request per batch. The lease of a revision belongs to whoever inserted it first; a
// job's write (complete, retry, fail, cancel, or taking over an expired
// lease) moves its revision on, so a stale holder's lease stops counting.
// Leases live with the write guards, so Purge removes them after an hour:
// leases must be shorter than that, as they are by far (minutes). As the job
// documents do not show their leases, the candidate query returns leased
// jobs too; they cost a failed insert each, and claims find nothing new
// while more jobs are leased than fit in the candidate window
// (guardedWindow), until some complete or their leases expire.
type lease struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"` // on the claimer's clock
	At    time.Time `bson:"at"`    // wall clock, for Purge
}

func leaseKey(id string, rev int64) string { return fmt.Sprintf("jobs-lease/%s/%d", id, rev) }

// getLease returns the lease of job id at revision rev, or nil.
func (s *Store) getLease(ctx context.Context, id string, rev int64) (*lease, error) {
	var l lease
	err := s.guards.FindOne(ctx, bson.M{"_id": leaseKey(id, rev)}).Decode(&l)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lease: %w", err)
	}
	return &l, nil
}

// claimByLease leases candidates by inserting their lease documents, a
// batch per round trip. A candidate whose lease document exists is held by
// another owner, unless that lease has expired: then the job's revision is
// moved on (one conditional write) and the new revision's lease inserted.
func (s *Store) claimByLease(ctx context.Context, owner string, now time.Time, limit int, dur time.Duration, candidates []store.Job) (claimed, rest []store.Job, err error) {
	until := now.Add(dur)
	for len(candidates) > 0 && len(claimed) < limit {
		batch := candidates[:min(limit-len(claimed), len(candidates))]
		candidates = candidates[len(batch):]
		docs := make([]any, len(batch))
		for i, j := range batch {
			docs[i] = lease{ID: leaseKey(j.ID, j.Rev), Owner: owner, Until: until, At: time.Now()}
		}
		held, err := s.insertLeases(ctx, docs)
		if err != nil {
			return claimed, candidates, err
		}
		// Check the batch's jobs a few at a time: one read each, and one
		// more for a lease another owner holds.
		got := make([]*store.Job, len(batch))
		errs := make([]error, len(batch))
		sem := make(chan struct{}, claimReaders)
		var wg sync.WaitGroup
		for i := range batch {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				got[i], errs[i] = s.leasedJob(ctx, &batch[i], held[i], owner, now, until)
			}()
		}
		wg.Wait()
		for i, j := range got {
			if j != nil {
				claimed = append(claimed, *j)
				s.leased.put(*j, owner)
			}
			if err == nil && errs[i] != nil {
				err = fmt.Errorf("claim job %s: %w", batch[i].ID, errs[i])
			}
		}
		if err != nil {
			return claimed, candidates, err
		}
		if slices.Contains(held, true) {
			// Another replica is claiming the same head of the queue: spread
			// out over the rest instead of colliding on every candidate.
			rand.Shuffle(len(candidates), func(a, b int) { candidates[a], candidates[b] = candidates[b], candidates[a] })
		}
	}
	return claimed, candidates, nil
}

// claimReaders bounds the reads one claim makes at once.
const claimReaders = 4

// leasedJob returns candidate j as leased to owner until until, or nil
// when it cannot be had. held says the lease document of j's revision
// existed already: then j is ours only if that lease expired (takeOver).
func (s *Store) leasedJob(ctx context.Context, j *store.Job, held bool, owner string, now, until time.Time) (*store.Job, error) {
	if held {
		ok, err := s.takeOver(ctx, j, owner, now, until)
		if err != nil || !ok {
			return nil, err
		}
	}
	// The candidate was read before the lease: a write without a lease
	// (CancelJob) may have moved the job on since.
	cur, err := s.getJob(ctx, j.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cur.Rev != j.Rev || cur.Status != store.JobPending {
		return nil, nil
	}
	cur.LeaseOwner, cur.LeaseUntil = owner, until
	return cur, nil
}

// leasedJobs are the jobs this process holds by lease documents, as read
// when it leased them: finishing one of them (changeJob) writes from this
// copy instead of reading the job and its lease again. The copy is good
// while the job's revision is still the leased one, which the conditional
// write checks; a lease lost meanwhile moved the revision on (takeOver).
type leasedJobs struct {
	mu   sync.Mutex
	jobs map[string]leasedJob
}

type leasedJob struct {
	job   store.Job
	owner string
}

func (l *leasedJobs) put(j store.Job, owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]leasedJob{}
	}
	l.jobs[j.ID] = leasedJob{job: j, owner: owner}
}

// take removes and returns the copy of job id if owner leased it.
func (l *leasedJobs) take(id, owner string) (store.Job, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.jobs[id]
	if !ok || e.owner != owner {
		return store.Job{}, false
	}
	delete(l.jobs, id)
	return e.job, true
}

// expire forgets leases that ended before now (their jobs never finished here).
func (l *leasedJobs) expire(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, e := range l.jobs {
		if e.job.LeaseUntil.Before(now) {
			delete(l.jobs, id)
		}
	}
}

// insertLeases inserts lease documents in one unordered request and
// reports which of them existed already (held[i]).
func (s *Store) insertLeases(ctx context.Context, docs []any) ([]bool, error) {
	held := make([]bool, len(docs))
	_, err := s.guards.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return held, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("insert leases: %w", err)
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) || we.Index < 0 || we.Index >= len(docs) {
			return nil, fmt.Errorf("insert leases: %w", err)
		}
		held[we.Index] = true
	}
	return held, nil
}

// takeOver claims j, whose lease document exists, if that lease expired at
// now: it moves the job to a new revision (so the old holder can no longer
// complete it) and inserts the lease of that revision.
func (s *Store) takeOver(ctx context.Context, j *store.Job, owner string, now, until time.Time) (bool, error) {
	l, err := s.getLease(ctx, j.ID, j.Rev)
	if err != nil || l == nil || l.Until.After(now) {
		// Held, or purged meanwhile (the next claim tries it again).
		return false, err
	}
	ok, err := s.writeJob(ctx, j)
	if err != nil || !ok {
		return false, err
	}
	held, err := s.insertLeases(ctx, []any{lease{ID: leaseKey(j.ID, j.Rev), Owner: owner, Until: until, At: time.Now()}})
	if err != nil {
		return false, err
	}
	return !held[0], nil
}

// changeJob applies change to a pending job held by owner ("" skips the
// lease check), retrying when only an unrelated write got in between.
func (s *Store) changeJob(ctx context.Context, id, owner string, change func(j *store.Job)) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	for attempt := 0; attempt < 20; attempt++ {
		if attempt == 0 && owner != "" && s.guard {
			// Leased here: try the write from the leased copy first.
			if j, ok := s.leased.take(id, owner); ok {
				change(&j)
				ok, err := s.writeJob(ctx, &j)
				if ok && j.Status == store.JobPending {
					s.cands.noteDue(j.DueAt) // retried
				}
				if err != nil || ok {
					return err
				}
				// Moved on since the lease: read it as below.
			}
		}
		j, err := s.getJob(ctx, id)
		if err != nil {
			return err
		}
		if owner != "" && j.Status == store.JobPending && s.guard {
			// Guarded, the lease is a document of its own (see lease).
			l, err := s.getLease(ctx, j.ID, j.Rev)
			if err != nil {
				return err
			}
			j.LeaseOwner = ""
			if l != nil {
				j.LeaseOwner, j.LeaseUntil = l.Owner, l.Until
			}
		}
		if owner != "" && (j.Status != store.JobPending || j.LeaseOwner != owner) {
			return fmt.Errorf("job is %s, leased by %q: %w", j.Status, j.LeaseOwner, store.ErrVersionConflict)
		}
		if j.Status != store.JobPending {
			return nil
		}
		change(j)
		ok, err := s.writeJob(ctx, j)
		if ok && j.Status == store.JobPending {
			s.cands.noteDue(j.DueAt) // retried
		}
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("job keeps changing: %w", store.ErrVersionConflict)
}

// CompleteJob implements store.Jobs.
func (s *Store) CompleteJob(ctx context.Context, id, owner string) error {
	err := s.changeJob(ctx, id, owner, (*store.Job).MarkDone)
	if err != nil {
		return fmt.Errorf("complete job %s: %w", id, err)
	}
	return nil
}

// RetryJobLater implements store.Jobs.
func (s *Store) RetryJobLater(ctx context.Context, id, owner string, at time.Time, errText string) error {
	err := s.changeJob(ctx, id, owner, func(j *store.Job) { j.MarkRetry(at, errText) })
	if err != nil {
		return fmt.Errorf("retry job %s: %w", id, err)
	}
	return nil
}

// FailJob implements store.Jobs.
func (s *Store) FailJob(ctx context.Context, id, owner, errText string) error {
	err := s.changeJob(ctx, id, owner, func(j *store.Job) { j.MarkFailed(errText) })
	if err != nil {
		return fmt.Errorf("fail job %s: %w", id, err)
	}
	return nil
}

// CancelJob implements store.Jobs.
func (s *Store) CancelJob(ctx context.Context, id string) error {
	err := s.changeJob(ctx, id, "", (*store.Job).MarkCancelled)
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

// CountPendingJobs implements store.Jobs.
func (s *Store) CountPendingJobs(ctx context.Context) (int64, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	n, err := s.jobs.CountDocuments(ctx, bson.M{"status": store.JobPending})
	if err != nil {
		return 0, fmt.Errorf("count pending jobs: %w", err)
	}
	return n, nil
}
