package flow

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func TestSchemaFileIsUpToDate(t *testing.T) {
	want, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("engine/flow/schema.json is stale: run `go generate ./engine/flow`")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("flow.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// asJSON turns a YAML document into the JSON value a schema validator reads.
func asJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemaAcceptsEveryExampleFlow(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("../../flows/*.yaml")
	more, _ := filepath.Glob("../convtest/testdata/*/*.yaml")
	files = append(files, more...)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yaml") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(asJSON(t, src)); err != nil {
			t.Errorf("%s: rejected by the schema: %v", f, err)
		}
		n++
	}
	if n < 4 {
		t.Fatalf("found only %d example flows", n)
	}
}

func TestSchemaRejectsBadFlows(t *testing.T) {
	s := compileSchema(t)
	bad := map[string]string{
		"unknown top-level key": strings.Replace(base, "start: hello\n", "start: hello\ncolour: red\n", 1),
		"unknown node key":      strings.Replace(base, "    save: budget\n", "    save: budget\n    colour: red\n", 1),
		"unknown node type":     strings.Replace(base, "    type: end\n", "    type: finish\n", 1),
		"wrong version":         strings.Replace(base, "voronka: 1", "voronka: 2", 1),
		"bad duration":          strings.Replace(base, "    next: check\n", "    next: check\n    timeout: { after: soon, next: bye }\n", 1),
		"button without next":   strings.Replace(base, "{ label: Buy, next: ask }", "{ label: Buy }", 1),
		"no nodes":              "voronka: 1\nid: x\nstart: a\nnodes: {}\n",
		"bad variable type":     strings.Replace(base, "budget: number", "budget: money", 1),
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(asJSON(t, []byte(doc))); err == nil {
				t.Fatal("the schema accepted it")
			}
		})
	}
	if err := s.Validate(asJSON(t, []byte(base))); err != nil {
		t.Fatalf("the schema rejected the base flow: %v", err)
	}
}
