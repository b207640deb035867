package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/crypto/bcrypt"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
)

// fuzzRoutes are the API routes that read a body from outside.
var fuzzRoutes = []struct{ method, path, contentType string }{
	{"PUT", "/api/bots/shop/flows/f/draft", "application/yaml"},
	{"POST", "/api/validate", "application/json"},
	{"POST", "/api/import?bot=shop", "application/yaml"},
	{"POST", "/api/bots/shop/flows/f/publish", "application/json"},
	{"POST", "/api/bots/shop/flows/f/publish", "application/yaml"},
	{"POST", "/api/users", "application/json"},
	{"PUT", "/api/users/u-mark", "application/json"},
	{"POST", "/api/login", "application/json"},
	{"POST", "/api/bots/shop/segments", "application/json"},
	{"POST", "/api/bots/shop/segments/count", "application/json"},
	{"POST", "/api/bots/shop/broadcasts", "application/json"},
	{"POST", "/api/bots/shop/canned", "application/json"},
}

// FuzzAPIBodies: whatever body comes to a route that reads one, the answer
// is JSON with a status below 500 (bad input is the sender's mistake, never
// the server's), and the server goes on answering.
func FuzzAPIBodies(f *testing.F) {
	examples, _ := filepath.Glob("../flows/*.yaml")
	for _, path := range examples {
		if strings.HasSuffix(path, ".test.yaml") {
			continue
		}
		if b, err := os.ReadFile(path); err == nil {
			f.Add(uint8(0), b)
			f.Add(uint8(1), b)
			f.Add(uint8(2), b)
		}
	}
	small := "voronka: 1\nid: f\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	for i, body := range []string{
		small, `{"voronka":1,"id":"f","start":"a","nodes":{"a":{"type":"end"}}}`, small, `{"note":"first"}`, small,
		`{"login":"bob","name":"Bob","role":"operator","password":"long-password-1"}`, `{"role":"admin","name":"Mark"}`,
		`{"login":"mark","password":"password-mark"}`,
		`{"name":"vip","filter":{"tags":["vip"],"score_min":10,"expr":"score > 1"}}`, `{"segments":["hot"],"first_seen_from":"2026-01-01T00:00:00Z"}`,
		`{"name":"n","variants":[{"name":"A","text":"Hi {{ contact.first_name }}","buttons":[{"label":"Go","node":"a"}]}],"start":true,"window":{"start":"10:00","end":"20:00"}}`,
		`{"shortcut":"/price","title":"Прайс","text":"{{ contact.first_name }}, цены"}`,
		`{"login":"nina","role":"operator","password":"long-password-2","queues":["sales"],"capacity":3}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	for _, s := range []string{"", "{", "[]", "null", `{"login":1}`, "\xff\xfe", `{"role":"root"}`, "a: &a [*a]", `"` + strings.Repeat("x", 100) + `"`} {
		f.Add(uint8(len(s)), []byte(s))
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", r.contentType)
		if r.path != "/api/login" {
			req.Header.Set("Authorization", "Bearer tok")
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, resp.StatusCode, b)
		}
		if !json.Valid(b) {
			t.Fatalf("%s %s with %q: %d answered %q, not JSON", r.method, r.path, body, resp.StatusCode, b)
		}
	})
}

// fuzzServer is newTestServer for a fuzz target: a bolt store with a bot
// and three users, the API token "tok".
func fuzzServer(tb testing.TB) *Server {
	st, err := bolt.Open(tb.TempDir()+"/v.db", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close(context.Background()) })
	ctx := context.Background()
	if err := st.PutBot(ctx, store.Bot{ID: "shop", Name: "Shop", FlowID: "f"}); err != nil {
		tb.Fatal(err)
	}
	for _, u := range []struct {
		login string
		role  store.Role
	}{{"alice", store.RoleAdmin}, {"mark", store.RoleMarketer}} {
		h, err := bcrypt.GenerateFromPassword([]byte("password-"+u.login), bcrypt.MinCost)
		if err != nil {
			tb.Fatal(err)
		}
		if err := st.PutUser(ctx, store.User{ID: "u-" + u.login, Login: u.login, Role: u.role, PasswordHash: string(h)}); err != nil {
			tb.Fatal(err)
		}
	}
	s, err := New(Config{Store: st, Handler: nopHandler{}, APIToken: "tok", Logger: slog.New(slog.DiscardHandler),
		UI: fstest.MapFS{"index.html": {Data: []byte("<p>builder</p>")}}})
	if err != nil {
		tb.Fatal(err)
	}
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("voronka-no-such-user"), bcrypt.MinCost)
	})
	return s
}
