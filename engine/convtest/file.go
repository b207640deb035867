// Package convtest runs conversation tests: scripted conversations written
// beside a flow as NAME.test.yaml (FLOWS.md), played through the real engine
// with a test clock, so a funnel can be tested in CI like code.
package convtest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/flow"
)

// File is one decoded test file.
type File struct {
	Path    string
	Flow    string // path of the flow, relative to the test file
	Contact engine.Contact
	Env     map[string]string
	Now     time.Time
	Mock    map[string]Mock
	Cases   []Case
}

// Case is one scripted conversation.
type Case struct {
	Name    string
	Line    int
	Start   string
	Vars    map[string]any
	Score   float64
	Tags    []string
	Contact *engine.Contact
	Mock    map[string]Mock
	Seed    uint64
	Steps   []Step
}

// Mock answers a webhook node without a network.
type Mock struct {
	Status int
	Body   any
	Error  string
}

// Step is one line of a script: an action (send, press, wait, handback) and
// what to check afterwards.
type Step struct {
	Line     int
	Send     *string
	Press    *string
	Wait     time.Duration
	HasWait  bool
	Handback *string // node to resume at, or "" for the handoff node's resume
	Expect   []Expect
	Checks   bool // expect was given (an empty list checks silence)
	State    *StateExpect
}

// Expect is one expected bot message.
type Expect struct {
	Text    *string
	Match   *regexp.Regexp
	Buttons []string
	HasBtns bool
}

// StateExpect lists the state fields a step checks; nil fields are not checked.
type StateExpect struct {
	Node    *string
	Status  *string
	Score   *float64
	Segment *string
	Tags    []string
	HasTags bool
	Vars    map[string]any
}

// DefaultNow is the test clock's start: a Monday morning, so quiet hours and
// weekday logic behave predictably.
var DefaultNow = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// ParseError is a problem in a test file, with its position.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// Parse decodes a test file, reporting every problem with its position.
func Parse(path string, data []byte) (*File, []error) {
	p := &parser{file: path}
	f := &File{Path: path, Now: DefaultNow}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []error{fmt.Errorf("%s: %v", path, err)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []error{fmt.Errorf("%s: a test file is a mapping with flow: and cases:", path)}
	}
	for _, e := range pairs(doc.Content[0]) {
		switch e.key.Value {
		case "flow":
			f.Flow = e.val.Value
		case "contact":
			f.Contact = p.contact(e.val)
		case "env":
			f.Env = map[string]string{}
			for _, kv := range pairs(e.val) {
				f.Env[kv.key.Value] = kv.val.Value
			}
		case "now":
			f.Now = p.time(e.val)
		case "mock":
			f.Mock = p.mocks(e.val)
		case "cases":
			for _, c := range e.val.Content {
				f.Cases = append(f.Cases, p.testCase(c))
			}
		default:
			p.errorf(e.key, "unknown key %q in a test file (allowed: flow, contact, env, now, mock, cases)", e.key.Value)
		}
	}
	if f.Flow == "" {
		p.errorf(doc.Content[0], "missing flow: the flow file this test runs")
	}
	return f, p.errs
}

type pair struct{ key, val *yaml.Node }

func pairs(n *yaml.Node) []pair {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		for v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		out = append(out, pair{n.Content[i], v})
	}
	return out
}

func (p *parser) contact(n *yaml.Node) engine.Contact {
	var c engine.Contact
	for _, e := range pairs(n) {
		switch e.key.Value {
		case "first_name":
			c.FirstName = e.val.Value
		case "last_name":
			c.LastName = e.val.Value
		case "username":
			c.Username = e.val.Value
		case "language":
			c.Language = e.val.Value
		case "channel":
			c.Channel = e.val.Value
		case "phone":
			c.Phone = e.val.Value
		default:
			p.errorf(e.key, "unknown key %q in contact (allowed: first_name, last_name, username, language, channel, phone)", e.key.Value)
		}
	}
	return c
}

func (p *parser) time(n *yaml.Node) time.Time {
	for _, l := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(l, n.Value); err == nil {
			return t
		}
	}
	p.errorf(n, "now: %q is not a time like 2026-01-05T10:00:00Z", n.Value)
	return DefaultNow
}

func (p *parser) mocks(n *yaml.Node) map[string]Mock {
	out := map[string]Mock{}
	for _, e := range pairs(n) {
		m := Mock{Status: 200}
		for _, kv := range pairs(e.val) {
			switch kv.key.Value {
			case "status":
				s, err := strconv.Atoi(kv.val.Value)
				if err != nil {
					p.errorf(kv.val, "mock status must be a number")
				}
				m.Status = s
			case "body":
				var v any
				if err := kv.val.Decode(&v); err != nil {
					p.errorf(kv.val, "mock body: %v", err)
				}
				m.Body = eval.Normalize(v)
			case "error":
				m.Error = kv.val.Value
			default:
				p.errorf(kv.key, "unknown key %q in a mock (allowed: status, body, error)", kv.key.Value)
			}
		}
		out[e.key.Value] = m
	}
	return out
}

func (p *parser) testCase(n *yaml.Node) Case {
	c := Case{Line: n.Line}
	for _, e := range pairs(n) {
		switch e.key.Value {
		case "name":
			c.Name = e.val.Value
		case "start":
			c.Start = e.val.Value
		case "vars":
			c.Vars = map[string]any{}
			for _, kv := range pairs(e.val) {
				var v any
				_ = kv.val.Decode(&v)
				c.Vars[kv.key.Value] = eval.Normalize(v)
			}
		case "score":
			c.Score = p.number(e.val)
		case "tags":
			c.Tags = p.strs(e.val)
		case "contact":
			ct := p.contact(e.val)
			c.Contact = &ct
		case "mock":
			c.Mock = p.mocks(e.val)
		case "seed":
			s, err := strconv.ParseUint(e.val.Value, 10, 64)
			if err != nil {
				p.errorf(e.val, "seed must be a whole number")
			}
			c.Seed = s
		case "steps":
			for _, s := range e.val.Content {
				c.Steps = append(c.Steps, p.step(s))
			}
		default:
			p.errorf(e.key, "unknown key %q in a case (allowed: name, start, vars, score, tags, contact, mock, seed, steps)", e.key.Value)
		}
	}
	if c.Name == "" {
		c.Name = fmt.Sprintf("case at line %d", c.Line)
	}
	return c
}

func (p *parser) number(n *yaml.Node) float64 {
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil {
		p.errorf(n, "%q is not a number", n.Value)
	}
	return f
}

func (p *parser) strs(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	out := []string{}
	for _, e := range n.Content {
		out = append(out, e.Value)
	}
	return out
}

func (p *parser) step(n *yaml.Node) Step {
	s := Step{Line: n.Line}
	actions := 0
	for _, e := range pairs(n) {
		switch e.key.Value {
		case "send":
			v := e.val.Value
			s.Send = &v
			actions++
		case "press":
			v := e.val.Value
			s.Press = &v
			actions++
		case "wait":
			d, err := flow.ParseDuration(e.val.Value)
			if err != nil {
				p.errorf(e.val, "wait: %v", err)
			}
			s.Wait, s.HasWait = d, true
			actions++
		case "handback":
			v := ""
			if e.val.Tag != "!!bool" {
				v = e.val.Value
			}
			s.Handback = &v
			actions++
		case "expect":
			s.Checks = true
			s.Expect = p.expects(e.val)
		case "state":
			s.State = p.state(e.val)
		default:
			p.errorf(e.key, "unknown key %q in a step (allowed: send, press, wait, handback, expect, state)", e.key.Value)
		}
	}
	if actions > 1 {
		p.errorf(n, "a step does one thing: send, press, wait or handback")
	}
	return s
}

func (p *parser) expects(n *yaml.Node) []Expect {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return []Expect{}
		}
		v := n.Value
		return []Expect{{Text: &v}}
	}
	out := []Expect{}
	for _, m := range n.Content {
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		if m.Kind == yaml.ScalarNode {
			v := m.Value
			out = append(out, Expect{Text: &v})
			continue
		}
		var x Expect
		for _, e := range pairs(m) {
			switch e.key.Value {
			case "text":
				v := e.val.Value
				x.Text = &v
			case "match":
				re, err := regexp.Compile(e.val.Value)
				if err != nil {
					p.errorf(e.val, "match: %v", err)
					continue
				}
				x.Match = re
			case "buttons":
				x.Buttons, x.HasBtns = p.strs(e.val), true
			default:
				p.errorf(e.key, "unknown key %q in an expected message (allowed: text, match, buttons)", e.key.Value)
			}
		}
		out = append(out, x)
	}
	return out
}

func (p *parser) state(n *yaml.Node) *StateExpect {
	s := &StateExpect{}
	for _, e := range pairs(n) {
		v := e.val.Value
		switch e.key.Value {
		case "node":
			s.Node = &v
		case "status":
			s.Status = &v
		case "segment":
			s.Segment = &v
		case "score":
			f := p.number(e.val)
			s.Score = &f
		case "tags":
			s.Tags, s.HasTags = p.strs(e.val), true
		case "vars":
			s.Vars = map[string]any{}
			for _, kv := range pairs(e.val) {
				var x any
				_ = kv.val.Decode(&x)
				s.Vars[kv.key.Value] = eval.Normalize(x)
			}
		default:
			p.errorf(e.key, "unknown key %q in state (allowed: node, status, score, segment, tags, vars)", e.key.Value)
		}
	}
	return s
}

func describeStep(s Step) string {
	switch {
	case s.Send != nil:
		return fmt.Sprintf("send %q", *s.Send)
	case s.Press != nil:
		return fmt.Sprintf("press %q", *s.Press)
	case s.HasWait:
		return "wait " + flow.FormatDuration(s.Wait)
	case s.Handback != nil:
		return "handback"
	}
	return "check"
}

func quoteList(ms []string) string {
	q := make([]string, len(ms))
	for i, m := range ms {
		q[i] = strconv.Quote(m)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
