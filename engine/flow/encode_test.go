package flow

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncodeRoundTrip: for every example flow, encode → parse → encode is
// byte-identical, the encoded document is as valid as the original, and
// positions survive.
func TestEncodeRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../../flows/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, ".test.yaml") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, ps := Load(path, src)
			if ps.HasErrors() {
				t.Fatalf("example has errors: %v", ps.Errors())
			}
			first, err := Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			// Validation fills in defaults; the encoding does not show them.
			unvalidated, _ := Parse(path, src)
			if raw, _ := Encode(unvalidated); !bytes.Equal(raw, first) {
				t.Fatalf("parsed and loaded flows encode differently:\n%s\n---\n%s", raw, first)
			}
			g, ps := Load("encoded.yaml", first)
			if ps.HasErrors() {
				t.Fatalf("encoded flow has errors: %v\n%s", ps.Errors(), first)
			}
			second, err := Encode(g)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatalf("not byte-identical:\n--- first\n%s\n--- second\n%s", first, second)
			}
			if len(g.Nodes) != len(f.Nodes) {
				t.Fatalf("%d nodes, want %d", len(g.Nodes), len(f.Nodes))
			}
			for i, n := range f.Nodes {
				m := g.Nodes[i]
				if m.ID != n.ID || (n.UI == nil) != (m.UI == nil) || (n.UI != nil && *n.UI != *m.UI) {
					t.Fatalf("node %d: %s %+v became %s %+v", i, n.ID, n.UI, m.ID, m.UI)
				}
				if len(m.Targets()) != len(n.Targets()) {
					t.Fatalf("node %s: edges %v became %v", n.ID, n.Targets(), m.Targets())
				}
			}
			// The JSON form is the same document.
			js, err := EncodeJSON(f)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js) {
				t.Fatalf("invalid JSON: %s", js)
			}
			h, ps := Load("encoded.json", js)
			if ps.HasErrors() {
				t.Fatalf("JSON form has errors: %v", ps.Errors())
			}
			third, err := Encode(h)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, third) {
				t.Fatalf("JSON → YAML differs:\n%s\n---\n%s", first, third)
			}
		})
	}
	if n == 0 {
		t.Fatal("no example flows found")
	}
}

// TestEncodeEveryField covers the fields the examples may not use.
func TestEncodeEveryField(t *testing.T) {
	src := `voronka: 1
id: all
start: a
expire: 45d
vars: {n: number, s: string, o: object}
scoring: {hot: 70, warm: 30.5}
triggers:
  - {command: /start, goto: a, reset: true}
faq:
  - {keywords: [x], answer: "y"}
nodes:
  a: {type: question, text: "Hi\nthere", save: s, expect: {regex: '^a+$'}, invalid: again, attempts: 2, on_fail: b, next: b, timeout: {after: 2h, next: b}, ui: {x: 1.5, y: -2}}
  b: {type: question, text: pick, expect: choice, choices: [one, two], next: c}
  c: {type: condition, branches: [{when: n > 3, next: d}], else: d}
  d: {type: score, add: -5, tags: [t1], next: e}
  e: {type: split, variants: [{name: A, weight: 2, next: f}, {name: B, next: f}]}
  f: {type: webhook, method: put, url: "https://x/{{ s }}", headers: {X-A: "1"}, body: {b: [1, true, "s"], a: null}, save: o, next: g, on_error: g}
  g: {type: set, vars: {n: "5", s: '"x"'}, next: h}
  h: {type: goal, name: won, value: 10, next: i}
  i: {type: delay, for: 1d, next: j}
  j: {type: handoff, text: wait, queue: sales, resume: k, note: VIP}
  k: {type: unsubscribe, next: l}
  l: {type: end, text: bye}
`
	f, ps := Load("all.yaml", []byte(src))
	if ps.HasErrors() {
		t.Fatalf("test flow has errors: %v", ps.Errors())
	}
	first, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ps := Load("encoded.yaml", first)
	if ps.HasErrors() {
		t.Fatalf("encoded flow has errors: %v\n%s", ps.Errors(), first)
	}
	second, _ := Encode(g)
	if !bytes.Equal(first, second) {
		t.Fatalf("not byte-identical:\n%s\n---\n%s", first, second)
	}
	for _, want := range []string{"expire: 45d", "regex: ^a+$", "choices: [one, two]", "ui: {x: 1.5, y: -2}", "method: PUT", "reset: true", "weight: 1\n", "add: -5"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("encoded flow lacks %q:\n%s", want, first)
		}
	}
}
