package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// A purge runs in steps, each a read transaction that finds at most
// PurgeBatch documents to delete and a write transaction that deletes them.
// Finding runs beside the writer (bbolt readers do not block it), so the
// one writer, which every inbound message waits for, is held only for the
// deletes of one step; and the pages a step frees are reused as soon as the
// short read transactions that saw them end.

// purgeStep is one bounded step: the keys to delete and where the next step
// starts (nil when the scan reached the end).
type purgeStep struct {
	doomed [][]byte
	next   []byte
}

// scanBudget bounds the keys one finding step looks at, for a scan that
// finds little to delete (many conversations, each with recent messages).
func scanBudget(batch int) int { return 8 * batch }

// Purge implements store.Maintenance.
func (s *Store) Purge(ctx context.Context, o store.PurgeOptions) (store.PurgeResult, error) {
	var res store.PurgeResult
	logs := []struct {
		before       time.Time
		ids, ordered []byte
		n            *int64
		what         string
	}{
		{o.EventsBefore, bEventIDs, bEventByBot, &res.Events, "events"},
		{o.MessagesBefore, bMsgIDs, bMsgByConv, &res.Messages, "messages"},
	}
	for _, l := range logs {
		if l.before.IsZero() {
			continue
		}
		err := s.purgeSteps(ctx, l.n,
			func(tx *bolt.Tx, from []byte) (purgeStep, error) {
				return findOldLog(tx, l.ordered, from, l.before, s.purgeBatch)
			},
			func(tx *bolt.Tx, doomed [][]byte) (int64, error) { return deleteLog(tx, l.ids, l.ordered, doomed) })
		if err != nil {
			return res, fmt.Errorf("purge %s before %s: %w", l.what, l.before.Format(time.RFC3339), err)
		}
	}
	if !o.JobsBefore.IsZero() || !o.FailedJobsBefore.IsZero() {
		old := func(j *jobAge) bool {
			switch j.Status {
			case store.JobDone, store.JobCancelled:
				return !o.JobsBefore.IsZero() && j.UpdatedAt.Before(o.JobsBefore)
			case store.JobFailed:
				return !o.FailedJobsBefore.IsZero() && j.UpdatedAt.Before(o.FailedJobsBefore)
			}
			return false
		}
		err := s.purgeSteps(ctx, &res.Jobs,
			func(tx *bolt.Tx, from []byte) (purgeStep, error) { return findOldJobs(tx, from, old, s.purgeBatch) },
			func(tx *bolt.Tx, doomed [][]byte) (int64, error) { return deleteJobs(tx, doomed, old) })
		if err != nil {
			return res, fmt.Errorf("purge finished jobs: %w", err)
		}
	}
	return res, nil
}

// purgeSteps runs find (in a read transaction) and del (in a write
// transaction) step by step until find reaches the end, adding what del
// deleted to n.
func (s *Store) purgeSteps(ctx context.Context, n *int64,
	find func(tx *bolt.Tx, from []byte) (purgeStep, error),
	del func(tx *bolt.Tx, doomed [][]byte) (int64, error)) error {
	var from []byte
	for {
		var step purgeStep
		err := s.read(ctx, func(tx *bolt.Tx) (err error) {
			step, err = find(tx, from)
			return err
		})
		if err != nil {
			return err
		}
		if len(step.doomed) > 0 {
			var deleted int64
			err = s.write(ctx, func(tx *bolt.Tx) (err error) {
				// The write function may run more than once (see write).
				deleted, err = del(tx, step.doomed)
				return err
			})
			if err != nil {
				return err
			}
			*n += deleted
		}
		if step.next == nil {
			return nil
		}
		from = step.next
	}
}

// findOldLog finds documents older than before in an ordered log bucket
// (owner \0 at(8) id), starting at key from. Within an owner the keys are
// in time order, so it reads each owner's old documents and then skips to
// the next owner: the scan costs what it deletes plus one seek per owner.
func findOldLog(tx *bolt.Tx, ordered, from []byte, before time.Time, batch int) (purgeStep, error) {
	limit := ts(before)
	var step purgeStep
	c := tx.Bucket(ordered).Cursor()
	var k []byte
	if from == nil {
		k, _ = c.First()
	} else {
		k, _ = c.Seek(from)
	}
	for seen := 0; k != nil; seen++ {
		if len(step.doomed) >= batch || seen >= scanBudget(batch) {
			step.next = bytes.Clone(k)
			return step, nil
		}
		sep := bytes.IndexByte(k, 0)
		if sep < 0 || len(k) < sep+9 {
			k, _ = c.Next() // not a log key; never written by this store
			continue
		}
		if bytes.Compare(k[sep+1:sep+9], limit) < 0 {
			step.doomed = append(step.doomed, bytes.Clone(k))
			k, _ = c.Next()
			continue
		}
		// The owner's remaining documents are newer: on to the next owner.
		end := prefixEnd(k[:sep+1])
		if end == nil {
			break
		}
		k, _ = c.Seek(end)
	}
	return step, nil
}

// deleteLog deletes the keys findOldLog found and their entries, if any,
// in the id bucket of older files (see appendLog). Log keys are written
// once and never change, so a key found old is still old.
func deleteLog(tx *bolt.Tx, ids, ordered []byte, doomed [][]byte) (int64, error) {
	ob, idb := tx.Bucket(ordered), tx.Bucket(ids)
	var n int64
	for _, k := range doomed {
		if ob.Get(k) == nil {
			continue
		}
		sep := bytes.IndexByte(k, 0)
		if err := idb.Delete(k[sep+9:]); err != nil {
			return 0, err
		}
		if err := ob.Delete(k); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// jobAge is the part of a job that decides whether a purge deletes it;
// decoding only these fields keeps the scan of the jobs bucket cheap.
type jobAge struct {
	Status    store.JobStatus `json:"status"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// findOldJobs scans the jobs bucket from key from for jobs old says to
// delete. Jobs are keyed by id, not by age, so a purge reads every job
// once; it does so in read transactions, beside the writer, and a
// finished job costs the hot path no index write.
func findOldJobs(tx *bolt.Tx, from []byte, old func(*jobAge) bool, batch int) (purgeStep, error) {
	var step purgeStep
	c := tx.Bucket(bJobs).Cursor()
	var k, v []byte
	if from == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(from)
	}
	for seen := 0; k != nil; k, v = c.Next() {
		if len(step.doomed) >= batch || seen >= scanBudget(batch) {
			step.next = bytes.Clone(k)
			return step, nil
		}
		seen++
		var j jobAge
		if err := json.Unmarshal(v, &j); err != nil {
			return step, fmt.Errorf("decode job %s: %w", k, err)
		}
		if old(&j) {
			step.doomed = append(step.doomed, bytes.Clone(k))
		}
	}
	return step, nil
}

// deleteJobs deletes the jobs findOldJobs found that are still old
// (finished is final, but the check costs little and keeps a pending job
// safe whatever happened between the two transactions).
func deleteJobs(tx *bolt.Tx, doomed [][]byte, old func(*jobAge) bool) (int64, error) {
	b := tx.Bucket(bJobs)
	var n int64
	for _, k := range doomed {
		v := b.Get(k)
		if v == nil {
			continue
		}
		var j jobAge
		if err := json.Unmarshal(v, &j); err != nil {
			return 0, fmt.Errorf("decode job %s: %w", k, err)
		}
		if !old(&j) {
			continue
		}
		if err := b.Delete(k); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
