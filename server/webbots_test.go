package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
)

// failingFlows is a flow source whose store is down.
type failingFlows struct{ runtime.StaticFlows }

func (failingFlows) Current(context.Context, string) (*engine.Program, error) {
	return nil, errors.New("store unreachable")
}

func TestHandoffTextNamesTheFlowsKeyword(t *testing.T) {
	compile := func(doc string) *engine.Program {
		f, ps := flow.Load("t.yaml", []byte(doc))
		if ps.HasErrors() {
			t.Fatal(ps)
		}
		p, err := engine.Compile(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	withOperator := compile(`
voronka: 1
id: shop
start: hi
triggers: [ { keywords: [оператор, human], goto: op } ]
nodes:
  hi: { type: message, text: Hi }
  op: { type: handoff, text: "Connecting", queue: support }
`)
	botOnly := compile(`
voronka: 1
id: quiz
start: hi
nodes:
  hi: { type: end, text: Bye }
`)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	handoff := NewBotInfo(nil, nil, runtime.StaticFlows{"shop": withOperator, "quiz": botOnly}, log).HandoffText
	ctx := context.Background()
	for bot, want := range map[string]string{"shop": "оператор", "quiz": "", "nobody": ""} {
		if got := handoff(ctx, bot); got != want {
			t.Errorf("bot %s: handoff %q, want %q", bot, got, want)
		}
	}
	// The store is down: no button rather than an error for the hello.
	if got := NewBotInfo(nil, nil, failingFlows{}, log).HandoffText(ctx, "shop"); got != "" {
		t.Errorf("with the store down: %q, want none", got)
	}
}
