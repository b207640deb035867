package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/adapters/webchat"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// withPreview gives the test server preview ids on its clock and a web chat
// hub that checks hellos as voronka serve does.
func withPreview(clock *fakeClock) func(*Config) {
	return func(cfg *Config) {
		p, err := NewPreviewBots(cfg.Store, clock.Now)
		if err != nil {
			panic(err)
		}
		cfg.Preview = p
		cfg.Now = clock.Now
		// Sessions outlive the preview here, so expiry is the preview's own.
		cfg.SessionTTL = 72 * time.Hour
		cfg.Bots = NewBotInfo(cfg.Store, p, nil, nil)
		cfg.Live = webChatLive(cfg.Store, cfg.Bots, nopHandler{})
	}
}

// previewOf asks the API for the preview id of shop/f as c.
func previewOf(t *testing.T, c *client) string {
	t.Helper()
	code, body, _ := c.do("GET", "/api/bots/shop/flows/f/preview", "", nil)
	var r struct {
		Bot     string    `json:"bot"`
		Expires time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil || !strings.HasPrefix(r.Bot, PreviewBotPrefix) {
		t.Fatalf("preview id: %d %s", code, body)
	}
	if r.Expires.IsZero() {
		t.Fatalf("preview id without its expiry: %s", body)
	}
	return r.Bot
}

// TestPreviewIDRunsOnlyWhileItsUserMay: an id works for the session that
// asked for it, and stops working when it expires, when that user signs out,
// is deleted or becomes an operator. A stopped id runs nothing: the web chat
// hello is refused and the draft is not served to the runtime.
func TestPreviewIDRunsOnlyWhileItsUserMay(t *testing.T) {
	cases := []struct {
		name   string
		revoke func(t *testing.T, clock *fakeClock, mark, admin *client)
		want   string // "" when the id still works
	}{
		{"fresh", func(*testing.T, *fakeClock, *client, *client) {}, ""},
		{"almost a day later", func(_ *testing.T, clock *fakeClock, _, _ *client) { clock.Add(PreviewTTL - time.Minute) }, ""},
		{"expired", func(_ *testing.T, clock *fakeClock, _, _ *client) { clock.Add(PreviewTTL) }, "expired"},
		{"signed out", func(t *testing.T, _ *fakeClock, mark, _ *client) {
			if code, _, _ := mark.do("POST", "/api/logout", "", nil); code != 200 {
				t.Fatalf("logout: %d", code)
			}
		}, "signed out"},
		{"user deleted", func(t *testing.T, _ *fakeClock, _, admin *client) {
			if code, body, _ := admin.do("DELETE", "/api/users/u-mark", "", nil); code != 200 {
				t.Fatalf("delete: %d %s", code, body)
			}
		}, "signed out"},
		{"made an operator", func(t *testing.T, _ *fakeClock, _, admin *client) {
			if code, body, _ := admin.do("PUT", "/api/users/u-mark", `{"role":"operator"}`, nil); code != 200 {
				t.Fatalf("demote: %d %s", code, body)
			}
		}, "signed out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			s, st := newTestServer(t, withPreview(clock))
			mark := signIn(t, s, "mark", "password-mark")
			admin := signIn(t, s, "alice", "password-alice")
			id := previewOf(t, mark)
			must(t, st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "f", Doc: draftDoc("Hi"), UpdatedAt: time.Unix(1, 0)}))
			c.revoke(t, clock, mark, admin)

			hello := NewBotInfo(st, s.cfg.Preview, nil, nil).CheckBot(ctx, "web", id)
			_, draftErr := NewPreviewFlows(runtime.StaticFlows{}, st, s.cfg.Preview).Current(ctx, id)
			if c.want == "" {
				if hello != nil || draftErr != nil {
					t.Fatalf("a live preview refused: hello %v, draft %v", hello, draftErr)
				}
				return
			}
			if !errors.Is(hello, webchat.ErrUnknownBot) || !strings.Contains(hello.Error(), c.want) {
				t.Fatalf("hello: %v, want unknown bot (%s)", hello, c.want)
			}
			if !errors.Is(draftErr, runtime.ErrNoFlow) {
				t.Fatalf("the runtime still gets the draft: %v", draftErr)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPreviewIDsAreNotTransferable: an id names its flow, user and session
// under the signature; changing any part, or a key of another deployment,
// gives an id that runs nothing. The API token has no session to bind a
// preview to.
func TestPreviewIDsAreNotTransferable(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s, st := newTestServer(t, withPreview(clock))
	mark := signIn(t, s, "mark", "password-mark")
	id := previewOf(t, mark)
	parts := strings.Split(id, "~")
	swap := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "~")
	}
	other, _ := NewPreviewBots(st, clock.Now)
	otherID, _, err := other.Issue("shop", "f", "u-mark", s.cfg.Preview.mustParse(t, id).Session)
	must(t, err)
	for name, forged := range map[string]string{
		"another flow":      swap(2, "g"),
		"another user":      swap(3, "u-olga"),
		"a later expiry":    swap(5, "zzzzzz"),
		"no signature":      strings.Join(parts[:len(parts)-1], "~"),
		"another key":       otherID,
		"the old format":    "preview~shop~f~AAAAAAAAAAAA",
		"an ordinary bot":   "shop",
		"garbage signature": swap(6, "AAAAAAAAAAAAAAAA"),
	} {
		if err := NewBotInfo(st, s.cfg.Preview, nil, nil).CheckBot(ctx, "web", forged); !errors.Is(err, webchat.ErrUnknownBot) {
			t.Errorf("%s (%s): %v, want unknown bot", name, forged, err)
		}
	}
	long := strings.Repeat("b", 64)
	if id, _, err := s.cfg.Preview.Issue(long, long, "u-0123456789abcdef", s.cfg.Preview.mustParse(t, id).Session); err != nil || len(id) > 256 {
		t.Fatalf("the longest bot and flow ids with a generated user id: %d characters, %v", len(id), err)
	}
	if _, _, err := s.cfg.Preview.Issue(long, long, long, s.cfg.Preview.mustParse(t, id).Session); err == nil {
		t.Fatal("a preview id over 256 characters was issued; the web chat would refuse it")
	}
	if code, body, _ := (&client{t: t, s: s}).do("GET", "/api/bots/shop/flows/f/preview", "", map[string]string{"Authorization": "Bearer tok"}); code != 403 {
		t.Fatalf("preview id for the API token: %d %s", code, body)
	}
}

func (p *PreviewBots) mustParse(t *testing.T, id string) Preview {
	t.Helper()
	pv, ok := p.Parse(id)
	if !ok {
		t.Fatalf("Parse(%q) refused", id)
	}
	return pv
}

// TestPreviewConversationsAreTheirOwn: a marketer reads the conversations of
// their own previews only; another marketer's is not found. Admins and
// operators read any conversation.
func TestPreviewConversationsAreTheirOwn(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s, st := newTestServer(t, withPreview(clock))
	h, _ := HashPassword("password-mia")
	must(t, st.PutUser(ctx, store.User{ID: "u-mia", Login: "mia", Role: store.RoleMarketer, PasswordHash: h}))
	mark := signIn(t, s, "mark", "password-mark")
	mia := signIn(t, s, "mia", "password-mia")
	admin := signIn(t, s, "alice", "password-alice")
	olga := signIn(t, s, "olga", "password-olga")
	conv := func(bot string) string {
		id := store.ConversationID(bot, "web", "AAAAAAAAAAAAAAAAAAAAAA")
		must(t, st.CreateConversation(ctx, &store.Conversation{ID: id, Bot: bot, Channel: "web", Chat: "AAAAAAAAAAAAAAAAAAAAAA"}))
		return "/api/conversations/" + id
	}
	marks, mias, plain := conv(previewOf(t, mark)), conv(previewOf(t, mia)), conv("shop")
	cases := []struct {
		who  string
		c    *client
		path string
		want int
	}{
		{"mark, his own preview", mark, marks, 200},
		{"mark, mia's preview", mark, mias, 404},
		{"mia, her own preview", mia, mias, 200},
		{"mia, mark's preview", mia, marks, 404},
		{"mark, a customer's chat", mark, plain, 403},
		{"mark, a forged preview", mark, "/api/conversations/preview~shop~f~u-mark:web:x", 404},
		{"admin, mark's preview", admin, marks, 200},
		{"admin, mia's preview", admin, mias, 200},
		{"operator, a preview", olga, marks, 200},
		{"operator, a customer's chat", olga, plain, 200},
	}
	for _, c := range cases {
		if code, body, _ := c.c.do("GET", c.path, "", nil); code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.who, code, c.want, body)
		}
	}
}

// TestWebChatHelloWithARevokedPreview goes through the real socket: the
// builder's preview id is welcome while its user is signed in; once the user
// is deleted the same hello gets unknown_bot and a close.
func TestWebChatHelloWithARevokedPreview(t *testing.T) {
	clock := newClock()
	s, _ := newTestServer(t, withPreview(clock))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	mark := signIn(t, s, "mark", "password-mark")
	admin := signIn(t, s, "alice", "password-alice")
	id := previewOf(t, mark)
	hello := func() (webchat.ServerFrame, error) {
		t.Helper()
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws/chat", nil)
		must(t, err)
		defer conn.Close()
		must(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		must(t, conn.WriteJSON(webchat.ClientFrame{Type: webchat.TypeHello, V: 1, Bot: id}))
		var f webchat.ServerFrame
		must(t, conn.ReadJSON(&f))
		if f.Type == webchat.TypeWelcome {
			return f, nil
		}
		_, _, err = conn.ReadMessage() // the close
		return f, err
	}
	if f, _ := hello(); f.Type != webchat.TypeWelcome {
		t.Fatalf("the builder's preview: %+v", f)
	}
	if code, _, _ := admin.do("DELETE", "/api/users/u-mark", "", nil); code != 200 {
		t.Fatalf("delete mark: %d", code)
	}
	f, err := hello()
	var ce *websocket.CloseError
	if f.Type != webchat.TypeError || f.Code != webchat.CodeUnknownBot || !errors.As(err, &ce) || ce.Code != 1008 {
		t.Fatalf("a deleted user's preview: frame %+v, close %v; want unknown_bot and 1008", f, err)
	}
}
