package engine

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/voronka/voronka/engine/eval"
)

// The issue 11 expression: 24.6 s of CPU on a 4 KB message before budgets.
const hostileCond = `count(1..4999, {s matches "^(.*a){20}b$"}) > 0`

const budgetFlow = `
voronka: 1
id: b
start: ask
vars: { s: string }
nodes:
  ask: { type: question, text: "Say something", save: s, next: check }
  check:
    type: condition
    branches:
      - when: 'len(s) < 100 || ` + hostileCond + `'
        next: thanks
    else: thanks
  thanks: { type: message, text: "Thanks, {{ s }}", next: call }
  call:
    type: webhook
    url: "https://crm.example/?q={{ count(1..2000, upper(s + s + s + s) == \"x\") }}"
    next: done
    on_error: sorry
  sorry: { type: end, text: "Sorry" }
  done: { type: end, text: "Done" }
`

func TestBudgetErrorLeavesTheConversationWaiting(t *testing.T) {
	p := mustProgram(t, budgetFlow)
	start := Step(p, &State{}, text("hi"))
	if start.State.Node != "ask" || start.State.Wait != WaitReply {
		t.Fatalf("not asking: %+v", start.State)
	}
	before := AppendState(nil, start.State)

	long := strings.Repeat("a", 4096) // a 4 KB message, the most a messenger sends
	out := Step(p, start.State, text(long))
	if !errors.Is(out.Err, eval.ErrBudget) {
		t.Fatalf("Err = %v, want a budget error", out.Err)
	}
	// Nothing happened but the error: the conversation still waits at the
	// question, with the state it had, and the customer gets no
	// "try again" of any kind.
	if !bytes.Equal(AppendState(nil, out.State), before) {
		t.Fatalf("state changed: %+v", out.State)
	}
	if len(out.Messages) != 0 || len(out.Effects) != 0 {
		t.Fatalf("messages %v effects %+v after a budget error", texts(out.Messages), out.Effects)
	}
	if len(out.Events) != 1 || out.Events[0].Type != EvError || out.Events[0].Node != "check" ||
		!strings.Contains(out.Events[0].Value, "over the evaluation budget") {
		t.Fatalf("events %+v, want one error event on check naming the budget", out.Events)
	}

	// The next message goes through the same question as if the long one
	// had not come: the condition passes and the webhook's URL template,
	// over budget too, sends the conversation to its on_error.
	next := Step(p, out.State, text("short answer"))
	if got := texts(next.Messages); len(got) != 2 || got[0] != "Thanks, short answer" || got[1] != "Sorry" {
		t.Fatalf("next message: %v (err %v)", got, next.Err)
	}
	if next.State.Node != "sorry" || len(next.Effects) != 0 {
		t.Fatalf("webhook over budget: node %s, effects %+v", next.State.Node, next.Effects)
	}
	var errs []Event
	for _, e := range next.Events {
		if e.Type == EvError {
			errs = append(errs, e)
		}
	}
	if len(errs) != 1 || errs[0].Node != "call" || !strings.Contains(errs[0].Value, "over the evaluation budget") {
		t.Fatalf("error events %+v, want one on call", errs)
	}
	// Deterministic: the same input gives the same result.
	again := Step(p, start.State, text(long))
	if !bytes.Equal(AppendState(nil, again.State), before) || again.Events[0].Value != out.Events[0].Value {
		t.Fatal("a budget error is not reproducible")
	}
}

// BenchmarkHostileStep is a whole step with the issue 11 expression on a
// 4 KB message: the time the customer's message costs the server
// (cpu-ns/op is the process's CPU time, which a busy machine does not inflate).
func BenchmarkHostileStep(b *testing.B) {
	p := mustProgram(b, budgetFlow)
	st := Step(p, &State{}, text("hi")).State
	in := text(strings.Repeat("a", 4096))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		if out := Step(p, st, in); !errors.Is(out.Err, eval.ErrBudget) {
			b.Fatal(out.Err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}
