package flow

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addExampleFlows seeds a fuzz target with the example funnels, as YAML and
// in their canonical JSON, so the fuzzer starts from real documents.
func addExampleFlows(f *testing.F) {
	files, err := filepath.Glob("../../flows/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no example flows: %v", err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, ".test.yaml") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
		if fl, ps := Load(path, src); !ps.HasErrors() {
			if js, err := EncodeJSON(fl); err == nil {
				f.Add(js)
			}
		}
	}
}

// FuzzEncodeRoundTrip: a document that loads without errors encodes, as
// YAML and as JSON, to documents that load without errors to the same
// canonical YAML; nothing panics on the way.
func FuzzEncodeRoundTrip(f *testing.F) {
	addExampleFlows(f)
	f.Add([]byte(base))
	f.Add([]byte("voronka: 1\nid: s\nstart: a\nnodes:\n  a: { type: score, add: 1, tags: &t [hot, vip], next: b }\n  b: { type: score, add: 1, tags: *t, next: c }\n  c: { type: end }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, ps := Load("fuzz.yaml", data)
		if ps.HasErrors() {
			return
		}
		first, err := Encode(fl)
		if err != nil {
			t.Fatalf("encode a valid flow: %v", err)
		}
		g, ps := Load("encoded.yaml", first)
		if ps.HasErrors() {
			t.Fatalf("the encoding of a valid flow has errors: %v\n%s", ps.Errors(), first)
		}
		second, err := Encode(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding is not stable:\n--- first\n%s\n--- second\n%s", first, second)
		}
		js, err := EncodeJSON(fl)
		if err != nil {
			t.Fatalf("encode JSON: %v", err)
		}
		h, ps := Load("encoded.json", js)
		if ps.HasErrors() {
			t.Fatalf("the JSON of a valid flow has errors: %v\n%s", ps.Errors(), js)
		}
		if third, _ := Encode(h); !bytes.Equal(first, third) {
			t.Fatalf("YAML → JSON → YAML differs:\n--- YAML\n%s\n--- via JSON\n%s", first, third)
		}
	})
}
