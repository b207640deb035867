package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/voronka/voronka/engine/store"
)

// SessionCookie is the name of the builder's session cookie.
const SessionCookie = "voronka_session"

// CSRFHeader carries the session's CSRF token on every state-changing
// request authenticated by the cookie.
const CSRFHeader = "X-CSRF-Token"

// DefaultSessionTTL is how long a session lives without being used.
const DefaultSessionTTL = 12 * time.Hour

// principal is who makes a request: a signed-in user or the API token.
type principal struct {
	UserID string
	Login  string
	Name   string
	Role   store.Role
	CSRF   string // empty for the bearer token
}

// session is a signed-in browser.
type session struct {
	principal
	expires time.Time
}

// sessions keeps the sessions of one process in memory: a restart signs
// everybody out, which is acceptable for one process. Tokens are 256 random
// bits; only the server knows which are valid.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &sessions{ttl: ttl, now: time.Now, m: map[string]*session{}}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create starts a session for p and returns its token.
func (ss *sessions) create(p principal) (string, *session, error) {
	tok, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	if p.CSRF, err = randomToken(); err != nil {
		return "", nil, err
	}
	s := &session{principal: p, expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, v := range ss.m { // sweep on sign-in: sessions are few
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[tok] = s
	return tok, s, nil
}

// get returns the live session of a token and extends it.
func (ss *sessions) get(tok string) (*session, bool) {
	if tok == "" {
		return nil, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[tok]
	if s == nil {
		return nil, false
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, tok)
		return nil, false
	}
	s.expires = now.Add(ss.ttl)
	return s, true
}

func (ss *sessions) remove(tok string) {
	ss.mu.Lock()
	delete(ss.m, tok)
	ss.mu.Unlock()
}

// dropUser ends every session of a user (deleted, or role changed).
func (ss *sessions) dropUser(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if v.UserID == id {
			delete(ss.m, k)
		}
	}
}

// HashPassword returns the bcrypt hash of a password.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("the password needs at least 8 characters")
	}
	if len(password) > 72 {
		return "", errors.New("the password may have at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

func (s *Server) mountAuth(app *fiber.App) {
	app.Post("/api/login", s.login)
	app.Post("/api/logout", s.logout)
	app.Get("/api/session", s.getSession)
}

// login checks a login and password and starts a session.
func (s *Server) login(c *fiber.Ctx) error {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(`the body must be {"login": "…", "password": "…"}`, err.Error())
	}
	u, err := s.cfg.Store.GetUserByLogin(c.UserContext(), strings.TrimSpace(req.Login))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// An unknown login is compared against a dummy hash, so it takes as long
	// as a wrong password and does not tell which logins exist.
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("voronka-no-such-user"), bcrypt.DefaultCost)
	})
	hash := s.dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) != nil || u == nil {
		s.log.Info("sign-in refused", "login", req.Login, "ip", c.IP())
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "wrong login or password"}
	}
	tok, sess, err := s.sessions.create(principal{UserID: u.ID, Login: u.Login, Name: u.Name, Role: u.Role})
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: tok, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.secure(c), Expires: time.Now().Add(s.sessions.ttl)})
	s.log.Info("signed in", "login", u.Login, "role", u.Role)
	return c.JSON(sessionJSON(&sess.principal))
}

// secure reports whether cookies must be Secure: the request came over
// https, or the public URL is https (behind a TLS-terminating proxy).
func (s *Server) secure(c *fiber.Ctx) bool {
	return c.Protocol() == "https" || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

func (s *Server) logout(c *fiber.Ctx) error {
	tok := c.Cookies(SessionCookie)
	if sess, ok := s.sessions.get(tok); ok {
		if !constantTimeEqual(c.Get(CSRFHeader), sess.CSRF) {
			return &apiError{Status: fiber.StatusForbidden, Msg: "missing or wrong " + CSRFHeader}
		}
		s.sessions.remove(tok)
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.secure(c), Expires: time.Unix(0, 0)})
	return c.JSON(fiber.Map{"ok": true})
}

// getSession tells the builder who is signed in and the CSRF token to echo.
func (s *Server) getSession(c *fiber.Ctx) error {
	sess, ok := s.sessions.get(c.Cookies(SessionCookie))
	if !ok {
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "not signed in"}
	}
	return c.JSON(sessionJSON(&sess.principal))
}

func sessionJSON(p *principal) fiber.Map {
	return fiber.Map{"user": fiber.Map{"id": p.UserID, "login": p.Login, "name": p.Name, "role": p.Role}, "csrf": p.CSRF}
}

// guard lets an API request through with the bearer token (automation,
// with admin rights) or a session cookie; a cookie-authenticated request
// that changes state must echo the session's CSRF token. Anything else is
// refused: without a token and without users nothing gets in.
func (s *Server) guard(c *fiber.Ctx) error {
	if got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok {
		if tok := s.cfg.APIToken; tok == "" || !constantTimeEqual(got, tok) {
			return &apiError{Status: fiber.StatusUnauthorized, Msg: "wrong API token"}
		}
		c.Locals("principal", &principal{Login: "api", Role: store.RoleAdmin})
		c.Locals("user", "api")
		return c.Next()
	}
	sess, ok := s.sessions.get(c.Cookies(SessionCookie))
	if !ok {
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "sign in or send the API token"}
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
	default:
		if !constantTimeEqual(c.Get(CSRFHeader), sess.CSRF) {
			return &apiError{Status: fiber.StatusForbidden, Msg: "missing or wrong " + CSRFHeader}
		}
	}
	p := sess.principal
	c.Locals("principal", &p)
	c.Locals("user", p.Login)
	return c.Next()
}

// allow lets a route through for the given roles; admins pass everywhere.
func allow(roles ...store.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := c.Locals("principal").(*principal)
		if p == nil {
			return &apiError{Status: fiber.StatusUnauthorized, Msg: "sign in or send the API token"}
		}
		if p.Role == store.RoleAdmin || slices.Contains(roles, p.Role) {
			return c.Next()
		}
		return &apiError{Status: fiber.StatusForbidden, Msg: "your role (" + string(p.Role) + ") may not do this"}
	}
}

// PreviewBotPrefix starts the bot id of a builder preview:
// "preview~<bot>~<flow>" runs the draft of that flow.
const PreviewBotPrefix = "preview~"

// conversationAccess lets operators and admins read any conversation and
// marketers only the preview conversations of the builder.
func conversationAccess(c *fiber.Ctx) error {
	p, _ := c.Locals("principal").(*principal)
	if p != nil && p.Role == store.RoleMarketer && strings.HasPrefix(c.Params("id"), PreviewBotPrefix) {
		return c.Next()
	}
	return allow(store.RoleOperator)(c)
}
