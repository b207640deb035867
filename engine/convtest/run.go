package convtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/flow"
)

// Result is the outcome of one case.
type Result struct {
	File string
	Case string
	Line int
	// Failure is empty when the case passed; otherwise the first difference.
	Failure string
}

// Passed reports whether the case passed.
func (r Result) Passed() bool { return r.Failure == "" }

// Summary counts results.
type Summary struct {
	Passed, Failed int
}

// RunDir runs every *.test.yaml under dir, writing a line per case and a
// closing "N passed, M failed" line to w.
func RunDir(dir string, w io.Writer) (Summary, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != dir) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".test.yaml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("find tests under %s: %w", dir, err)
	}
	if len(files) == 0 {
		return Summary{}, fmt.Errorf("no *.test.yaml files under %s", dir)
	}
	sort.Strings(files)
	var sum Summary
	for _, f := range files {
		for _, r := range RunFile(f) {
			Print(w, r)
			if r.Passed() {
				sum.Passed++
			} else {
				sum.Failed++
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	return sum, nil
}

// Print writes one result line (and the difference for a failure).
func Print(w io.Writer, r Result) {
	where := fmt.Sprintf("%s:%d", r.File, r.Line)
	if r.Passed() {
		fmt.Fprintf(w, "ok    %s  %s\n", where, r.Case)
		return
	}
	fmt.Fprintf(w, "FAIL  %s  %s\n      %s\n", where, r.Case, strings.ReplaceAll(r.Failure, "\n", "\n      "))
}

// RunFile runs every case of one test file.
func RunFile(path string) []Result {
	data, err := os.ReadFile(path)
	if err != nil {
		return []Result{{File: path, Case: "(file)", Line: 1, Failure: err.Error()}}
	}
	tf, errs := Parse(path, data)
	if len(errs) > 0 {
		return []Result{{File: path, Case: "(file)", Line: 1, Failure: errors.Join(errs...).Error()}}
	}
	flowPath := tf.Flow
	if !filepath.IsAbs(flowPath) {
		flowPath = filepath.Join(filepath.Dir(path), flowPath)
	}
	src, err := os.ReadFile(flowPath)
	if err != nil {
		return []Result{{File: path, Case: "(file)", Line: 1, Failure: fmt.Sprintf("read flow: %v", err)}}
	}
	f, ps := flow.Load(flowPath, src)
	if ps.HasErrors() {
		return []Result{{File: path, Case: "(file)", Line: 1, Failure: "the flow has errors:\n" + ps.Errors().Error()}}
	}
	prog, err := engine.Compile(f, 1)
	if err != nil {
		return []Result{{File: path, Case: "(file)", Line: 1, Failure: err.Error()}}
	}
	out := make([]Result, 0, len(tf.Cases))
	for _, c := range tf.Cases {
		r := Result{File: path, Case: c.Name, Line: c.Line}
		r.Failure = runCase(prog, tf, c)
		out = append(out, r)
	}
	return out
}

// conv is one simulated conversation: state, clock and pending timers.
type conv struct {
	prog   *engine.Program
	tf     *File
	c      Case
	st     *engine.State
	now    time.Time
	rng    *rand.Rand
	timers map[uint32]time.Time
	sent   []engine.Message // every message the bot sent in this case
	got    []engine.Message // messages of the current step
	errs   []error
}

func runCase(prog *engine.Program, tf *File, c Case) (failure string) {
	defer func() {
		if r := recover(); r != nil {
			failure = fmt.Sprintf("internal error: %v", r)
		}
	}()
	seed := c.Seed
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(c.Name))
		seed = h.Sum64()
	}
	cv := &conv{prog: prog, tf: tf, c: c, st: &engine.State{}, now: tf.Now,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), timers: map[uint32]time.Time{}}
	contact := tf.Contact
	if c.Contact != nil {
		contact = *c.Contact
	}
	cv.st.Contact = contact
	if c.Start != "" || len(c.Vars) > 0 || c.Score != 0 || len(c.Tags) > 0 {
		if err := cv.setup(); err != "" {
			return err
		}
	}
	for i, s := range c.Steps {
		// Messages sent while entering a case's start node are checked only by
		// a first step that has no action of its own.
		if i > 0 || hasAction(s) {
			cv.got = cv.got[:0]
			cv.errs = cv.errs[:0]
		}
		if msg := cv.act(s); msg != "" {
			return fmt.Sprintf("step %d (%s, line %d): %s", i+1, describeStep(s), s.Line, msg)
		}
		if s.Checks {
			if msg := compareMessages(s.Expect, cv.got); msg != "" {
				return fmt.Sprintf("step %d (%s, line %d): %s", i+1, describeStep(s), s.Line, msg)
			}
		}
		if s.State != nil {
			if msg := cv.compareState(s.State); msg != "" {
				return fmt.Sprintf("step %d (%s, line %d): %s", i+1, describeStep(s), s.Line, msg)
			}
		}
	}
	return ""
}

func hasAction(s Step) bool {
	return s.Send != nil || s.Press != nil || s.HasWait || s.Handback != nil
}

// setup applies a case's start, vars, score and tags before the first step.
// Messages sent while entering the start node count for a first step that
// has only expect.
func (cv *conv) setup() string {
	st := cv.st
	st.Flow = cv.prog.Flow.ID
	st.Version = cv.prog.Version
	st.Started = cv.now
	if len(cv.c.Vars) > 0 {
		st.Vars = map[string]any{}
		for k, v := range cv.c.Vars {
			t, ok := cv.prog.Flow.VarType(k)
			if !ok {
				return fmt.Sprintf("vars: %s is not declared in the flow", k)
			}
			conv, err := eval.Convert(v, t)
			if err != nil {
				return fmt.Sprintf("vars: %s: %v", k, err)
			}
			st.Vars[k] = conv
		}
	}
	st.Score = cv.c.Score
	st.Tags = slices.Clone(cv.c.Tags)
	start := cv.c.Start
	if start == "" {
		return "" // only state given: the first message starts the flow as usual
	}
	if cv.prog.Flow.Node(start) == nil {
		return fmt.Sprintf("start: no node %q in the flow", start)
	}
	st.Node = start // not new any more: the engine must not start over
	cv.step(engine.Input{Kind: engine.InputGoto, Goto: start})
	return ""
}

func (cv *conv) act(s Step) string {
	switch {
	case s.Send != nil:
		cv.step(engine.Input{Kind: engine.InputText, Text: *s.Send})
	case s.Press != nil:
		payload, ok := cv.findButton(*s.Press)
		if !ok {
			return fmt.Sprintf("no button %q in the bot's messages (buttons seen: %s)", *s.Press, quoteList(cv.labels()))
		}
		cv.step(engine.Input{Kind: engine.InputPress, Payload: payload, Text: *s.Press})
	case s.HasWait:
		cv.wait(s.Wait)
	case s.Handback != nil:
		cv.step(engine.Input{Kind: engine.InputHandback, Goto: *s.Handback})
	}
	if len(cv.errs) > 0 {
		return fmt.Sprintf("the flow failed: %v", errors.Join(cv.errs...))
	}
	return ""
}

// findButton looks for the label among the buttons the bot has sent, newest
// message first, the way a person scrolls up to an earlier message.
func (cv *conv) findButton(label string) (string, bool) {
	want := flow.NormalizeText(label)
	for i := len(cv.sent) - 1; i >= 0; i-- {
		for _, b := range cv.sent[i].Buttons {
			if flow.NormalizeText(b.Label) == want {
				return b.Payload, true
			}
		}
	}
	return "", false
}

func (cv *conv) labels() []string {
	var out []string
	for _, m := range cv.sent {
		for _, b := range m.Buttons {
			out = append(out, b.Label)
		}
	}
	return out
}

func (cv *conv) step(in engine.Input) {
	in.Now = cv.now
	in.Rand = cv.rng.Uint64()
	in.Env = cv.tf.Env
	out := engine.Step(cv.prog, cv.st, in)
	cv.apply(out)
}

func (cv *conv) apply(out engine.Output) {
	cv.st = out.State
	cv.got = append(cv.got, out.Messages...)
	cv.sent = append(cv.sent, out.Messages...)
	if out.Err != nil {
		cv.errs = append(cv.errs, out.Err)
	}
	for _, e := range out.Effects {
		switch e.Kind {
		case engine.EffectTimer:
			cv.timers[e.Timer] = cv.now.Add(e.After)
		case engine.EffectCancelTimer:
			delete(cv.timers, e.Timer)
		case engine.EffectWebhook:
			cv.step(engine.Input{Kind: engine.InputWebhook, Webhook: cv.mockResult(e.Webhook)})
		}
	}
}

func (cv *conv) mockResult(call *engine.WebhookCall) *engine.WebhookResult {
	m, ok := cv.c.Mock[call.Node]
	if !ok {
		m, ok = cv.tf.Mock[call.Node]
	}
	if !ok {
		return &engine.WebhookResult{ID: call.ID, Err: "no mock for webhook node " + call.Node + " (tests have no network)"}
	}
	res := &engine.WebhookResult{ID: call.ID, Status: m.Status, Err: m.Error}
	if m.Body != nil {
		res.Body, _ = json.Marshal(m.Body)
	}
	return res
}

// wait advances the test clock, firing due timers in order.
func (cv *conv) wait(d time.Duration) {
	target := cv.now.Add(d)
	for {
		var id uint32
		var due time.Time
		for tid, t := range cv.timers {
			if !t.After(target) && (id == 0 || t.Before(due) || t.Equal(due) && tid < id) {
				id, due = tid, t
			}
		}
		if id == 0 {
			break
		}
		delete(cv.timers, id)
		if due.After(cv.now) {
			cv.now = due
		}
		cv.step(engine.Input{Kind: engine.InputTimer, Timer: id})
	}
	cv.now = target
}

func compareMessages(want []Expect, got []engine.Message) string {
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(want):
			return fmt.Sprintf("expected %d message(s), got %d; extra message %d: %q", len(want), len(got), i+1, got[i].Text)
		case i >= len(got):
			return fmt.Sprintf("expected %d message(s), got %d; missing message %d: %s", len(want), len(got), i+1, describeExpect(want[i]))
		}
		w, g := want[i], got[i]
		if w.Text != nil && *w.Text != g.Text {
			return fmt.Sprintf("message %d: expected %q, got %q", i+1, *w.Text, g.Text)
		}
		if w.Match != nil && !w.Match.MatchString(g.Text) {
			return fmt.Sprintf("message %d: expected a match for /%s/, got %q", i+1, w.Match, g.Text)
		}
		if w.HasBtns {
			labels := make([]string, len(g.Buttons))
			for j, b := range g.Buttons {
				labels[j] = b.Label
			}
			if !slices.Equal(labels, w.Buttons) {
				return fmt.Sprintf("message %d (%q): expected buttons %s, got %s", i+1, g.Text, quoteList(w.Buttons), quoteList(labels))
			}
		}
	}
	return ""
}

func describeExpect(e Expect) string {
	switch {
	case e.Text != nil:
		return fmt.Sprintf("%q", *e.Text)
	case e.Match != nil:
		return "/" + e.Match.String() + "/"
	}
	return "a message with buttons " + quoteList(e.Buttons)
}

func (cv *conv) compareState(want *StateExpect) string {
	st := cv.st
	f := cv.prog.Flow
	if want.Node != nil && *want.Node != st.Node {
		return fmt.Sprintf("state.node: expected %q, got %q", *want.Node, st.Node)
	}
	if want.Status != nil && *want.Status != st.Status.String() {
		return fmt.Sprintf("state.status: expected %q, got %q", *want.Status, st.Status)
	}
	if want.Score != nil && *want.Score != st.Score {
		return fmt.Sprintf("state.score: expected %v, got %v", *want.Score, st.Score)
	}
	if want.Segment != nil && *want.Segment != f.Segment(st.Score) {
		return fmt.Sprintf("state.segment: expected %q, got %q", *want.Segment, f.Segment(st.Score))
	}
	if want.HasTags {
		a, b := slices.Clone(want.Tags), slices.Clone(st.Tags)
		slices.Sort(a)
		b = slices.Compact(sortedCopy(b))
		a = slices.Compact(a)
		if !slices.Equal(a, b) {
			return fmt.Sprintf("state.tags: expected %s, got %s", quoteList(a), quoteList(b))
		}
	}
	names := make([]string, 0, len(want.Vars))
	for k := range want.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w := want.Vars[k]
		g, ok := st.Vars[k]
		if !ok {
			return fmt.Sprintf("state.vars.%s: expected %s, but it is not set", k, show(w))
		}
		if !sameValue(w, g) {
			return fmt.Sprintf("state.vars.%s: expected %s, got %s", k, show(w), show(g))
		}
	}
	return ""
}

func sortedCopy(s []string) []string {
	slices.Sort(s)
	return s
}

// sameValue compares an expected YAML value with a state value: numbers by
// value, dates by their written form, lists and maps element by element.
func sameValue(want, got any) bool {
	want, got = eval.Normalize(want), eval.Normalize(got)
	if reflect.DeepEqual(want, got) {
		return true
	}
	switch g := got.(type) {
	case time.Time:
		if s, ok := want.(string); ok {
			return eval.Format(g) == s
		}
	case []any:
		w, ok := want.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range w {
			if !sameValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !sameValue(v, g[k]) {
				return false
			}
		}
		return true
	}
	return false
}

func show(v any) string {
	b, err := json.Marshal(eval.Normalize(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
