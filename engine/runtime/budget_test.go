package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// budgetFlow asks a question and checks the answer with the issue 11
// expression, 24.6 s of CPU on a 4 KB message before evaluation budgets.
const budgetFlow = `
voronka: 1
id: bf
start: ask
vars: { s: string }
nodes:
  ask: { type: question, text: "Say something", save: s, next: check }
  check:
    type: condition
    branches:
      - when: 'len(s) < 100 || count(1..4999, {s matches "^(.*a){20}b$"}) > 0'
        next: thanks
    else: thanks
  thanks: { type: end, text: "Thanks" }
`

// TestBudgetErrorIsNotAFailedHandle: a message whose step runs out of its
// evaluation budget is handled (Handle returns nil, so neither Telegram nor
// the web chat widget sends it again), recorded with an error event, and the
// conversation answers the next message.
func TestBudgetErrorIsNotAFailedHandle(t *testing.T) {
	h := newHarness(t, openBolt(t), withFlows(runtime.StaticFlows{bot: compile(t, "bf.yaml", []byte(budgetFlow))}))
	h.run(h.rt)
	h.text(h.rt, "1", "u1", "hi")
	h.waitTexts("1", "Say something")
	h.text(h.rt, "1", "u2", strings.Repeat("a", 4096)) // fails the test if Handle returns an error
	h.settle(h.rt)
	if c := h.conv("1"); c.Node != "ask" || c.Status != store.StatusWaiting {
		t.Fatalf("after the budget error the conversation is at %s/%s, want ask/waiting", c.Node, c.Status)
	}
	errs := h.events("error")
	if len(errs) != 1 || errs[0].Node != "check" || !strings.Contains(fmt.Sprint(errs[0].Data["value"]), "over the evaluation budget") {
		t.Fatalf("error events %+v, want one on check naming the budget", errs)
	}
	h.text(h.rt, "1", "u3", "a short answer")
	h.waitTexts("1", "Say something", "Thanks")
}
