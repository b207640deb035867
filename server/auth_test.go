package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/crypto/bcrypt"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
)

type nopHandler struct{}

func (nopHandler) Handle(context.Context, channel.Inbound) error { return nil }

func newTestServer(t *testing.T, opts ...func(*Config)) (*Server, store.Store) {
	t.Helper()
	st, err := bolt.Open(t.TempDir()+"/v.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	seedTestStore(t, st)
	return newServerOn(t, st, opts...), st
}

// seedTestStore adds the bot "shop" and the users alice (admin), mark
// (marketer) and olga (operator), each with the password "password-<login>".
func seedTestStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.PutBot(ctx, store.Bot{ID: "shop", Name: "Shop", FlowID: "f"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		login string
		role  store.Role
	}{{"alice", store.RoleAdmin}, {"mark", store.RoleMarketer}, {"olga", store.RoleOperator}} {
		// The lowest bcrypt cost keeps the tests quick under the race detector.
		h, err := bcrypt.GenerateFromPassword([]byte("password-"+u.login), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		nu := store.User{ID: "u-" + u.login, Login: u.login, Role: u.role, PasswordHash: string(h)}
		if err := st.PutUser(ctx, nu); err != nil {
			t.Fatal(err)
		}
	}
}

// newServerOn starts a server on an existing store: a restarted process or
// another replica.
func newServerOn(t *testing.T, st store.Store, opts ...func(*Config)) *Server {
	t.Helper()
	cfg := Config{Store: st, Handler: nopHandler{}, APIToken: "tok", Logger: slog.New(slog.DiscardHandler),
		UI:   fstest.MapFS{"index.html": {Data: []byte("<p>builder</p>")}},
		Live: webChatLive(st, anyBot{}, nopHandler{}), Bots: anyBot{}}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown logins are checked against a cheap hash too, or each one costs
	// seconds under the race detector.
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("voronka-no-such-user"), bcrypt.MinCost)
	})
	return s
}

// jsonType is the header of a JSON body, which sign-in requires.
var jsonType = map[string]string{"Content-Type": "application/json"}

type client struct {
	t      *testing.T
	s      *Server
	cookie string
	csrf   string
}

func (c *client) do(method, path, body string, hdr map[string]string) (int, string, http.Header) {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if c.cookie != "" {
		req.Header.Set("Cookie", SessionCookie+"="+c.cookie)
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.s.App().Test(req, -1)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func signIn(t *testing.T, s *Server, login, password string) *client {
	t.Helper()
	c := &client{t: t, s: s}
	code, body, h := c.do("POST", "/api/login", `{"login":"`+login+`","password":"`+password+`"}`, jsonType)
	if code != 200 {
		t.Fatalf("sign-in %s: %d %s", login, code, body)
	}
	sc := h.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(strings.ToLower(sc), "samesite=lax") {
		t.Fatalf("cookie lacks HttpOnly/SameSite: %s", sc)
	}
	c.cookie = strings.TrimPrefix(strings.Split(sc, ";")[0], SessionCookie+"=")
	var r struct{ CSRF string }
	_ = json.Unmarshal([]byte(body), &r)
	c.csrf = r.CSRF
	return c
}

func TestSignInSessionsAndCSRF(t *testing.T) {
	s, _ := newTestServer(t)
	anon := &client{t: t, s: s}
	if code, _, _ := anon.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	if code, _, _ := anon.do("POST", "/api/login", `{"login":"alice","password":"nope-nope"}`, jsonType); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _, _ := anon.do("POST", "/api/login", `{"login":"ghost","password":"nope-nope"}`, jsonType); code != 401 {
		t.Fatalf("unknown login: %d", code)
	}
	if code, _, _ := anon.do("GET", "/api/bots", "", map[string]string{"Authorization": "Bearer tok"}); code != 200 {
		t.Fatalf("bearer: %d", code)
	}
	m := signIn(t, s, "mark", "password-mark")
	if code, body, _ := m.do("GET", "/api/session", "", nil); code != 200 || !strings.Contains(body, `"role":"marketer"`) {
		t.Fatalf("session: %d %s", code, body)
	}
	doc := "voronka: 1\nid: f\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	if code, body, _ := m.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil); code != 200 {
		t.Fatalf("draft with CSRF: %d %s", code, body)
	}
	noCSRF := &client{t: t, s: s, cookie: m.cookie}
	if code, _, _ := noCSRF.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil); code != 403 {
		t.Fatalf("draft without CSRF: %d", code)
	}
	if code, _, _ := m.do("POST", "/api/logout", "", nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := m.do("GET", "/api/bots", "", nil); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
}

func TestRoles(t *testing.T) {
	s, _ := newTestServer(t)
	admin := signIn(t, s, "alice", "password-alice")
	mark := signIn(t, s, "mark", "password-mark")
	olga := signIn(t, s, "olga", "password-olga")
	cases := []struct {
		c            *client
		method, path string
		want         int
	}{
		{mark, "GET", "/api/spec", 200},
		{olga, "GET", "/api/spec", 403},
		{olga, "GET", "/api/bots/shop/conversations", 200},
		{mark, "GET", "/api/bots/shop/conversations", 403},
		{mark, "GET", "/api/conversations/shop:web:x", 403},
		{mark, "GET", "/api/conversations/preview~shop~f:web:x", 404}, // not a preview of this server
		{olga, "GET", "/api/conversations/shop:web:x", 404},
		{mark, "GET", "/api/users", 403},
		{admin, "GET", "/api/users", 200},
		{admin, "GET", "/api/bots/shop/conversations", 200},
	}
	for _, c := range cases {
		if code, body, _ := c.c.do(c.method, c.path, "", nil); code != c.want {
			t.Errorf("%s %s as %s: %d, want %d: %s", c.method, c.path, c.c.cookie[:4], code, c.want, body)
		}
	}
	code, body, _ := admin.do("POST", "/api/users", `{"login":"nina","role":"operator","password":"long-enough"}`, nil)
	if code != 201 || strings.Contains(body, "password") {
		t.Fatalf("create user: %d %s", code, body)
	}
	signIn(t, s, "nina", "long-enough")
}

func TestExportImportRoundTrip(t *testing.T) {
	s, _ := newTestServer(t)
	m := signIn(t, s, "mark", "password-mark")
	hand := "# written by hand\nvoronka: 1\nid: f\nstart: a\nnodes:\n  a:\n    type: message\n    text: hi\n    next: b\n  b: {type: end}\n"
	code, body, _ := m.do("POST", "/api/import?bot=shop", hand, nil)
	if code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	_, first, _ := m.do("GET", "/api/bots/shop/flows/f/export?format=yaml", "", nil)
	if code, body, _ := m.do("POST", "/api/import?bot=shop", first, nil); code != 200 {
		t.Fatalf("re-import: %d %s", code, body)
	}
	_, second, _ := m.do("GET", "/api/bots/shop/flows/f/export?format=yaml", "", nil)
	if first != second || !strings.Contains(first, "next: b") {
		t.Fatalf("export → import → export differs:\n%s\n---\n%s", first, second)
	}
	code, body, _ = m.do("GET", "/api/bots/shop/flows/f/draft", "", nil)
	if code != 200 || !strings.Contains(body, `"json":{"voronka":1,"id":"f"`) {
		t.Fatalf("draft JSON: %d %s", code, body)
	}
}

func TestBuilderServedAtApp(t *testing.T) {
	s, _ := newTestServer(t)
	c := &client{t: t, s: s}
	if code, body, _ := c.do("GET", "/app/", "", nil); code != 200 || !strings.Contains(body, "builder") {
		t.Fatalf("/app/: %d %s", code, body)
	}
	if code, body, _ := c.do("GET", "/app/flows/x", "", nil); code != 200 || !strings.Contains(body, "builder") {
		t.Fatalf("/app/ deep link: %d %s", code, body)
	}
	if code, body, _ := c.do("GET", "/", "", nil); code != 200 || !strings.Contains(body, "/app/") {
		t.Fatalf("demo page: %d %.200s", code, body)
	}
}
