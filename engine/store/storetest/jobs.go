package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func job(id string, due time.Time) store.Job {
	return store.Job{ID: id, Kind: "timer", Bot: "b1", Target: "b1:telegram:1", Payload: []byte(`{"node":"n"}`), DueAt: due}
}

func claimIDs(t *testing.T, st store.Store, owner string, now time.Time, limit int, lease time.Duration) []string {
	t.Helper()
	jobs, err := st.ClaimJobs(ctxFor(t), owner, now, limit, lease)
	must(t, err, "claim by "+owner)
	for _, j := range jobs {
		if j.LeaseOwner != owner || !j.LeaseUntil.Equal(now.Add(lease)) {
			t.Fatalf("claimed job %s has lease %q until %v", j.ID, j.LeaseOwner, j.LeaseUntil)
		}
	}
	return ids(jobs, func(j store.Job) string { return j.ID })
}

func (s *suite) jobs(t *testing.T) {
	t.Run("schedule existing id is ErrDuplicate and changes nothing", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.ScheduleJob(ctx, job("j1", at(0))), "schedule")
		again := job("j1", at(time.Hour))
		wantErr(t, st.ScheduleJob(ctx, again), store.ErrDuplicate, "schedule twice")
		got, err := st.GetJob(ctx, "j1")
		must(t, err, "get")
		if !got.DueAt.Equal(at(0)) || got.Status != store.JobPending || got.Kind != "timer" || string(got.Payload) != `{"node":"n"}` {
			t.Fatalf("job after duplicate schedule: %+v", got)
		}
		_, err = st.GetJob(ctx, "nope")
		wantErr(t, err, store.ErrNotFound, "get unknown job")
	})

	t.Run("claims only due jobs, earliest first, up to the limit", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		for i, d := range []time.Duration{3, 1, 2, 10, 0} {
			must(t, st.ScheduleJob(ctx, job(fmt.Sprint("j", i), at(d*time.Minute))), "schedule")
		}
		got := claimIDs(t, st, "w1", at(3*time.Minute), 2, time.Minute)
		if !slices.Equal(got, []string{"j4", "j1"}) {
			t.Fatalf("first claim %v, want j4 j1", got)
		}
		got = claimIDs(t, st, "w1", at(3*time.Minute), 10, time.Minute)
		if !slices.Equal(got, []string{"j2", "j0"}) {
			t.Fatalf("second claim %v, want j2 j0 (j3 is not due)", got)
		}
		n, err := st.CountPendingJobs(ctx)
		must(t, err, "count")
		if n != 5 {
			t.Fatalf("pending %d, want 5 (leased jobs are pending)", n)
		}
	})

	t.Run("a held lease blocks others; an expired one can be claimed by another owner", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.ScheduleJob(ctx, job("j", at(0))), "schedule")
		if got := claimIDs(t, st, "w1", at(time.Second), 10, time.Minute); !slices.Equal(got, []string{"j"}) {
			t.Fatalf("w1 claimed %v", got)
		}
		if got := claimIDs(t, st, "w2", at(30*time.Second), 10, time.Minute); len(got) != 0 {
			t.Fatalf("w2 claimed %v while w1's lease holds", got)
		}
		if got := claimIDs(t, st, "w2", at(2*time.Minute), 10, time.Minute); !slices.Equal(got, []string{"j"}) {
			t.Fatalf("w2 claimed %v after w1's lease expired", got)
		}
		wantErr(t, st.CompleteJob(ctx, "j", "w1"), store.ErrVersionConflict, "complete by the owner who lost the lease")
		must(t, st.CompleteJob(ctx, "j", "w2"), "complete by w2")
		got, err := st.GetJob(ctx, "j")
		must(t, err, "get")
		if got.Status != store.JobDone {
			t.Fatalf("status %q, want done", got.Status)
		}
		if got := claimIDs(t, st, "w3", at(time.Hour), 10, time.Minute); len(got) != 0 {
			t.Fatalf("done job claimed again: %v", got)
		}
		wantErr(t, st.CompleteJob(ctx, "nope", "w1"), store.ErrNotFound, "complete unknown job")
	})

	t.Run("retry later counts the attempt and waits until the new time", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.ScheduleJob(ctx, job("j", at(0))), "schedule")
		claimIDs(t, st, "w1", at(0), 1, time.Minute)
		must(t, st.RetryJobLater(ctx, "j", "w1", at(10*time.Minute), "HTTP 502"), "retry")
		got, err := st.GetJob(ctx, "j")
		must(t, err, "get")
		if got.Attempts != 1 || got.LastError != "HTTP 502" || !got.DueAt.Equal(at(10*time.Minute)) || got.Status != store.JobPending {
			t.Fatalf("after retry: %+v", got)
		}
		if got := claimIDs(t, st, "w2", at(5*time.Minute), 1, time.Minute); len(got) != 0 {
			t.Fatalf("claimed before the retry time: %v", got)
		}
		if got := claimIDs(t, st, "w2", at(10*time.Minute), 1, time.Minute); len(got) != 1 {
			t.Fatalf("not claimable at the retry time: %v", got)
		}
		must(t, st.RetryJobLater(ctx, "j", "w2", at(20*time.Minute), "again"), "retry again")
		got, err = st.GetJob(ctx, "j")
		must(t, err, "get")
		if got.Attempts != 2 {
			t.Fatalf("attempts %d, want 2", got.Attempts)
		}
	})

	t.Run("failed jobs are kept and never run again", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.ScheduleJob(ctx, job("j", at(0))), "schedule")
		claimIDs(t, st, "w1", at(0), 1, time.Minute)
		wantErr(t, st.FailJob(ctx, "j", "w2", "not mine"), store.ErrVersionConflict, "fail by non-owner")
		must(t, st.FailJob(ctx, "j", "w1", "bad payload"), "fail")
		got, err := st.GetJob(ctx, "j")
		must(t, err, "get")
		if got.Status != store.JobFailed || got.LastError != "bad payload" || got.Attempts != 1 {
			t.Fatalf("failed job: %+v", got)
		}
		if got := claimIDs(t, st, "w1", at(time.Hour), 10, time.Minute); len(got) != 0 {
			t.Fatalf("failed job claimed: %v", got)
		}
		n, err := st.CountPendingJobs(ctx)
		must(t, err, "count")
		if n != 0 {
			t.Fatalf("pending %d, want 0", n)
		}
	})

	t.Run("cancelled jobs are not claimed", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.ScheduleJob(ctx, job("a", at(0))), "schedule")
		must(t, st.ScheduleJob(ctx, job("b", at(0))), "schedule")
		claimIDs(t, st, "w1", at(0), 1, time.Minute) // a is leased
		must(t, st.CancelJob(ctx, "a"), "cancel leased")
		must(t, st.CancelJob(ctx, "b"), "cancel idle")
		wantErr(t, st.CancelJob(ctx, "zzz"), store.ErrNotFound, "cancel unknown")
		if got := claimIDs(t, st, "w2", at(time.Hour), 10, time.Minute); len(got) != 0 {
			t.Fatalf("cancelled jobs claimed: %v", got)
		}
		wantErr(t, st.CompleteJob(ctx, "a", "w1"), store.ErrVersionConflict, "complete cancelled")
		got, err := st.GetJob(ctx, "a")
		must(t, err, "get")
		if got.Status != store.JobCancelled {
			t.Fatalf("status %q, want cancelled", got.Status)
		}
		n, err := st.CountPendingJobs(ctx)
		must(t, err, "count")
		if n != 0 {
			t.Fatalf("pending %d, want 0", n)
		}
	})

	t.Run("a claim skips jobs another replica cancelled or claimed since the last", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		other := s.cfg.Replica(t, st)
		for i := range 6 {
			must(t, st.ScheduleJob(ctx, job(fmt.Sprint("j", i), at(time.Duration(i)*time.Millisecond))), "schedule")
		}
		now := at(time.Second)
		if got := claimIDs(t, st, "w1", now, 2, time.Minute); !slices.Equal(got, []string{"j0", "j1"}) {
			t.Fatalf("first claim %v, want j0 j1", got)
		}
		must(t, other.CancelJob(ctx, "j2"), "cancel on the replica")
		// The replica may skip the head of the queue that w1 holds.
		byOther := claimIDs(t, other, "w2", now, 1, time.Minute)
		if len(byOther) != 1 || !slices.Contains([]string{"j3", "j4", "j5"}, byOther[0]) {
			t.Fatalf("replica claimed %v, want one of j3 j4 j5", byOther)
		}
		var want []string
		for _, id := range []string{"j3", "j4", "j5"} {
			if id != byOther[0] {
				want = append(want, id)
			}
		}
		if got := claimIDs(t, st, "w1", now, 10, time.Minute); !slices.Equal(got, want) {
			t.Fatalf("second claim %v, want %v (j2 is cancelled, %s leased by w2)", got, want, byOther[0])
		}
		for _, id := range append([]string{"j0", "j1"}, want...) {
			must(t, st.CompleteJob(ctx, id, "w1"), "complete "+id)
		}
		wantErr(t, st.CompleteJob(ctx, byOther[0], "w1"), store.ErrVersionConflict, "complete a job another owner holds")
		must(t, other.CompleteJob(ctx, byOther[0], "w2"), "complete "+byOther[0])
		must(t, st.ScheduleJob(ctx, job("late", now)), "schedule another")
		if got := claimIDs(t, st, "w1", now, 10, time.Minute); !slices.Equal(got, []string{"late"}) {
			t.Fatalf("third claim %v, want the job scheduled since", got)
		}
	})

	t.Run("50 workers on 5 replicas claim 1000 jobs, each exactly once", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		const jobs, workers, replicas = 1000, 50, 5
		handles := []store.Store{st}
		for len(handles) < replicas {
			handles = append(handles, s.cfg.Replica(t, st))
		}
		var sched sync.WaitGroup
		errc := make(chan error, workers)
		for w := range 10 {
			sched.Add(1)
			go func() {
				defer sched.Done()
				for i := w; i < jobs; i += 10 {
					if err := st.ScheduleJob(ctx, job("job"+pad(i), at(time.Duration(i)*time.Millisecond))); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		sched.Wait()
		select {
		case err := <-errc:
			t.Fatalf("schedule: %v", err)
		default:
		}
		now := at(time.Hour)
		var mu sync.Mutex
		var completed atomic.Int64
		claimedBy := map[string]string{}
		var dup []string
		var wg sync.WaitGroup
		for w := range workers {
			owner := fmt.Sprint("worker", w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := drain(ctx, handles[w%replicas], owner, now, &completed, jobs, func(id string) {
					mu.Lock()
					defer mu.Unlock()
					if prev, ok := claimedBy[id]; ok {
						dup = append(dup, fmt.Sprintf("%s by %s and %s", id, prev, owner))
					}
					claimedBy[id] = owner
				}); err != nil {
					errc <- fmt.Errorf("%s: %w", owner, err)
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if len(dup) > 0 {
			t.Fatalf("%d jobs claimed twice, e.g. %s", len(dup), dup[0])
		}
		if len(claimedBy) != jobs {
			t.Fatalf("%d distinct jobs claimed, want %d", len(claimedBy), jobs)
		}
		n, err := st.CountPendingJobs(ctx)
		must(t, err, "count")
		if n != 0 {
			t.Fatalf("%d jobs still pending", n)
		}
		for _, i := range []int{0, 517, 999} {
			j, err := st.GetJob(ctx, "job"+pad(i))
			must(t, err, "get")
			if j.Status != store.JobDone || j.LeaseOwner != claimedBy[j.ID] {
				t.Fatalf("job %s: status %q owner %q, claimed by %q", j.ID, j.Status, j.LeaseOwner, claimedBy[j.ID])
			}
		}
	})
}

// drain claims and completes jobs until completed reaches total.
func drain(ctx context.Context, st store.Store, owner string, now time.Time, completed *atomic.Int64, total int64, claimed func(id string)) error {
	for idle := 0; completed.Load() < total; {
		jobs, err := st.ClaimJobs(ctx, owner, now, 10, time.Hour)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			claimed(j.ID)
			if err := st.CompleteJob(ctx, j.ID, owner); err != nil {
				return err
			}
			completed.Add(1)
		}
		if len(jobs) > 0 {
			continue
		}
		// Others hold the remaining leases; let them finish. A job that is
		// lost (never claimable again) ends here.
		if idle++; idle > 5_000 {
			return fmt.Errorf("%d of %d jobs completed, the rest never became claimable", completed.Load(), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
