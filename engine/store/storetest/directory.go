package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) users(t *testing.T) {
	t.Run("put, get, by login, list, delete", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		ann := store.User{ID: "u2", Login: "ann", Name: "Ann", Role: store.RoleMarketer, PasswordHash: "$2a$10$x", CreatedAt: at(0)}
		bob := store.User{ID: "u1", Login: "bob", Name: "Bob", Role: store.RoleOperator, PasswordHash: "h", CreatedAt: at(time.Hour)}
		must(t, st.PutUser(ctx, ann), "put ann")
		must(t, st.PutUser(ctx, bob), "put bob")
		got, err := st.GetUser(ctx, "u2")
		must(t, err, "get")
		sameJSON(t, "user", got, ann)
		got, err = st.GetUserByLogin(ctx, "bob")
		must(t, err, "get by login")
		sameJSON(t, "user by login", got, bob)
		list, err := st.ListUsers(ctx)
		must(t, err, "list")
		if g := ids(list, func(u store.User) string { return u.ID }); !slices.Equal(g, []string{"u1", "u2"}) {
			t.Fatalf("users %v, want u1 u2", g)
		}
		must(t, st.DeleteUser(ctx, "u1"), "delete")
		_, err = st.GetUser(ctx, "u1")
		wantErr(t, err, store.ErrNotFound, "get deleted")
		_, err = st.GetUserByLogin(ctx, "bob")
		wantErr(t, err, store.ErrNotFound, "login of deleted user")
		wantErr(t, st.DeleteUser(ctx, "u1"), store.ErrNotFound, "delete twice")
	})

	t.Run("login is unique and can be changed", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.PutUser(ctx, store.User{ID: "u1", Login: "ann", Role: store.RoleAdmin}), "put")
		wantErr(t, st.PutUser(ctx, store.User{ID: "u2", Login: "ann", Role: store.RoleOperator}), store.ErrDuplicate, "same login")
		_, err := st.GetUser(ctx, "u2")
		wantErr(t, err, store.ErrNotFound, "rejected user stored anyway")
		must(t, st.PutUser(ctx, store.User{ID: "u1", Login: "anna", Role: store.RoleAdmin}), "rename login")
		_, err = st.GetUserByLogin(ctx, "ann")
		wantErr(t, err, store.ErrNotFound, "old login")
		must(t, st.PutUser(ctx, store.User{ID: "u2", Login: "ann", Role: store.RoleOperator}), "reuse freed login")
		got, err := st.GetUserByLogin(ctx, "anna")
		must(t, err, "new login")
		if got.ID != "u1" {
			t.Fatalf("login anna belongs to %s", got.ID)
		}
	})
}

func (s *suite) bots(t *testing.T) {
	t.Run("put, get, list, delete", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		b := store.Bot{ID: "shop", Name: "Shop bot", FlowID: "main",
			Channels: []store.Channel{
				{Type: "telegram", Token: "123:abc", Secret: "s3", Settings: map[string]string{"mode": "webhook"}},
				{Type: "web"},
			},
			Settings: store.BotSettings{TimeZone: "Europe/Moscow", QuietHours: &store.QuietHours{Start: "22:00", End: "09:00"},
				AllowedEnv: []string{"CRM_TOKEN"}},
			CreatedAt: at(0), UpdatedAt: at(time.Minute)}
		must(t, st.PutBot(ctx, b), "put")
		must(t, st.PutBot(ctx, store.Bot{ID: "alpha", Name: "A"}), "put alpha")
		got, err := st.GetBot(ctx, "shop")
		must(t, err, "get")
		b.Rev = 1 // PutBot counts the write
		sameJSON(t, "bot", got, b)
		b.Name = "Renamed"
		must(t, st.PutBot(ctx, b), "replace")
		list, err := st.ListBots(ctx)
		must(t, err, "list")
		if len(list) != 2 || list[0].ID != "alpha" || list[1].Name != "Renamed" {
			t.Fatalf("bots %+v", list)
		}
		must(t, st.DeleteBot(ctx, "shop"), "delete")
		_, err = st.GetBot(ctx, "shop")
		wantErr(t, err, store.ErrNotFound, "get deleted")
		wantErr(t, st.DeleteBot(ctx, "shop"), store.ErrNotFound, "delete twice")
	})
}

func (s *suite) purge(t *testing.T) {
	t.Run("deletes old events, messages and finished jobs only", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.AppendEvents(ctx,
			store.Event{ID: "old", Bot: "b1", Type: "sent", At: at(-48 * time.Hour)},
			store.Event{ID: "new", Bot: "b1", Type: "sent", At: at(0)}), "events")
		must(t, st.AppendMessages(ctx,
			store.Message{ID: "old", ConversationID: "c", At: at(-48 * time.Hour)},
			store.Message{ID: "new", ConversationID: "c", At: at(0)}), "messages")
		for _, id := range []string{"done", "failed", "cancelled", "pending"} {
			must(t, st.ScheduleJob(ctx, job(id, at(0))), "schedule")
		}
		claimIDs(t, st, "w", at(0), 3, time.Minute)
		must(t, st.CompleteJob(ctx, "done", "w"), "complete")
		must(t, st.FailJob(ctx, "failed", "w", "x"), "fail")
		must(t, st.CancelJob(ctx, "cancelled"), "cancel")

		res, err := st.Purge(ctx, store.PurgeOptions{EventsBefore: at(-time.Hour), MessagesBefore: at(-time.Hour),
			JobsBefore: time.Now().Add(time.Hour)})
		must(t, err, "purge")
		if res.Events != 1 || res.Messages != 1 || res.Jobs != 2 {
			t.Fatalf("purged %+v, want 1 event, 1 message, 2 jobs", res)
		}
		evs, _, err := st.QueryEvents(ctx, store.EventQuery{Bot: "b1"})
		must(t, err, "events")
		msgs, _, err := st.ListMessages(ctx, "c", "", 0)
		must(t, err, "messages")
		if len(evs) != 1 || evs[0].ID != "new" || len(msgs) != 1 || msgs[0].ID != "new" {
			t.Fatalf("left %d events, %d messages; want the new one of each", len(evs), len(msgs))
		}
		for id, want := range map[string]bool{"done": false, "cancelled": false, "failed": true, "pending": true} {
			_, err := st.GetJob(ctx, id)
			if (err == nil) != want {
				t.Errorf("job %s: kept=%v, want kept=%v (%v)", id, err == nil, want, err)
			}
		}
		// A purged event id can be appended again (it is gone, not hidden).
		must(t, st.AppendEvents(ctx, store.Event{ID: "old", Bot: "b1", Type: "sent", At: at(0)}), "re-append")
		evs, _, err = st.QueryEvents(ctx, store.EventQuery{Bot: "b1"})
		must(t, err, "events")
		if len(evs) != 2 {
			t.Fatalf("%d events after re-append, want 2", len(evs))
		}
	})

	t.Run("failed jobs go by their own age", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		for _, id := range []string{"done", "failed"} {
			must(t, st.ScheduleJob(ctx, job(id, at(0))), "schedule")
		}
		claimIDs(t, st, "w", at(0), 2, time.Minute)
		must(t, st.CompleteJob(ctx, "done", "w"), "complete")
		must(t, st.FailJob(ctx, "failed", "w", "x"), "fail")
		kept := func(want ...string) {
			t.Helper()
			for _, id := range []string{"done", "failed"} {
				_, err := st.GetJob(ctx, id)
				if (err == nil) != slices.Contains(want, id) {
					t.Fatalf("job %s: kept=%v, want kept=%v (%v)", id, err == nil, slices.Contains(want, id), err)
				}
			}
		}
		// Stores stamp UpdatedAt with their own clock: cut-offs are relative to it.
		res, err := st.Purge(ctx, store.PurgeOptions{JobsBefore: time.Now().Add(-time.Hour),
			FailedJobsBefore: time.Now().Add(-time.Hour)})
		must(t, err, "purge nothing old")
		if res.Jobs != 0 {
			t.Fatalf("purged %d jobs updated just now with cut-offs an hour ago", res.Jobs)
		}
		kept("done", "failed")
		res, err = st.Purge(ctx, store.PurgeOptions{FailedJobsBefore: time.Now().Add(time.Hour)})
		must(t, err, "purge failed")
		if res.Jobs != 1 {
			t.Fatalf("purged %d jobs, want the failed one", res.Jobs)
		}
		kept("done")
		res, err = st.Purge(ctx, store.PurgeOptions{JobsBefore: time.Now().Add(time.Hour)})
		must(t, err, "purge done")
		if res.Jobs != 1 {
			t.Fatalf("purged %d jobs, want the done one", res.Jobs)
		}
		kept()
	})

	t.Run("many owners with old and new documents interleaved", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		n := s.cfg.Items
		convs, bots := 17, 5
		var msgs []store.Message
		var evs []store.Event
		oldMsgs, oldEvs := 0, 0
		for i := range n {
			// Every third document is old; owners and times interleave, so
			// old documents sit between new ones in every store order.
			d := time.Duration(i) * time.Second
			if i%3 == 0 {
				d -= 72 * time.Hour
				oldMsgs++
				oldEvs++
			}
			msgs = append(msgs, store.Message{ID: "m" + pad(i), ConversationID: fmt.Sprintf("b1:telegram:%d", i%convs),
				Direction: store.DirectionIn, Text: "hi", At: at(d)})
			evs = append(evs, store.Event{ID: "e" + pad(i), Bot: fmt.Sprintf("b%d", i%bots), Type: "sent", At: at(d)})
		}
		must(t, st.AppendMessages(ctx, msgs...), "messages")
		must(t, st.AppendEvents(ctx, evs...), "events")
		for i := range n {
			must(t, st.ScheduleJob(ctx, job("p"+pad(i), at(time.Hour))), "schedule pending")
			must(t, st.ScheduleJob(ctx, job("d"+pad(i), at(0))), "schedule done")
		}
		for claimed := 0; claimed < n; {
			ids := claimIDs(t, st, "w", at(0), store.MaxLimit, time.Minute)
			if len(ids) == 0 {
				t.Fatalf("claimed %d of %d due jobs", claimed, n)
			}
			for _, id := range ids {
				must(t, st.CompleteJob(ctx, id, "w"), "complete")
			}
			claimed += len(ids)
		}

		res, err := st.Purge(ctx, store.PurgeOptions{EventsBefore: at(-time.Hour), MessagesBefore: at(-time.Hour),
			JobsBefore: time.Now().Add(time.Hour), FailedJobsBefore: time.Now().Add(time.Hour)})
		must(t, err, "purge")
		if res.Messages != int64(oldMsgs) || res.Events != int64(oldEvs) || res.Jobs != int64(n) {
			t.Fatalf("purged %+v, want %d messages, %d events, %d jobs", res, oldMsgs, oldEvs, n)
		}
		left := 0
		for c := range convs {
			var got []store.Message
			for cur := ""; ; {
				page, next, err := st.ListMessages(ctx, fmt.Sprintf("b1:telegram:%d", c), cur, 0)
				must(t, err, "list")
				got = append(got, page...)
				if next == "" {
					break
				}
				cur = next
			}
			for i, m := range got {
				if m.At.Before(at(-time.Hour)) || (i > 0 && m.At.Before(got[i-1].At)) {
					t.Fatalf("conversation %d keeps %s at %v (after %d lines)", c, m.ID, m.At, i)
				}
			}
			left += len(got)
		}
		if left != n-oldMsgs {
			t.Fatalf("%d messages left, want %d", left, n-oldMsgs)
		}
		if pending, err := st.CountPendingJobs(ctx); err != nil || pending != int64(n) {
			t.Fatalf("%d pending jobs after purge (%v), want all %d", pending, err, n)
		}
		if _, err := st.GetJob(ctx, "p"+pad(0)); err != nil {
			t.Fatalf("pending job purged: %v", err)
		}
		// A second purge finds nothing left to delete.
		res, err = st.Purge(ctx, store.PurgeOptions{EventsBefore: at(-time.Hour), MessagesBefore: at(-time.Hour),
			JobsBefore: time.Now().Add(time.Hour)})
		must(t, err, "purge again")
		if res != (store.PurgeResult{}) {
			t.Fatalf("second purge deleted %+v, want nothing", res)
		}
	})

	t.Run("zero options delete nothing", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		must(t, st.AppendMessages(ctx, store.Message{ID: "old", ConversationID: "c", At: at(-48 * time.Hour)}), "message")
		res, err := st.Purge(ctx, store.PurgeOptions{})
		must(t, err, "purge")
		msgs, _, err := st.ListMessages(ctx, "c", "", 0)
		must(t, err, "list")
		if res != (store.PurgeResult{}) || len(msgs) != 1 {
			t.Fatalf("empty purge deleted %+v, left %d messages", res, len(msgs))
		}
	})
}
