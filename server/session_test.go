package server

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func withClock(c *fakeClock) func(*Config) { return func(cfg *Config) { cfg.Now = c.Now } }

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func tryLogin(c *client, login, password string) (int, string, string) {
	code, body, h := c.do("POST", "/api/login", `{"login":"`+login+`","password":"`+password+`"}`, jsonType)
	return code, body, h.Get("Retry-After")
}

func TestSignInRateLimitPerLogin(t *testing.T) {
	clock := newClock()
	s, _ := newTestServer(t, withClock(clock))
	anon := &client{t: t, s: s}
	for i := range 5 {
		if code, body, _ := tryLogin(anon, "mark", "wrong-"+strconv.Itoa(i)); code != 401 {
			t.Fatalf("failure %d: %d %s", i+1, code, body)
		}
		clock.Add(10 * time.Second)
	}
	// The sixth attempt is refused before the password is checked, even the right one.
	code, body, retry := tryLogin(anon, "mark", "password-mark")
	if code != 429 || !strings.Contains(body, "too many") {
		t.Fatalf("sixth attempt: %d %s", code, body)
	}
	// The first failure was 50 s ago and leaves the 5-minute window in 250 s.
	if retry != "250" {
		t.Fatalf("Retry-After %q, want 250", retry)
	}
	// Another login from the same address is not blocked by mark's failures.
	signIn(t, s, "olga", "password-olga")
	clock.Add(249 * time.Second)
	if code, _, _ := tryLogin(anon, "mark", "password-mark"); code != 429 {
		t.Fatalf("a second before the window: %d", code)
	}
	clock.Add(time.Second)
	c := signIn(t, s, "mark", "password-mark")
	if code, _, _ := c.do("GET", "/api/spec", "", nil); code != 200 {
		t.Fatalf("after waiting: %d", code)
	}
	// A success cleared mark's failures: four more do not block.
	for range 4 {
		if code, _, _ := tryLogin(anon, "mark", "nope-nope"); code != 401 {
			t.Fatalf("after success: %d", code)
		}
	}
	signIn(t, s, "mark", "password-mark")
}

func TestSignInRateLimitPerAddress(t *testing.T) {
	clock := newClock()
	s, _ := newTestServer(t, withClock(clock))
	anon := &client{t: t, s: s}
	// Spraying one password over many logins: each login fails once, the
	// address twenty times.
	for i := range 20 {
		if code, _, _ := tryLogin(anon, "user"+strconv.Itoa(i), "Summer2030!"); code != 401 {
			t.Fatalf("spray %d: %d", i, code)
		}
	}
	code, _, retry := tryLogin(anon, "alice", "password-alice")
	if code != 429 || retry != "300" {
		t.Fatalf("after 20 failures from one address: %d, Retry-After %q", code, retry)
	}
	clock.Add(5 * time.Minute)
	signIn(t, s, "alice", "password-alice")
}

func TestSigninLimiterForgetsOldFailures(t *testing.T) {
	clock := newClock()
	l := newSigninLimiter(clock.Now)
	for range 4 {
		l.fail("ann", "192.0.2.1")
	}
	clock.Add(4 * time.Minute)
	l.fail("ann", "192.0.2.1")
	if w := l.blocked("ann", "192.0.2.1"); w != time.Minute {
		t.Fatalf("blocked for %v, want 1m (until the first four leave the window)", w)
	}
	clock.Add(time.Minute)
	if w := l.blocked("ann", "192.0.2.1"); w != 0 {
		t.Fatalf("still blocked for %v", w)
	}
	clock.Add(5 * time.Minute)
	l.blocked("ann", "192.0.2.1")
	if n := len(l.fails); n != 0 {
		t.Fatalf("%d keys kept after their failures expired", n)
	}
}

func TestSessionsSurviveRestartAndReachReplicas(t *testing.T) {
	clock := newClock()
	s1, st := newTestServer(t, withClock(clock))
	m := signIn(t, s1, "mark", "password-mark")

	// The store keeps a hash of the token, never the token.
	ctx := context.Background()
	if _, err := st.GetSession(ctx, m.cookie); err == nil {
		t.Fatal("the raw session token is stored")
	}
	rec, err := st.GetSession(ctx, sessionID(m.cookie))
	if err != nil || rec.UserID != "u-mark" || rec.CSRF != m.csrf {
		t.Fatalf("stored session: %+v %v", rec, err)
	}

	// A restarted process (or a second replica) on the same store knows the session.
	s2 := newServerOn(t, st, withClock(clock))
	m2 := &client{t: t, s: s2, cookie: m.cookie, csrf: m.csrf}
	if code, body, _ := m2.do("GET", "/api/session", "", nil); code != 200 || !strings.Contains(body, `"login":"mark"`) {
		t.Fatalf("session on the second server: %d %s", code, body)
	}
	doc := "voronka: 1\nid: f\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	if code, body, _ := m2.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil); code != 200 {
		t.Fatalf("write with the CSRF token on the second server: %d %s", code, body)
	}
	// Signing out on one signs out on all.
	if code, _, _ := m2.do("POST", "/api/logout", "", nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("first server after logout on the second: %d", code)
	}
	if _, err := st.GetSession(ctx, sessionID(m.cookie)); err == nil {
		t.Fatal("signed-out session still stored")
	}
}

func TestSessionsExpireAndPurge(t *testing.T) {
	clock := newClock()
	s, st := newTestServer(t, withClock(clock), func(c *Config) { c.SessionTTL = time.Hour })
	ctx := context.Background()
	m := signIn(t, s, "mark", "password-mark")
	// Use extends the session: 50 minutes later, then 50 more, still in.
	for range 2 {
		clock.Add(50 * time.Minute)
		if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 200 {
			t.Fatalf("used session: %d", code)
		}
	}
	rec, err := st.GetSession(ctx, sessionID(m.cookie))
	if err != nil || !rec.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("extended session: %+v %v", rec, err)
	}
	old := signIn(t, s, "olga", "password-olga")
	clock.Add(time.Hour + time.Second)
	if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("an hour unused: %d", code)
	}
	if _, err := st.GetSession(ctx, sessionID(m.cookie)); err == nil {
		t.Fatal("expired session read and kept")
	}
	// The next sign-in, an hour after the last purge, purges olga's expired session.
	signIn(t, s, "alice", "password-alice")
	if _, err := st.GetSession(ctx, sessionID(old.cookie)); err == nil {
		t.Fatal("expired session not purged on sign-in")
	}
}

func TestUserChangesEndSessions(t *testing.T) {
	s, st := newTestServer(t)
	admin := signIn(t, s, "alice", "password-alice")
	m := signIn(t, s, "mark", "password-mark")
	mOther := signIn(t, s, "mark", "password-mark")

	// Renaming keeps mark signed in; a new role ends his sessions.
	if code, body, _ := admin.do("PUT", "/api/users/u-mark", `{"name":"Mark"}`, nil); code != 200 {
		t.Fatalf("rename: %d %s", code, body)
	}
	if code, _, _ := m.do("GET", "/api/spec", "", nil); code != 200 {
		t.Fatalf("renamed user: %d", code)
	}
	if code, body, _ := admin.do("PUT", "/api/users/u-mark", `{"role":"operator"}`, nil); code != 200 || !strings.Contains(body, `"role":"operator"`) {
		t.Fatalf("role change: %d %s", code, body)
	}
	for _, c := range []*client{m, mOther} {
		if code, _, _ := c.do("GET", "/api/bots", "", nil); code != 401 {
			t.Fatalf("session after a role change: %d", code)
		}
	}
	// Signed in again, the new role applies.
	m = signIn(t, s, "mark", "password-mark")
	if code, _, _ := m.do("GET", "/api/spec", "", nil); code != 403 {
		t.Fatalf("operator opens the builder spec: %d", code)
	}
	// A password reset ends his sessions; the new password works, the old does not.
	if code, body, _ := admin.do("PUT", "/api/users/u-mark", `{"password":"brand-new-pass"}`, nil); code != 200 {
		t.Fatalf("reset password: %d %s", code, body)
	}
	if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("session after a password reset: %d", code)
	}
	if code, _, _ := tryLogin(&client{t: t, s: s}, "mark", "password-mark"); code != 401 {
		t.Fatalf("old password: %d", code)
	}
	m = signIn(t, s, "mark", "brand-new-pass")

	// An admin who resets their own password stays signed in here.
	if code, body, _ := admin.do("PUT", "/api/users/u-alice", `{"password":"alice-new-pass"}`, nil); code != 200 {
		t.Fatalf("own password: %d %s", code, body)
	}
	if code, _, _ := admin.do("GET", "/api/users", "", nil); code != 200 {
		t.Fatalf("admin after changing own password: %d", code)
	}
	// The last admin can neither step down nor be deleted.
	if code, body, _ := admin.do("PUT", "/api/users/u-alice", `{"role":"marketer"}`, nil); code != 409 {
		t.Fatalf("last admin steps down: %d %s", code, body)
	}
	if code, _, _ := admin.do("DELETE", "/api/users/u-alice", "", nil); code != 400 {
		t.Fatalf("admin deletes self: %d", code)
	}
	// Deleting a user ends their sessions at once.
	if code, body, _ := admin.do("DELETE", "/api/users/u-mark", "", nil); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("deleted user's session: %d", code)
	}
	if _, err := st.GetUser(context.Background(), "u-mark"); err == nil {
		t.Fatal("deleted user still stored")
	}
	// Non-admins get 403 on every users route.
	o := signIn(t, s, "olga", "password-olga")
	for _, r := range [][3]string{{"GET", "/api/users", ""}, {"POST", "/api/users", `{"login":"x","role":"admin","password":"long-enough"}`},
		{"PUT", "/api/users/u-olga", `{"role":"admin"}`}, {"DELETE", "/api/users/u-alice", ""}} {
		if code, _, _ := o.do(r[0], r[1], r[2], nil); code != 403 {
			t.Errorf("operator %s %s: %d", r[0], r[1], code)
		}
	}
	if u, _ := st.GetUser(context.Background(), "u-olga"); u == nil || u.Role != store.RoleOperator {
		t.Fatalf("operator changed own role: %+v", u)
	}
}

// Behind a trusted reverse proxy the per-address limit counts the client
// the proxy names in X-Forwarded-For; from anyone else the header is
// ignored, or a guesser would pick a new address for every try.
func TestSignInRateLimitPerAddressBehindAProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run("trusted "+strconv.FormatBool(trusted), func(t *testing.T) {
			clock := newClock()
			opts := []func(*Config){withClock(clock)}
			if trusted {
				// App.Test's requests come from 0.0.0.0.
				opts = append(opts, func(c *Config) { c.TrustedProxies = []string{"0.0.0.0/8"} })
			}
			s, _ := newTestServer(t, opts...)
			anon := &client{t: t, s: s}
			from := func(ip string) map[string]string {
				return map[string]string{"Content-Type": "application/json", "X-Forwarded-For": ip}
			}
			for i := range 20 {
				body := `{"login":"user` + strconv.Itoa(i) + `","password":"Summer2030!"}`
				if code, _, _ := anon.do("POST", "/api/login", body, from("203.0.113.7")); code != 401 {
					t.Fatalf("failure %d: %d", i, code)
				}
			}
			login := `{"login":"alice","password":"password-alice"}`
			if code, _, _ := anon.do("POST", "/api/login", login, from("203.0.113.7")); code != 429 {
				t.Fatalf("the guessing client: %d, want 429", code)
			}
			code, _, _ := anon.do("POST", "/api/login", login, from("198.51.100.2"))
			if want := map[bool]int{true: 200, false: 429}[trusted]; code != want {
				t.Fatalf("another client through the same proxy: %d, want %d", code, want)
			}
		})
	}
}
