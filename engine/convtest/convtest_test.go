package convtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlowsMDExampleRunsUnchanged(t *testing.T) {
	var out bytes.Buffer
	sum, err := RunDir("testdata/flowsmd", &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 0 || sum.Passed != 3 {
		t.Fatalf("%d passed, %d failed:\n%s", sum.Passed, sum.Failed, out.String())
	}
}

// write puts a flow and a test file into a temp dir.
func write(t *testing.T, flow, test string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.test.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const tiny = `voronka: 1
id: tiny
start: ask
vars: { n: number }
nodes:
  ask:
    type: buttons
    text: "Pick one"
    buttons: [ { label: Yes, next: yes }, { label: No, next: no } ]
  yes: { type: end, text: "Great" }
  no: { type: end, text: "Pity" }
`

func TestFailuresShowTheFirstDifference(t *testing.T) {
	cases := []struct {
		name, steps, want string
	}{
		{"wrong text", `
      - send: hi
        expect: ["Pick two"]`, `step 1 (send "hi", line 5): message 1: expected "Pick two", got "Pick one"`},
		{"missing message", `
      - send: hi
        expect: ["Pick one", "More"]`, `expected 2 message(s), got 1; missing message 2: "More"`},
		{"extra message", `
      - send: hi
        expect: []`, `expected 0 message(s), got 1; extra message 1: "Pick one"`},
		{"wrong buttons", `
      - send: hi
        expect: [{ text: "Pick one", buttons: [Yes, Maybe] }]`, `expected buttons ["Yes", "Maybe"], got ["Yes", "No"]`},
		{"no such button", `
      - send: hi
      - press: Maybe`, `no button "Maybe" in the bot's messages (buttons seen: ["Yes", "No"])`},
		{"wrong state", `
      - send: hi
      - press: "Yes"
        state: { node: no, status: ended }`, `state.node: expected "no", got "yes"`},
		{"unset variable", `
      - send: hi
        state: { vars: { n: 1 } }`, `state.vars.n: expected 1, but it is not set`},
		{"pattern", `
      - send: hi
        expect: [{ match: "^Choose" }]`, `expected a match for /^Choose/, got "Pick one"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t, tiny, "flow: f.yaml\ncases:\n  - name: c\n    steps:"+c.steps+"\n")
			var out bytes.Buffer
			sum, err := RunDir(dir, &out)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed != 1 || !strings.Contains(out.String(), c.want) {
				t.Fatalf("want a failure mentioning %q, got:\n%s", c.want, out.String())
			}
			if !strings.HasSuffix(out.String(), "0 passed, 1 failed\n") {
				t.Fatalf("missing closing line:\n%s", out.String())
			}
		})
	}
}

func TestBrokenTestFilesAreReportedWithPositions(t *testing.T) {
	dir := write(t, tiny, "flow: f.yaml\ncases:\n  - name: c\n    steps:\n      - sned: hi\n")
	var out bytes.Buffer
	sum, _ := RunDir(dir, &out)
	if sum.Failed != 1 || !strings.Contains(out.String(), `f.test.yaml:5:9: unknown key "sned" in a step`) {
		t.Fatalf("got:\n%s", out.String())
	}
}

func TestABrokenFlowFailsItsTests(t *testing.T) {
	dir := write(t, strings.Replace(tiny, "next: no }", "next: nope }", 1), "flow: f.yaml\ncases:\n  - name: c\n    steps:\n      - send: hi\n")
	var out bytes.Buffer
	sum, _ := RunDir(dir, &out)
	if sum.Failed != 1 || !strings.Contains(out.String(), `no node "nope"`) {
		t.Fatalf("got:\n%s", out.String())
	}
}

func TestNoTestsIsAnError(t *testing.T) {
	if _, err := RunDir(t.TempDir(), &bytes.Buffer{}); err == nil {
		t.Fatal("an empty directory passed")
	}
}
