package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	// SessionID is the stored id (token hash) of the session; empty for the bearer token.
	SessionID string
}

// sessions keeps signed-in browsers in the store (store.Sessions), so a
// restart or another replica keeps people signed in. The cookie carries a
// token of 256 random bits; the store keeps only its SHA-256, so a copy of
// the database signs nobody in. The user is read with every session, so a
// role change or a deletion applies at once on every replica.
type sessions struct {
	st    store.Store
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger
	purge time.Duration // how often sign-in purges expired sessions

	mu         sync.Mutex
	lastPurged time.Time
}

func newSessions(st store.Store, ttl time.Duration, now func() time.Time, log *slog.Logger) *sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &sessions{st: st, ttl: ttl, now: now, log: log, purge: time.Hour}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionID is the stored id of a token.
func sessionID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// create starts a session for u and returns its token.
func (ss *sessions) create(ctx context.Context, u *store.User, ip, userAgent string) (string, *principal, error) {
	tok, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := ss.now().UTC()
	rec := store.Session{ID: sessionID(tok), UserID: u.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(ss.ttl),
		IP: ip, UserAgent: truncate(userAgent, 200)}
	if err := ss.st.PutSession(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("start session of %s: %w", u.Login, err)
	}
	ss.purgeExpired(ctx, now)
	return tok, principalOf(u, &rec), nil
}

// purgeExpired deletes expired sessions at most once per purge interval,
// on sign-in: without a TTL index (DESIGN.md) something has to.
func (ss *sessions) purgeExpired(ctx context.Context, now time.Time) {
	ss.mu.Lock()
	due := now.Sub(ss.lastPurged) >= ss.purge
	if due {
		ss.lastPurged = now
	}
	ss.mu.Unlock()
	if !due {
		return
	}
	n, err := ss.st.PurgeSessions(ctx, now)
	if err != nil {
		ss.log.Warn("purge expired sessions", "err", err)
		return
	}
	if n > 0 {
		ss.log.Info("purged expired sessions", "sessions", n)
	}
}

func principalOf(u *store.User, rec *store.Session) *principal {
	return &principal{UserID: u.ID, Login: u.Login, Name: u.Name, Role: u.Role, CSRF: rec.CSRF, SessionID: rec.ID}
}

// get returns who a token signs in, or nil when it signs in nobody (unknown,
// expired, or the user is gone). Using a session extends it; the extension
// is written at most once a minute, not on every request.
func (ss *sessions) get(ctx context.Context, tok string) (*principal, error) {
	if tok == "" {
		return nil, nil
	}
	id := sessionID(tok)
	rec, err := ss.st.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	now := ss.now().UTC()
	if !now.Before(rec.ExpiresAt) {
		if err := ss.st.DeleteSession(ctx, id); err != nil {
			ss.log.Warn("delete expired session", "err", err)
		}
		return nil, nil
	}
	u, err := ss.st.GetUser(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		if err := ss.st.DeleteSession(ctx, id); err != nil {
			ss.log.Warn("delete session of a deleted user", "err", err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the user of a session: %w", err)
	}
	if next := now.Add(ss.ttl); next.Sub(rec.ExpiresAt) >= time.Minute {
		err := ss.st.ExtendSession(ctx, id, next)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil // signed out (or dropped) since it was read
		case err != nil:
			// The session still works until its old expiry; say so and go on.
			ss.log.Warn("extend session", "login", u.Login, "err", err)
		}
	}
	return principalOf(u, rec), nil
}

func (ss *sessions) remove(ctx context.Context, tok string) error {
	if err := ss.st.DeleteSession(ctx, sessionID(tok)); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// dropUser ends every session of a user (deleted, role or password
// changed) but keep, the session of an admin who changed their own account.
func (ss *sessions) dropUser(ctx context.Context, userID, keep string) error {
	if _, err := ss.st.DeleteUserSessions(ctx, userID, keep); err != nil {
		return fmt.Errorf("end the sessions of user %s: %w", userID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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

// login checks a login and password and starts a session. Repeated
// failures for one login or from one address are refused for a while
// (signinLimiter) before the password is even checked.
func (s *Server) login(c *fiber.Ctx) error {
	if !jsonBody(c) {
		return &apiError{Status: fiber.StatusUnsupportedMediaType, Msg: "send the sign-in as Content-Type: application/json"}
	}
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(`the body must be {"login": "…", "password": "…"}`, err.Error())
	}
	login, ip := strings.TrimSpace(req.Login), c.IP()
	if wait := s.signins.blocked(login, ip); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		s.log.Warn("sign-in refused: too many failures", "login", login, "ip", ip, "retry_after_s", secs)
		return &apiError{Status: fiber.StatusTooManyRequests, Msg: "too many failed sign-ins, try again later",
			Details: fiber.Map{"retry_after": secs}}
	}
	u, err := s.cfg.Store.GetUserByLogin(c.UserContext(), login)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sign-in of %q: %w", login, err)
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
		s.signins.fail(login, ip)
		s.log.Info("sign-in refused", "login", login, "ip", ip)
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "wrong login or password"}
	}
	s.signins.succeed(login)
	tok, p, err := s.sessions.create(c.UserContext(), u, ip, c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: tok, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.secure(c), Expires: s.sessions.now().Add(s.sessions.ttl)})
	s.log.Info("signed in", "login", u.Login, "role", u.Role)
	return c.JSON(sessionJSON(p))
}

// secure reports whether cookies must be Secure: the request came over
// https, or the public URL is https (behind a TLS-terminating proxy).
func (s *Server) secure(c *fiber.Ctx) bool {
	return c.Protocol() == "https" || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

func (s *Server) logout(c *fiber.Ctx) error {
	tok := c.Cookies(SessionCookie)
	p, err := s.sessions.get(c.UserContext(), tok)
	if err != nil {
		return err
	}
	if p != nil {
		if !constantTimeEqual(c.Get(CSRFHeader), p.CSRF) {
			return &apiError{Status: fiber.StatusForbidden, Msg: "missing or wrong " + CSRFHeader}
		}
		if err := s.sessions.remove(c.UserContext(), tok); err != nil {
			return err
		}
		// Signed out: no new chats (their open ones stay theirs).
		if err := s.cfg.Store.TouchPresence(c.UserContext(), p.UserID, time.Time{}); err != nil {
			s.log.Warn("presence at sign-out", "user", p.UserID, "err", err)
		}
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.secure(c), Expires: time.Unix(0, 0)})
	return c.JSON(fiber.Map{"ok": true})
}

// getSession tells the builder who is signed in and the CSRF token to echo.
func (s *Server) getSession(c *fiber.Ctx) error {
	p, err := s.sessions.get(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil {
		return err
	}
	if p == nil {
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "not signed in"}
	}
	return c.JSON(sessionJSON(p))
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
	p, err := s.sessions.get(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil {
		return err
	}
	if p == nil {
		return &apiError{Status: fiber.StatusUnauthorized, Msg: "sign in or send the API token"}
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
	default:
		if !constantTimeEqual(c.Get(CSRFHeader), p.CSRF) {
			return &apiError{Status: fiber.StatusForbidden, Msg: "missing or wrong " + CSRFHeader}
		}
	}
	c.Locals("principal", p)
	c.Locals("user", p.Login)
	return c.Next()
}

// allow lets a route through for the given roles; admins pass everywhere.
// Every API route goes through it, so it also refuses malformed ids in the
// route (checkIDs) before a handler or the store sees them.
func allow(roles ...store.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := c.Locals("principal").(*principal)
		if p == nil {
			return &apiError{Status: fiber.StatusUnauthorized, Msg: "sign in or send the API token"}
		}
		if p.Role == store.RoleAdmin || slices.Contains(roles, p.Role) {
			return checkIDs(c)
		}
		return &apiError{Status: fiber.StatusForbidden, Msg: "your role (" + string(p.Role) + ") may not do this"}
	}
}

// PreviewBotPrefix starts the bot id of a builder preview (PreviewBots).
const PreviewBotPrefix = "preview~"

// conversationAccess lets operators and admins read any conversation and
// marketers only the preview conversations they started themselves; another
// marketer's preview is "not found", as if it did not exist.
func (s *Server) conversationAccess(c *fiber.Ctx) error {
	p, _ := c.Locals("principal").(*principal)
	if p == nil || p.Role != store.RoleMarketer {
		return allow(store.RoleOperator)(c)
	}
	bot, _, _ := strings.Cut(c.Params("id"), ":")
	if !strings.HasPrefix(bot, PreviewBotPrefix) {
		return allow(store.RoleOperator)(c)
	}
	if s.cfg.Preview == nil {
		return notFound("conversation")
	}
	if pv, ok := s.cfg.Preview.Parse(bot); !ok || pv.User != p.UserID {
		return notFound("conversation")
	}
	return checkIDs(c)
}
