package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/store"
)

// ErrNoFlow means a bot has no flow to run (no flow id, nothing published).
var ErrNoFlow = errors.New("no published flow")

// Flows gives the runtime compiled flow versions. A conversation stays on the
// version it started on (Program); a new run starts on Current.
type Flows interface {
	// Program returns a published version; errors wrap store.ErrNotFound
	// when it does not exist.
	Program(ctx context.Context, bot, flowID string, version int) (*engine.Program, error)
	// Current returns the version new conversations of bot start on: the
	// bot's flow, latest published version. Errors wrap ErrNoFlow.
	Current(ctx context.Context, bot string) (*engine.Program, error)
}

// StoreFlows serves published versions from the store, compiling each
// (bot, flow, version) once: published versions never change, so the cache
// never needs invalidating. Current asks the store every time, so a new
// publication reaches the next new conversation at once.
type StoreFlows struct {
	st  store.Store
	max int

	mu    sync.Mutex
	progs map[flowKey]*cachedProgram
	tick  uint64
}

type flowKey struct {
	bot, flow string
	version   int
}

type cachedProgram struct {
	prog *engine.Program
	used uint64
}

// NewStoreFlows caches up to max compiled programs (0 means 256); the least
// recently used one goes first.
func NewStoreFlows(st store.Store, max int) *StoreFlows {
	if max <= 0 {
		max = 256
	}
	return &StoreFlows{st: st, max: max, progs: map[flowKey]*cachedProgram{}}
}

// Program implements Flows.
func (f *StoreFlows) Program(ctx context.Context, bot, flowID string, version int) (*engine.Program, error) {
	k := flowKey{bot, flowID, version}
	if p := f.cached(k); p != nil {
		return p, nil
	}
	v, err := f.st.GetFlowVersion(ctx, bot, flowID, version)
	if err != nil {
		return nil, fmt.Errorf("flow %s/%s version %d: %w", bot, flowID, version, err)
	}
	return f.compile(k, v)
}

// Current implements Flows.
func (f *StoreFlows) Current(ctx context.Context, bot string) (*engine.Program, error) {
	b, err := f.st.GetBot(ctx, bot)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("bot %s: %w: %w", bot, ErrNoFlow, err)
		}
		return nil, fmt.Errorf("current flow of bot %s: %w", bot, err)
	}
	if b.FlowID == "" {
		return nil, fmt.Errorf("bot %s has no flow: %w", bot, ErrNoFlow)
	}
	v, err := f.st.LatestFlowVersion(ctx, bot, b.FlowID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("bot %s flow %s: %w: %w", bot, b.FlowID, ErrNoFlow, err)
		}
		return nil, fmt.Errorf("current flow of bot %s: %w", bot, err)
	}
	k := flowKey{bot, b.FlowID, v.Version}
	if p := f.cached(k); p != nil {
		return p, nil
	}
	return f.compile(k, v)
}

func (f *StoreFlows) cached(k flowKey) *engine.Program {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.progs[k]
	if c == nil {
		return nil
	}
	f.tick++
	c.used = f.tick
	return c.prog
}

func (f *StoreFlows) compile(k flowKey, v *store.FlowVersion) (*engine.Program, error) {
	fl, ps := flow.Load(k.bot+"/"+k.flow, v.Doc)
	if ps.HasErrors() {
		return nil, fmt.Errorf("flow %s/%s version %d: %w", k.bot, k.flow, k.version, ps.Errors())
	}
	p, err := engine.Compile(fl, v.Version)
	if err != nil {
		return nil, fmt.Errorf("flow %s/%s version %d: %w", k.bot, k.flow, k.version, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.progs[k]; c != nil {
		return c.prog, nil // compiled concurrently; keep one copy
	}
	if len(f.progs) >= f.max {
		var oldest flowKey
		min := ^uint64(0)
		for key, c := range f.progs {
			if c.used < min {
				oldest, min = key, c.used
			}
		}
		delete(f.progs, oldest)
	}
	f.tick++
	f.progs[k] = &cachedProgram{prog: p, used: f.tick}
	return p, nil
}

// StaticFlows serves fixed programs from memory, keyed by bot: tests and
// `make run` seeding use it where no flow was published to a store.
type StaticFlows map[string]*engine.Program

// Program implements Flows: the bot's program when flow id and version match.
func (s StaticFlows) Program(_ context.Context, bot, flowID string, version int) (*engine.Program, error) {
	p := s[bot]
	if p == nil || p.Flow.ID != flowID || p.Version != version {
		return nil, fmt.Errorf("flow %s/%s version %d: %w", bot, flowID, version, store.ErrNotFound)
	}
	return p, nil
}

// Current implements Flows.
func (s StaticFlows) Current(_ context.Context, bot string) (*engine.Program, error) {
	p := s[bot]
	if p == nil {
		return nil, fmt.Errorf("bot %s: %w", bot, ErrNoFlow)
	}
	return p, nil
}
