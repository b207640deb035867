package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// PreviewBots issues and checks the bot ids of the builder's preview,
// "preview~<bot>~<flow>~<signature>": the runtime runs the draft of that
// flow for them. Only a signed-in marketer or admin gets an id (GET
// /api/bots/{bot}/flows/{flow}/preview), so nobody else can chat with an
// unpublished draft over the public web chat socket.
type PreviewBots struct {
	key []byte
}

// NewPreviewBots makes a signer with a random key: preview ids live as
// long as the process (tests; servers use SharedPreviewBots).
func NewPreviewBots() (*PreviewBots, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	return &PreviewBots{key: key}, nil
}

// previewKeySecret names the signing key in the store's secrets.
const previewKeySecret = "preview-bot-ids"

// SharedPreviewBots makes a signer with the key kept in the store, made on
// first use: ids one replica hands out are good on the others (the web
// chat socket may land on any) and after a restart.
func SharedPreviewBots(ctx context.Context, st store.Secrets) (*PreviewBots, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	key, err := st.Secret(ctx, previewKeySecret, fresh)
	if err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	return &PreviewBots{key: key}, nil
}

func (p *PreviewBots) sign(bot, flow string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(bot + "\x00" + flow))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:9])
}

// ID returns the preview bot id of a flow.
func (p *PreviewBots) ID(bot, flow string) string {
	return PreviewBotPrefix + bot + "~" + flow + "~" + p.sign(bot, flow)
}

// Parse checks a preview bot id and returns its bot and flow.
func (p *PreviewBots) Parse(id string) (bot, flow string, ok bool) {
	rest, found := strings.CutPrefix(id, PreviewBotPrefix)
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "~")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(p.sign(parts[0], parts[1]))) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// previewID answers the preview bot id of a flow (marketers and admins).
func (s *Server) previewID(c *fiber.Ctx) error {
	if s.cfg.Preview == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "preview is not available"}
	}
	bot, flow := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(c.UserContext(), bot); err != nil {
		return botErr(err)
	}
	id := s.cfg.Preview.ID(bot, flow)
	if len(id) > 64 {
		return badRequest("the bot and flow ids are too long for a preview (64 characters in all)", nil)
	}
	return c.JSON(fiber.Map{"bot": id})
}

// PreviewFlows serves the flows of the builder's preview to the runtime: a
// signed preview bot id (PreviewBots) runs the draft of its flow through
// the real engine; every other bot id goes to the published versions (next).
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
	// newest remembers the draft each preview bot ran last, so an unchanged
	// draft is neither hashed nor compiled again.
	newest map[string]previewDraft
	tick   uint64
}

type previewKey struct {
	bot     string
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

// NewPreviewFlows wraps next; it keeps up to 64 compiled drafts, the least
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

func (p *PreviewFlows) parse(bot string) (string, string, bool) {
	if !strings.HasPrefix(bot, PreviewBotPrefix) {
		return "", "", false
	}
	return p.ids.Parse(bot)
}

// Program implements runtime.Flows: a preview conversation gets the draft
// it started on. When that draft is neither cached nor still the current
// one, the error wraps store.ErrNotFound.
func (p *PreviewFlows) Program(ctx context.Context, bot, flowID string, version int) (*engine.Program, error) {
	b, f, ok := p.parse(bot)
	if !ok {
		return p.next.Program(ctx, bot, flowID, version)
	}
	if prog := p.cached(previewKey{bot, version}); prog != nil {
		return prog, nil
	}
	prog, err := p.Current(ctx, bot)
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
	b, f, ok := p.parse(bot)
	if !ok {
		return p.next.Current(ctx, bot)
	}
	d, err := p.st.GetDraft(ctx, b, f)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("preview of %s/%s: no draft: %w: %w", b, f, runtime.ErrNoFlow, err)
		}
		return nil, fmt.Errorf("preview of %s/%s: %w", b, f, err)
	}
	p.mu.Lock()
	last, seen := p.newest[bot]
	p.mu.Unlock()
	if seen && last.updated.Equal(d.UpdatedAt) {
		if prog := p.cached(previewKey{bot, last.version}); prog != nil {
			return prog, nil
		}
	}
	version := draftVersion(d.Doc)
	k := previewKey{bot, version}
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
	p.newest[bot] = previewDraft{updated: d.UpdatedAt, version: version}
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
