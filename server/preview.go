package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// PreviewTTL is how long a preview bot id works after the builder asked
// for it. The builder asks for a fresh one each time a preview starts.
const PreviewTTL = 24 * time.Hour

// ErrPreviewRefused means a preview bot id runs nothing: forged, expired, or
// its user signed out, was deleted or may no longer edit flows.
var ErrPreviewRefused = errors.New("preview refused")

// Preview is what a preview bot id grants: chatting with the draft of one
// flow, for as long as the user who asked stays signed in with the session
// they asked from, and at most until Expires.
type Preview struct {
	Bot, Flow string
	// User and Session are the user id and the stored session id of whoever
	// asked for the id.
	User, Session string
	Expires       time.Time
}

// PreviewStore is what checking a preview bot id reads: the signing key, the
// session it was issued to and its user.
type PreviewStore interface {
	store.Secrets
	GetSession(ctx context.Context, id string) (*store.Session, error)
	GetUser(ctx context.Context, id string) (*store.User, error)
}

// PreviewBots issues and checks the bot ids of the builder's preview,
// "preview~<bot>~<flow>~<user>~<session>~<expiry>~<signature>": the runtime
// runs the draft of that flow for them. Only a signed-in marketer or admin
// gets an id (GET /api/bots/{bot}/flows/{flow}/preview), bound to their
// user and session, so nobody else can chat with an unpublished draft over
// the public web chat socket, and an id stops working when it expires
// (PreviewTTL), when its user signs out or is deleted, or when they lose
// the right to edit flows.
type PreviewBots struct {
	key []byte
	st  PreviewStore
	now func() time.Time
}

// NewPreviewBots makes a signer with a random key: preview ids live as
// long as the process (tests; servers use SharedPreviewBots). st is where
// sessions and users are checked; now is the clock [time.Now].
func NewPreviewBots(st PreviewStore, now func() time.Time) (*PreviewBots, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	return newPreviewBots(key, st, now), nil
}

func newPreviewBots(key []byte, st PreviewStore, now func() time.Time) *PreviewBots {
	if now == nil {
		now = time.Now
	}
	return &PreviewBots{key: key, st: st, now: now}
}

// previewKeySecret names the signing key in the store's secrets.
const previewKeySecret = "preview-bot-ids"

// SharedPreviewBots makes a signer with the key kept in the store, made on
// first use: ids one replica hands out are good on the others (the web
// chat socket may land on any) and after a restart.
func SharedPreviewBots(ctx context.Context, st PreviewStore, now func() time.Time) (*PreviewBots, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	key, err := st.Secret(ctx, previewKeySecret, fresh)
	if err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	return newPreviewBots(key, st, now), nil
}

// sign is the signature of the fields of an id; they cannot hold "~" or a
// NUL (ValidID, hex and base64url), so the joined text is unambiguous.
func (p *PreviewBots) sign(fields ...string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(strings.Join(fields, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// Issue returns the preview bot id of a flow for a user's session and when
// it expires (PreviewTTL from now).
func (p *PreviewBots) Issue(bot, flow, userID, sessionID string) (string, time.Time, error) {
	if !ValidID(bot) || !ValidID(flow) || !ValidID(userID) {
		return "", time.Time{}, fmt.Errorf("preview of %q/%q for %q: %w", bot, flow, userID, errBadID)
	}
	raw, err := hex.DecodeString(sessionID)
	if err != nil || len(raw) != sha256.Size {
		return "", time.Time{}, errors.New("a preview needs a signed-in session")
	}
	sess := base64.RawURLEncoding.EncodeToString(raw)
	expires := p.now().Add(PreviewTTL).UTC().Truncate(time.Second)
	fields := []string{bot, flow, userID, sess, strconv.FormatInt(expires.Unix(), 36)}
	id := PreviewBotPrefix + strings.Join(fields, "~") + "~" + p.sign(fields...)
	if len(id) > maxPreviewIDLen {
		return "", time.Time{}, fmt.Errorf("the bot, flow and user ids are too long together for a preview id of at most %d characters", maxPreviewIDLen)
	}
	return id, expires, nil
}

// Parse checks the signature of a preview bot id and returns what it
// grants. It reads nothing and ignores the expiry: Check does both.
func (p *PreviewBots) Parse(id string) (Preview, bool) {
	rest, found := strings.CutPrefix(id, PreviewBotPrefix)
	if !found || len(id) > maxPreviewIDLen {
		return Preview{}, false
	}
	parts := strings.Split(rest, "~")
	if len(parts) != 6 || !ValidID(parts[0]) || !ValidID(parts[1]) || !ValidID(parts[2]) {
		return Preview{}, false
	}
	if !hmac.Equal([]byte(parts[5]), []byte(p.sign(parts[:5]...))) {
		return Preview{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[3])
	exp, eerr := strconv.ParseInt(parts[4], 36, 64)
	if err != nil || eerr != nil {
		return Preview{}, false
	}
	return Preview{Bot: parts[0], Flow: parts[1], User: parts[2], Session: hex.EncodeToString(raw),
		Expires: time.Unix(exp, 0).UTC()}, true
}

// maxPreviewIDLen bounds a preview bot id (and the web chat's bot ids): the
// session, expiry, signature and separators take 79 characters, which
// leaves 177 for the bot, flow and user ids (a generated user id has 18).
const maxPreviewIDLen = 256

// Check tells whether a preview bot id may run now: signed by this
// deployment, not expired, its session still signed in and its user still
// a marketer or an admin. A refusal wraps ErrPreviewRefused; any other
// error is the store's.
func (p *PreviewBots) Check(ctx context.Context, id string) (Preview, error) {
	pv, ok := p.Parse(id)
	if !ok {
		return Preview{}, fmt.Errorf("%w: not a preview id this server gave out", ErrPreviewRefused)
	}
	now := p.now()
	if !now.Before(pv.Expires) {
		return pv, fmt.Errorf("%w: expired; open the preview again", ErrPreviewRefused)
	}
	if p.st == nil {
		return pv, fmt.Errorf("%w: no store to check sessions in", ErrPreviewRefused)
	}
	sess, err := p.st.GetSession(ctx, pv.Session)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return pv, fmt.Errorf("%w: signed out; sign in and open the preview again", ErrPreviewRefused)
	case err != nil:
		return pv, fmt.Errorf("check preview session: %w", err)
	case sess.UserID != pv.User || !now.Before(sess.ExpiresAt):
		return pv, fmt.Errorf("%w: signed out; sign in and open the preview again", ErrPreviewRefused)
	}
	u, err := p.st.GetUser(ctx, pv.User)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return pv, fmt.Errorf("%w: the user is gone", ErrPreviewRefused)
	case err != nil:
		return pv, fmt.Errorf("check preview user: %w", err)
	case u.Role != store.RoleMarketer && u.Role != store.RoleAdmin:
		return pv, fmt.Errorf("%w: the user may no longer edit flows", ErrPreviewRefused)
	}
	return pv, nil
}

// previewID answers a preview bot id for the caller's session (marketers
// and admins signed in; the API token has no session to bind it to).
func (s *Server) previewID(c *fiber.Ctx) error {
	if s.cfg.Preview == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "preview is not available"}
	}
	p, _ := c.Locals("principal").(*principal)
	if p == nil || p.SessionID == "" {
		return &apiError{Status: fiber.StatusForbidden, Msg: "a preview belongs to a signed-in user; sign in to the builder"}
	}
	bot, flow := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(c.UserContext(), bot); err != nil {
		return botErr(err)
	}
	id, expires, err := s.cfg.Preview.Issue(bot, flow, p.UserID, p.SessionID)
	if err != nil {
		return badRequest(err.Error(), nil)
	}
	return c.JSON(fiber.Map{"bot": id, "expires_at": expires})
}

// PreviewFlows serves the flows of the builder's preview to the runtime: a
// preview bot id that passes PreviewBots.Check runs the draft of its flow
// through the real engine, checked again on every message and timer, so a
// preview dies with its user's session even mid-conversation; every other
// bot id goes to the published versions (next).
//
// A preview conversation stays on the draft it started on, as a published
// conversation stays on its version: the marketer keeps editing while
// chatting, and a conversation that jumped to a newer draft could stand on a
// node that no longer exists or miss the variables its path set. Each
// compiled draft gets a version number from a hash of its text, the same on
// every replica and after a restart; the builder says when the draft changed
// and restarts the preview on request. A new conversation, and one that
// ended and starts over, takes the newest draft.
type PreviewFlows struct {
	next runtime.Flows
	st   store.Flows
	ids  *PreviewBots
	max  int

	mu    sync.Mutex
	progs map[previewKey]*previewProgram
	// newest remembers the draft each flow ("bot/flow") ran last, so an
	// unchanged draft is neither hashed nor compiled again.
	newest map[string]previewDraft
	tick   uint64
}

// previewKey names a compiled draft: "bot/flow" and the draft's version. It
// is not the preview bot id, which changes with every preview started.
type previewKey struct {
	draft   string
	version int
}

type previewProgram struct {
	prog *engine.Program
	used uint64
}

type previewDraft struct {
	updated time.Time
	version int
}

// NewPreviewFlows wraps next; ids checks preview bot ids. It keeps up to 64 compiled drafts, the least
// recently used going first (a conversation whose draft was dropped carries
// on with the newest one, as the runtime does for a missing version).
func NewPreviewFlows(next runtime.Flows, st store.Flows, ids *PreviewBots) *PreviewFlows {
	return &PreviewFlows{next: next, st: st, ids: ids, max: 64,
		progs: map[previewKey]*previewProgram{}, newest: map[string]previewDraft{}}
}

// draftVersion numbers a draft by its text: 47 bits of its SHA-256, positive
// and exact in JavaScript, so equal drafts get equal versions everywhere.
func draftVersion(doc []byte) int {
	h := sha256.Sum256(doc)
	return int(binary.BigEndian.Uint64(h[:8]) >> 17)
}

// preview checks a preview bot id; ok is false for any other bot id. A
// refused preview runs nothing: its error wraps runtime.ErrNoFlow.
func (p *PreviewFlows) preview(ctx context.Context, bot string) (pv Preview, ok bool, err error) {
	if !strings.HasPrefix(bot, PreviewBotPrefix) {
		return Preview{}, false, nil
	}
	pv, err = p.ids.Check(ctx, bot)
	if errors.Is(err, ErrPreviewRefused) {
		return pv, true, fmt.Errorf("preview %s/%s: %w: %w", pv.Bot, pv.Flow, runtime.ErrNoFlow, err)
	}
	return pv, true, err
}

// Program implements runtime.Flows: a preview conversation gets the draft
// it started on. When that draft is neither cached nor still the current
// one, the error wraps store.ErrNotFound.
func (p *PreviewFlows) Program(ctx context.Context, bot, flowID string, version int) (*engine.Program, error) {
	pv, ok, err := p.preview(ctx, bot)
	if !ok {
		return p.next.Program(ctx, bot, flowID, version)
	}
	if err != nil {
		return nil, err
	}
	b, f := pv.Bot, pv.Flow
	if prog := p.cached(previewKey{b + "/" + f, version}); prog != nil {
		return prog, nil
	}
	prog, err := p.current(ctx, b, f)
	if err != nil {
		return nil, err
	}
	if prog.Version != version {
		return nil, fmt.Errorf("preview of %s/%s: draft version %d is gone: %w", b, f, version, store.ErrNotFound)
	}
	return prog, nil
}

// Current implements runtime.Flows: the newest draft for a preview bot.
func (p *PreviewFlows) Current(ctx context.Context, bot string) (*engine.Program, error) {
	pv, ok, err := p.preview(ctx, bot)
	if !ok {
		return p.next.Current(ctx, bot)
	}
	if err != nil {
		return nil, err
	}
	return p.current(ctx, pv.Bot, pv.Flow)
}

// current is the newest draft of flow f of bot b, compiled.
func (p *PreviewFlows) current(ctx context.Context, b, f string) (*engine.Program, error) {
	name := b + "/" + f
	d, err := p.st.GetDraft(ctx, b, f)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("preview of %s/%s: no draft: %w: %w", b, f, runtime.ErrNoFlow, err)
		}
		return nil, fmt.Errorf("preview of %s/%s: %w", b, f, err)
	}
	p.mu.Lock()
	last, seen := p.newest[name]
	p.mu.Unlock()
	if seen && last.updated.Equal(d.UpdatedAt) {
		if prog := p.cached(previewKey{name, last.version}); prog != nil {
			return prog, nil
		}
	}
	version := draftVersion(d.Doc)
	k := previewKey{name, version}
	prog := p.cached(k)
	if prog == nil {
		fl, ps := flow.Load(b+"/"+f+" (draft)", d.Doc)
		if ps.HasErrors() {
			return nil, fmt.Errorf("preview of %s/%s: the draft has errors: %w: %w", b, f, runtime.ErrNoFlow, ps.Errors())
		}
		if prog, err = engine.Compile(fl, version); err != nil {
			return nil, fmt.Errorf("preview of %s/%s: %w", b, f, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.newest[name] = previewDraft{updated: d.UpdatedAt, version: version}
	p.tick++
	p.progs[k] = &previewProgram{prog: prog, used: p.tick}
	if len(p.progs) > p.max {
		var oldest previewKey
		least := ^uint64(0)
		for key, c := range p.progs {
			if c.used < least {
				oldest, least = key, c.used
			}
		}
		delete(p.progs, oldest)
	}
	return prog, nil
}

func (p *PreviewFlows) cached(k previewKey) *engine.Program {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.progs[k]
	if c == nil {
		return nil
	}
	p.tick++
	c.used = p.tick
	return c.prog
}
