package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// claimKey orders pending jobs by when they can next be claimed: the due
// time, or the lease expiry while a lease runs. A claim then reads only
// claimable jobs, however many are leased.
func claimKey(j *store.Job) []byte {
	at := j.DueAt
	if j.LeaseOwner != "" && j.LeaseUntil.After(at) {
		at = j.LeaseUntil
	}
	return append(ts(at), j.ID...)
}

// ScheduleJob implements store.Jobs.
func (s *Store) ScheduleJob(ctx context.Context, j store.Job) error {
	if j.ID == "" {
		return fmt.Errorf("schedule job: empty id")
	}
	now := time.Now().UTC()
	j.Status = store.JobPending
	j.LeaseOwner, j.LeaseUntil, j.Rev = "", time.Time{}, 1
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	j.UpdatedAt = now
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bJobs)
		if b.Get([]byte(j.ID)) != nil {
			return store.ErrDuplicate
		}
		if err := put(b, []byte(j.ID), &j); err != nil {
			return err
		}
		return tx.Bucket(bJobsDue).Put(claimKey(&j), nil)
	})
	if err != nil {
		return fmt.Errorf("schedule job %s: %w", j.ID, err)
	}
	return nil
}

// GetJob implements store.Jobs.
func (s *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	var j *store.Job
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		j, err = get[store.Job](tx.Bucket(bJobs), []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// ClaimJobs implements store.Jobs. One process owns the file, and the
// transaction makes check-and-lease atomic.
func (s *Store) ClaimJobs(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Job, error) {
	limit = store.ClampLimit(limit)
	var claimed []store.Job
	err := s.write(ctx, func(tx *bolt.Tx) error {
		claimed = claimed[:0]
		jobs, due := tx.Bucket(bJobs), tx.Bucket(bJobsDue)
		end := ts(now)
		var keys [][]byte
		c := due.Cursor()
		for k, _ := c.First(); k != nil && len(claimed) < limit && bytes.Compare(k[:8], end) <= 0; k, _ = c.Next() {
			j, err := get[store.Job](jobs, k[8:])
			if err != nil {
				return fmt.Errorf("due entry %q: %w", k, err)
			}
			if j.Status != store.JobPending || j.Leased(now) {
				continue // cannot happen while the index is right; stay safe
			}
			keys = append(keys, bytes.Clone(k))
			claimed = append(claimed, *j)
		}
		for i := range claimed {
			j := &claimed[i]
			j.LeaseOwner, j.LeaseUntil = owner, now.Add(lease)
			j.UpdatedAt = time.Now().UTC()
			j.Rev++
			if err := due.Delete(keys[i]); err != nil {
				return err
			}
			if err := due.Put(claimKey(j), nil); err != nil {
				return err
			}
			if err := put(jobs, []byte(j.ID), j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs for %s: %w", owner, err)
	}
	return claimed, nil
}

// finishJob applies change to a pending job; owner "" skips the lease check.
func (s *Store) finishJob(ctx context.Context, id, owner string, change func(j *store.Job)) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bJobs)
		j, err := get[store.Job](jobs, []byte(id))
		if err != nil {
			return err
		}
		if owner != "" && (j.Status != store.JobPending || j.LeaseOwner != owner) {
			return fmt.Errorf("job is %s, leased by %q: %w", j.Status, j.LeaseOwner, store.ErrVersionConflict)
		}
		if j.Status != store.JobPending {
			return nil
		}
		oldKey := claimKey(j)
		change(j)
		j.UpdatedAt = time.Now().UTC()
		j.Rev++
		due := tx.Bucket(bJobsDue)
		if err := due.Delete(oldKey); err != nil {
			return err
		}
		if j.Status == store.JobPending {
			if err := due.Put(claimKey(j), nil); err != nil {
				return err
			}
		}
		return put(jobs, []byte(id), j)
	})
}

// CompleteJob implements store.Jobs.
func (s *Store) CompleteJob(ctx context.Context, id, owner string) error {
	err := s.finishJob(ctx, id, owner, (*store.Job).MarkDone)
	if err != nil {
		return fmt.Errorf("complete job %s: %w", id, err)
	}
	return nil
}

// RetryJobLater implements store.Jobs.
func (s *Store) RetryJobLater(ctx context.Context, id, owner string, at time.Time, errText string) error {
	err := s.finishJob(ctx, id, owner, func(j *store.Job) { j.MarkRetry(at, errText) })
	if err != nil {
		return fmt.Errorf("retry job %s: %w", id, err)
	}
	return nil
}

// FailJob implements store.Jobs.
func (s *Store) FailJob(ctx context.Context, id, owner, errText string) error {
	err := s.finishJob(ctx, id, owner, func(j *store.Job) { j.MarkFailed(errText) })
	if err != nil {
		return fmt.Errorf("fail job %s: %w", id, err)
	}
	return nil
}

// CancelJob implements store.Jobs.
func (s *Store) CancelJob(ctx context.Context, id string) error {
	err := s.finishJob(ctx, id, "", (*store.Job).MarkCancelled)
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

// CountPendingJobs implements store.Jobs.
func (s *Store) CountPendingJobs(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *bolt.Tx) error {
		n = int64(tx.Bucket(bJobsDue).Stats().KeyN)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count pending jobs: %w", err)
	}
	return n, nil
}
