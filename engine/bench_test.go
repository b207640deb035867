package engine

import (
	"testing"
	"time"

	"github.com/voronka/voronka/engine/flow"
)

const benchFlow = `
voronka: 1
id: bench
start: ask
vars:
  budget: number
nodes:
  ask:
    type: buttons
    text: "What brings you here?"
    buttons:
      - { label: "I want to buy", score: 20, tags: [buyer], next: check }
      - { label: "Just browsing", next: check }
  check:
    type: condition
    branches:
      - when: 'score >= 20 && "buyer" in tags'
        next: thanks
    else: thanks
  thanks:
    type: message
    text: "Thanks, {{ contact.first_name }}!"
`

// BenchmarkResume is one inbound button press on a waiting conversation of
// a three-node funnel (buttons → condition → message), including decoding
// the stored state and encoding the new one: the engine's share of handling
// one message.
func BenchmarkResume(b *testing.B) {
	f, ps := flow.Load("bench.yaml", []byte(benchFlow))
	if ps.HasErrors() {
		b.Fatal(ps)
	}
	p, err := Compile(f, 1)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	first := Step(p, &State{Contact: Contact{FirstName: "Anna", Channel: "telegram"}}, Input{Kind: InputText, Text: "hi", Now: now})
	if first.State.Node != "ask" {
		b.Fatalf("setup: at %q", first.State.Node)
	}
	stored := AppendState(nil, first.State)
	press := Input{Kind: InputPress, Payload: p.ButtonsOf("ask")[0].Payload, Now: now.Add(time.Minute), Rand: 42}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := DecodeState(stored, p)
		if err != nil {
			b.Fatal(err)
		}
		out := Step(p, st, press)
		if len(out.Messages) != 1 {
			b.Fatalf("got %d messages", len(out.Messages))
		}
		buf = AppendState(buf[:0], out.State)
	}
}
