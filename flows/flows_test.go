// Package flows holds the example funnels; its test runs their conversation
// tests and checks that, together, they exercise every node type and every
// test verb of FLOWS.md.
package flows

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/voronka/voronka/engine/convtest"
	"github.com/voronka/voronka/engine/flow"
)

func TestExampleFunnels(t *testing.T) {
	var out bytes.Buffer
	sum, err := convtest.RunDir(".", &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if sum.Failed > 0 {
		t.Fatalf("%d conversation tests failed:\n%s", sum.Failed, out.String())
	}
	if sum.Passed < 20 {
		t.Fatalf("only %d cases", sum.Passed)
	}
}

func TestExamplesCoverTheFormat(t *testing.T) {
	types := map[string]bool{}
	flows, _ := filepath.Glob("*.yaml")
	for _, name := range flows {
		if strings.HasSuffix(name, ".test.yaml") {
			continue
		}
		src, _ := os.ReadFile(name)
		f, ps := flow.Load(name, src)
		if len(ps) > 0 {
			t.Errorf("%s has problems:\n%v", name, ps)
		}
		for _, n := range f.Nodes {
			types[n.Type] = true
		}
		if _, err := os.Stat(strings.TrimSuffix(name, ".yaml") + ".test.yaml"); err != nil {
			t.Errorf("%s has no conversation test", name)
		}
	}
	for _, typ := range flow.NodeTypes() {
		if !types[typ] {
			t.Errorf("no example uses node type %s", typ)
		}
	}
	verbs := map[string]bool{}
	tests, _ := filepath.Glob("*.test.yaml")
	for _, name := range tests {
		src, _ := os.ReadFile(name)
		var doc yaml.Node
		if err := yaml.Unmarshal(src, &doc); err != nil {
			t.Fatal(err)
		}
		collectKeys(&doc, verbs)
	}
	for _, verb := range []string{"send", "press", "wait", "expect", "state", "start", "vars", "mock", "contact", "buttons", "match", "node", "status", "score", "segment", "tags"} {
		if !verbs[verb] {
			t.Errorf("no example test uses %q", verb)
		}
	}
}

func collectKeys(n *yaml.Node, into map[string]bool) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			into[n.Content[i].Value] = true
		}
	}
	for _, c := range n.Content {
		collectKeys(c, into)
	}
}
