package storetest

import (
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func (s *suite) sessions(t *testing.T) {
	t.Run("put, get, extend, delete", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		_, err := st.GetSession(ctx, "none")
		wantErr(t, err, store.ErrNotFound, "get from an empty store")
		must(t, st.DeleteSession(ctx, "none"), "delete from an empty store")
		wantErr(t, st.ExtendSession(ctx, "none", at(0)), store.ErrNotFound, "extend in an empty store")
		a := store.Session{ID: "5e55a", UserID: "u1", CSRF: "c1", CreatedAt: at(0), ExpiresAt: at(12 * time.Hour),
			IP: "192.0.2.1", UserAgent: "Firefox"}
		must(t, st.PutSession(ctx, a), "put")
		got, err := st.GetSession(ctx, a.ID)
		must(t, err, "get")
		sameJSON(t, "session", got, a)
		if !got.ExpiresAt.Equal(a.ExpiresAt) {
			t.Fatalf("expires %v, want %v", got.ExpiresAt, a.ExpiresAt)
		}
		// Another replica sees it: the point of keeping sessions in the store.
		other := s.cfg.Replica(t, st)
		got, err = other.GetSession(ctx, a.ID)
		must(t, err, "get from a replica")
		sameJSON(t, "session on a replica", got, a)

		must(t, st.ExtendSession(ctx, a.ID, at(13*time.Hour)), "extend")
		got, err = st.GetSession(ctx, a.ID)
		must(t, err, "get extended")
		a.ExpiresAt = at(13 * time.Hour)
		sameJSON(t, "extended session", got, a)
		a.CSRF = "c2"
		must(t, st.PutSession(ctx, a), "replace")
		got, err = st.GetSession(ctx, a.ID)
		must(t, err, "get replaced")
		sameJSON(t, "replaced session", got, a)
		must(t, st.DeleteSession(ctx, a.ID), "delete")
		_, err = st.GetSession(ctx, a.ID)
		wantErr(t, err, store.ErrNotFound, "get deleted")
		must(t, st.DeleteSession(ctx, a.ID), "delete twice")
		// A request that read the session before a sign-out cannot bring it back.
		wantErr(t, st.ExtendSession(ctx, a.ID, at(14*time.Hour)), store.ErrNotFound, "extend a deleted session")
		_, err = st.GetSession(ctx, a.ID)
		wantErr(t, err, store.ErrNotFound, "get after extending a deleted session")
	})

	t.Run("delete a user's sessions but one", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		for _, x := range []store.Session{
			{ID: "a1", UserID: "ann", ExpiresAt: at(time.Hour)},
			{ID: "a2", UserID: "ann", ExpiresAt: at(time.Hour)},
			{ID: "a3", UserID: "ann", ExpiresAt: at(time.Hour)},
			{ID: "b1", UserID: "bob", ExpiresAt: at(time.Hour)},
		} {
			must(t, st.PutSession(ctx, x), "put "+x.ID)
		}
		n, err := st.DeleteUserSessions(ctx, "ann", "a2")
		must(t, err, "delete ann's but a2")
		if n != 2 {
			t.Fatalf("deleted %d sessions, want 2", n)
		}
		for id, want := range map[string]bool{"a1": false, "a2": true, "a3": false, "b1": true} {
			_, err := st.GetSession(ctx, id)
			if want {
				must(t, err, "kept session "+id)
			} else {
				wantErr(t, err, store.ErrNotFound, "deleted session "+id)
			}
		}
		n, err = st.DeleteUserSessions(ctx, "ann", "")
		must(t, err, "delete all of ann's")
		if n != 1 {
			t.Fatalf("deleted %d sessions, want 1", n)
		}
		n, err = st.DeleteUserSessions(ctx, "nobody", "")
		must(t, err, "delete sessions of a user without any")
		if n != 0 {
			t.Fatalf("deleted %d sessions of nobody", n)
		}
	})

	t.Run("purge expired", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		n, err := st.PurgeSessions(ctx, at(0))
		must(t, err, "purge an empty store")
		if n != 0 {
			t.Fatalf("purged %d sessions from an empty store", n)
		}
		for i, exp := range []time.Duration{-time.Hour, -time.Millisecond, 0, time.Hour} {
			must(t, st.PutSession(ctx, store.Session{ID: pad(i), UserID: "u", ExpiresAt: at(exp)}), "put")
		}
		n, err = st.PurgeSessions(ctx, at(0))
		must(t, err, "purge")
		if n != 2 {
			t.Fatalf("purged %d sessions, want the 2 that expired before now", n)
		}
		for i, want := range []bool{false, false, true, true} {
			_, err := st.GetSession(ctx, pad(i))
			if want {
				must(t, err, "live session "+pad(i))
			} else {
				wantErr(t, err, store.ErrNotFound, "purged session "+pad(i))
			}
		}
	})
}
