package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/server"
)

// previewFlows serves the builder's preview: a signed bot id
// "preview~<bot>~<flow>~<signature>" (server.PreviewBots) runs the draft of that flow through the real
// engine, compiled again whenever the draft changes. Every other bot id
// goes to the published versions (next).
type previewFlows struct {
	next runtime.Flows
	st   store.Store
	ids  *server.PreviewBots

	mu    sync.Mutex
	cache map[string]previewProgram
	seq   int
}

type previewProgram struct {
	updated time.Time
	prog    *engine.Program
}

func newPreviewFlows(next runtime.Flows, st store.Store, ids *server.PreviewBots) *previewFlows {
	return &previewFlows{next: next, st: st, ids: ids, cache: map[string]previewProgram{}}
}

// parsePreviewBot checks a signed preview bot id; a forged or unsigned one
// is an ordinary (unknown) bot.
func (p *previewFlows) parsePreviewBot(bot string) (string, string, bool) {
	if !strings.HasPrefix(bot, server.PreviewBotPrefix) {
		return "", "", false
	}
	return p.ids.Parse(bot)
}

// Program implements runtime.Flows. A preview conversation always runs the
// newest draft, whatever version it started on.
func (p *previewFlows) Program(ctx context.Context, bot, flowID string, version int) (*engine.Program, error) {
	if _, _, ok := p.parsePreviewBot(bot); ok {
		return p.Current(ctx, bot)
	}
	return p.next.Program(ctx, bot, flowID, version)
}

// Current implements runtime.Flows.
func (p *previewFlows) Current(ctx context.Context, bot string) (*engine.Program, error) {
	b, f, ok := p.parsePreviewBot(bot)
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
	c, ok := p.cache[bot]
	p.mu.Unlock()
	if ok && c.updated.Equal(d.UpdatedAt) {
		return c.prog, nil
	}
	fl, ps := flow.Load(b+"/"+f+" (draft)", d.Doc)
	if ps.HasErrors() {
		return nil, fmt.Errorf("preview of %s/%s: the draft has errors: %w: %w", b, f, runtime.ErrNoFlow, ps.Errors())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	prog, err := engine.Compile(fl, p.seq)
	if err != nil {
		return nil, fmt.Errorf("preview of %s/%s: %w", b, f, err)
	}
	p.cache[bot] = previewProgram{updated: d.UpdatedAt, prog: prog}
	return prog, nil
}
