package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// TestStateChangesOnlyFromOwnPages: a signed-in browser's state-changing
// request is refused when it comes from another site, whatever the cookie
// and even with the CSRF token; reads, webhooks and the API token are not
// browser cookies and pass. (App.Test's requests go to example.com.)
func TestStateChangesOnlyFromOwnPages(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.PublicURL = "https://voronka.example" })
	mark := signIn(t, s, "mark", "password-mark")
	doc := "voronka: 1\nid: f\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	cases := []struct {
		name         string
		c            *client
		method, path string
		body         string
		hdr          map[string]string
		want         int
	}{
		{"no browser hints (curl)", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, nil, 200},
		{"same origin", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, 200},
		{"Origin of this host", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "http://example.com"}, 200},
		{"Origin of the public URL", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "https://voronka.example"}, 200},
		{"Referer of this host", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Referer": "http://example.com/app/"}, 200},
		{"another site's Origin", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site fetch", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site, other origin", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://shop.example.com"}, 403},
		{"Origin null (sandboxed frame)", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "null"}, 403},
		{"another site's Referer", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Referer": "https://evil.example/x"}, 403},
		{"the public URL's port differs", mark, "PUT", "/api/bots/shop/flows/f/draft", doc, map[string]string{"Origin": "https://voronka.example:8443"}, 403},
		{"cross-site sign-out", mark, "POST", "/api/logout", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site read", mark, "GET", "/api/bots", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 200},
		{"API token from anywhere", &client{t: t, s: s}, "PUT", "/api/bots/shop/flows/f/draft", doc,
			map[string]string{"Authorization": "Bearer tok", "Origin": "https://evil.example"}, 200},
		{"Telegram webhook", &client{t: t, s: s}, "POST", "/telegram/shop", "{}", map[string]string{"Origin": "https://evil.example"}, 404},
		{"cross-site sign-in", &client{t: t, s: s}, "POST", "/api/login", `{"login":"mark","password":"password-mark"}`,
			map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
	}
	for _, c := range cases {
		if code, body, _ := c.c.do(c.method, c.path, c.body, c.hdr); code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, code, c.want, body)
		}
	}
}

// TestSignInOnlyAsJSON: a page on another site can post a form or text/plain
// without a preflight (login CSRF); sign-in takes only application/json.
func TestSignInOnlyAsJSON(t *testing.T) {
	s, _ := newTestServer(t)
	anon := &client{t: t, s: s}
	body := `{"login":"mark","password":"password-mark"}`
	for _, c := range []struct {
		ctype string
		want  int
	}{
		{"", 415},
		{"text/plain", 415},
		{"text/plain;charset=UTF-8", 415},
		{"application/x-www-form-urlencoded", 415},
		{"application/jsonx", 415},
		{"application/json", 200},
		{"application/json; charset=utf-8", 200},
		{"Application/JSON", 200},
	} {
		hdr := map[string]string{}
		if c.ctype != "" {
			hdr["Content-Type"] = c.ctype
		}
		code, resp, h := anon.do("POST", "/api/login", body, hdr)
		if code != c.want {
			t.Errorf("Content-Type %q: %d, want %d: %s", c.ctype, code, c.want, resp)
		}
		if code == 415 && h.Get("Set-Cookie") != "" {
			t.Errorf("Content-Type %q: refused but signed in", c.ctype)
		}
	}
}

// TestMetricsAreNotPublic: without a token the public port has no
// /metrics; with one it asks for it; the metrics listener serves them.
func TestMetricsAreNotPublic(t *testing.T) {
	open, _ := newTestServer(t)
	tokened, _ := newTestServer(t, func(c *Config) { c.MetricsToken = "m-secret" })
	cases := []struct {
		name string
		s    *Server
		hdr  map[string]string
		want int
	}{
		{"no token configured", open, nil, 404},
		{"no token configured, the API token", open, map[string]string{"Authorization": "Bearer tok"}, 404},
		{"token, none sent", tokened, nil, 401},
		{"token, the wrong one", tokened, map[string]string{"Authorization": "Bearer tok"}, 401},
		{"token, the right one", tokened, map[string]string{"Authorization": "Bearer m-secret"}, 200},
	}
	for _, c := range cases {
		code, body, _ := (&client{t: t, s: c.s}).do("GET", "/metrics", "", c.hdr)
		if code != c.want || (code == 200) != strings.Contains(body, "voronka_http_requests_total") {
			t.Errorf("%s: %d, want %d: %.80s", c.name, code, c.want, body)
		}
	}
	// The metrics listener: its own address, no token needed unless set.
	for _, c := range []struct {
		s     *Server
		token string
		want  int
	}{{open, "", 200}, {tokened, "", 401}, {tokened, "m-secret", 200}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		go func() { _ = c.s.ServeMetrics(ln) }()
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == 200 && !strings.Contains(string(b), "voronka_http_requests_total")) {
			t.Errorf("metrics listener, token %q: %d, want %d", c.token, resp.StatusCode, c.want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		must(t, c.s.metricsApp.ShutdownWithContext(ctx))
		cancel()
	}
}

// TestIDsAndCursorsAreChecked: a malformed bot, flow, user or conversation
// id, or a cursor no page ended with, is a 400 and stores nothing; the ids
// that exist keep working.
func TestIDsAndCursorsAreChecked(t *testing.T) {
	s, st := newTestServer(t)
	m := signIn(t, s, "mark", "password-mark")
	admin := signIn(t, s, "alice", "password-alice")
	must(t, st.CreateConversation(context.Background(), &store.Conversation{ID: "shop:web:x", Bot: "shop", Channel: "web", Chat: "x"}))
	doc := func(id string) string {
		return "voronka: 1\nid: " + id + "\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	}
	cases := []struct {
		name         string
		c            *client
		method, path string
		body         string
		want         int
	}{
		{"flow a~b~c d", m, "PUT", "/api/bots/shop/flows/a~b~c%20d/draft", doc("a"), 400},
		{"flow with a space", m, "PUT", "/api/bots/shop/flows/a%20b/draft", doc("a"), 400},
		{"flow with a colon", m, "PUT", "/api/bots/shop/flows/a:b/draft", doc("a"), 400},
		{"flow in Cyrillic", m, "PUT", "/api/bots/shop/flows/%D0%B2%D0%BE%D1%80%D0%BE%D0%BD%D0%BA%D0%B0/draft", doc("a"), 400},
		{"flow of 65 characters", m, "PUT", "/api/bots/shop/flows/" + strings.Repeat("f", 65) + "/draft", doc("a"), 400},
		{"flow starting with -", m, "GET", "/api/bots/shop/flows/-f/draft", "", 400},
		{"bot a~b", m, "GET", "/api/bots/a~b/flows", "", 400},
		{"bot on publish", m, "POST", "/api/bots/a~b/flows/f/publish", "", 400},
		{"bot on versions", m, "GET", "/api/bots/shop%20x/flows/f/versions", "", 400},
		{"bot of an import", m, "POST", "/api/import?bot=a~b", doc("f"), 400},
		{"user a~b", admin, "PUT", "/api/users/a~b", `{"name":"x"}`, 400},
		{"conversation without parts", admin, "GET", "/api/conversations/nonsense", "", 400},
		{"conversation with a bad bot", admin, "GET", "/api/conversations/a~b:web:x", "", 400},
		{"bad transcript cursor", admin, "GET", "/api/conversations/shop:web:x?cursor=not-a-cursor", "", 400},
		{"transcript without a cursor", admin, "GET", "/api/conversations/shop:web:x", "", 200},
		{"bad inbox cursor", admin, "GET", "/api/bots/shop/conversations?cursor=not-a-cursor", "", 400},
		// What exists keeps working.
		{"flow f", m, "PUT", "/api/bots/shop/flows/f/draft", doc("f"), 200},
		{"flow with digits and dashes", m, "PUT", "/api/bots/shop/flows/lead-qualification-2/draft", doc("lead-qualification-2"), 200},
		{"user u-mark", admin, "PUT", "/api/users/u-mark", `{"name":"Mark"}`, 200},
		{"a conversation id", admin, "GET", "/api/conversations/shop:web:AAAAAAAAAAAAAAAAAAAAAA", "", 404},
		{"a Telegram conversation id", admin, "GET", "/api/conversations/shop:telegram:-100123", "", 404},
		{"inbox without a cursor", admin, "GET", "/api/bots/shop/conversations", "", 200},
	}
	for _, c := range cases {
		if code, body, _ := c.c.do(c.method, c.path, c.body, nil); code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, code, c.want, body)
		}
	}
	ids, err := st.ListFlowIDs(context.Background(), "shop")
	must(t, err)
	for _, id := range ids {
		if !ValidID(id) {
			t.Errorf("a malformed flow id was stored: %q", id)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"f": true, "shop": true, "lead-qualification": true, "faq-bot": true, "u-0123456789abcdef": true,
		"Shop_2": true, strings.Repeat("a", 64): true,
		"": false, "-f": false, "_f": false, "a~b~c d": false, "a:b": false, "a/b": false, "a.b": false,
		"воронка": false, strings.Repeat("a", 65): false, "a\x00": false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, !want, want)
		}
	}
}

// TestSecurityHeaders: the builder and the API may not be framed and load
// only their own scripts; the widget script and the demo page stay
// embeddable on other sites.
func TestSecurityHeaders(t *testing.T) {
	s, _ := newTestServer(t)
	anon := &client{t: t, s: s}
	cases := []struct {
		path       string
		csp        string // a part the CSP must have; "" for no CSP
		framesDeny bool
	}{
		{"/app/", "script-src 'self'", true},
		{"/app/flows/x", "frame-ancestors 'none'", true},
		{"/api/session", "default-src 'none'", true},
		{"/api/bots", "frame-ancestors 'none'", true},
		{"/widget/voronka-widget.js", "", false},
		{"/", "", false},
	}
	// The widget runs on pages in any encoding (windows-1251 too): its
	// script says it is UTF-8, or its Russian text is garbled there.
	if _, _, h := anon.do("GET", "/widget/voronka-widget.js", "", nil); h.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("widget script Content-Type %q, want text/javascript; charset=utf-8", h.Get("Content-Type"))
	}
	for _, c := range cases {
		_, _, h := anon.do("GET", c.path, "", nil)
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != referrerPolicy {
			t.Errorf("%s: nosniff %q, referrer policy %q", c.path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		csp := h.Get("Content-Security-Policy")
		if c.csp == "" && csp != "" || !strings.Contains(csp, c.csp) {
			t.Errorf("%s: CSP %q, want it to have %q", c.path, csp, c.csp)
		}
		if deny := h.Get("X-Frame-Options") == "DENY" && strings.Contains(csp, "frame-ancestors 'none'"); deny != c.framesDeny {
			t.Errorf("%s: framing denied %v, want %v (X-Frame-Options %q, CSP %q)", c.path, deny, c.framesDeny, h.Get("X-Frame-Options"), csp)
		}
	}
}
