package mongo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
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
	return j, nil
}

func (s *Store) getJob(ctx context.Context, id string) (*store.Job, error) {
	var j store.Job
	if err := s.jobs.FindOne(ctx, bson.M{"_id": id}).Decode(&j); err != nil {
		return nil, notFound(err)
	}
	return &j, nil
}

// writeJob stores j (revision j.Rev+1) if the stored revision is still j.Rev.
func (s *Store) writeJob(ctx context.Context, j *store.Job) (bool, error) {
	next := *j
	next.Rev++
	next.UpdatedAt = time.Now().UTC()
	ok, err := replaceIf(ctx, s.jobs, j.ID, "rev", j.Rev, &next)
	if ok {
		*j = next
	}
	return ok, err
}

// ClaimJobs implements store.Jobs: read a window of due candidates through
// the (status, due_at) index, then lease them. Without contention the
// earliest due win; once a lease is lost to another replica the rest of the
// window is tried in random order, so N replicas polling at once spread over
// the queue instead of colliding on its head.
func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Job, error) {
	limit = store.ClampLimit(limit)
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var claimed []store.Job
	cands, err := s.dueJobs(ctx, now, min(10*limit+50, store.MaxLimit))
	if err == nil {
		claimed, err = s.claimByWrite(ctx, owner, now, limit, lease, cands)
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

// changeJob applies change to a pending job held by owner ("" skips the
// lease check), retrying when only an unrelated write got in between.
func (s *Store) changeJob(ctx context.Context, id, owner string, change func(j *store.Job)) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	for attempt := 0; attempt < 20; attempt++ {
		j, err := s.getJob(ctx, id)
		if err != nil {
			return err
		}
		if owner != "" && (j.Status != store.JobPending || j.LeaseOwner != owner) {
			return fmt.Errorf("job is %s, leased by %q: %w", j.Status, j.LeaseOwner, store.ErrVersionConflict)
		}
		if j.Status != store.JobPending {
			return nil
		}
		change(j)
		ok, err := s.writeJob(ctx, j)
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
