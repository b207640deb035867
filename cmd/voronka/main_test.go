package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func voronka(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestValidatePrintsEveryMistakeWithItsPosition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.yaml")
	doc := `voronka: 1
id: broken
start: hello
nodes:
  hello:
    type: message
    text: "Hi {{ nmae }}"
    next: ask
  ask:
    type: question
    text: Budget?
    colour: red
    next: goodbye
  bye: { type: end }
`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := voronka("validate", path)
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		path + ":7:18: variable nmae is used but not declared under vars",
		path + `:12:5: unknown key "colour" in question node ask`,
		path + `:13:11: next: no node "goodbye"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestValidateOKFlows(t *testing.T) {
	code, out, errOut := voronka("validate", "../../flows")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, problems:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "lead-qualification.yaml: ok") {
		t.Fatalf("no confirmation:\n%s", errOut)
	}
}

func TestTestCommandExitCodes(t *testing.T) {
	code, out, _ := voronka("test", "../../flows")
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("example tests: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.yaml"), []byte("voronka: 1\nid: f\nstart: a\nnodes:\n  a: { type: end, text: hi }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "f.test.yaml"), []byte("flow: f.yaml\ncases:\n  - name: says hello\n    steps:\n      - send: x\n        expect: [hello]\n"), 0o644)
	code, out, _ = voronka("test", dir)
	if code != 1 || !strings.Contains(out, `expected "hello", got "hi"`) || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
		t.Fatalf("failing test: exit %d\n%s", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errOut := voronka("frobnicate"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
