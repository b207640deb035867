// Package flow defines the flow document (FLOWS.md): its types, decoding from
// YAML or JSON with the position of every key, validation that reports every
// problem at once as file:line:column, and the JSON Schema editors use.
package flow

import (
	"regexp"
	"strconv"
	"time"

	"github.com/voronka/voronka/engine/eval"
)

// FormatVersion is the only `voronka:` format version this release reads.
const FormatVersion = 1

// DefaultExpire is how long an idle conversation lives when the flow does not say.
const DefaultExpire = 30 * 24 * time.Hour

// DefaultAttempts is how many invalid answers a question takes before on_fail.
const DefaultAttempts = 3

// Pos is a place in a source file, 1-based.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
	// quote is 1 when the scalar at this position opens with a quote, so
	// offsets into its text land on the right column.
	quote int
}

// Flow is one decoded flow document.
type Flow struct {
	File    string
	Voronka int
	ID      string
	Name    string
	Desc    string
	Start   string
	Expire  time.Duration
	Vars    []VarDecl
	Scoring []Threshold // highest threshold first
	// Below is the segment of a score under every threshold ("cold").
	Triggers []Trigger
	FAQ      []FAQ
	Nodes    []*Node // in document order

	byID   map[string]*Node
	pos    map[string]Pos
	schema *eval.Schema
	broken bool // the document did not decode; validation has nothing to check
}

// VarDecl declares a variable and its type.
type VarDecl struct {
	Name string
	Type eval.Type
	Pos  Pos
}

// Threshold maps a minimum score to a segment name.
type Threshold struct {
	Segment string
	Min     float64
	Pos     Pos
}

// Trigger is a global entry point: a command or keywords that jump to a node.
type Trigger struct {
	Command  string
	Keywords []string
	Goto     string
	Reset    bool
	Pos      Pos
	GotoPos  Pos
}

// FAQ is a canned answer found by keywords.
type FAQ struct {
	Keywords []string
	Answer   string
	Pos      Pos

	AnswerT *eval.Template
}

// Node is one node of the graph. Fields not used by its type stay zero.
type Node struct {
	ID   string
	Type string
	Pos  Pos // of the node's key under nodes:
	Note string
	UI   *UI

	Text     string
	Next     string
	Buttons  []Button
	Timeout  *Timeout
	Save     string
	Expect   Expect
	Choices  []string
	Invalid  string
	Attempts int
	OnFail   string
	Branches []Branch
	Else     string
	Add      float64
	Tags     []string
	Queue    string
	Resume   string
	// Handoff: Wait before going on at TimeoutNode; Offline outside working
	// hours, or else Away is sent.
	Wait        time.Duration
	TimeoutNode string
	Offline     string
	Away        string
	For         time.Duration
	Variants    []Variant
	Method      string
	URL         string
	Headers     []Header
	Body        any // decoded YAML value; strings in it are templates
	OnError     string
	Assign      []Assign
	Name        string // goal name
	Value       float64
	// Template, TemplateLanguage and TemplateParams name the WhatsApp
	// template sent instead of Text outside the 24-hour window.
	Template         string
	TemplateLanguage string
	TemplateParams   []string

	// Compiled by Validate, used by the engine.
	TextT *eval.Template
	// TemplateParamsT are TemplateParams compiled.
	TemplateParamsT []*eval.Template
	InvalidT        *eval.Template
	NoteT           *eval.Template
	AwayT           *eval.Template
	URLT            *eval.Template
	BodyT           any // Body with every string replaced by a *eval.Template
	Regex           *regexp.Regexp

	pos map[string]Pos
}

// UI is the node's place on the builder's canvas.
type UI struct {
	X float64
	Y float64
}

// Button is one button of a buttons node.
type Button struct {
	Label string
	Next  string
	Score float64
	Tags  []string
}

// Timeout moves on when nobody answers within After.
type Timeout struct {
	After time.Duration
	Next  string
}

// Expect is what a question accepts.
type Expect struct {
	Kind    string // text, number, email, phone, date, choice, regex
	Pattern string // for regex
}

// Branch is one arm of a condition.
type Branch struct {
	When string
	Next string
	Cond *eval.Expr
}

// Variant is one arm of an A/B split.
type Variant struct {
	Name   string
	Weight float64
	Next   string
}

// Header is one webhook header; values are templates.
type Header struct {
	Name  string
	Value string
	T     *eval.Template
}

// Assign is one variable assignment of a set node; values are expressions.
type Assign struct {
	Var  string
	Expr string
	Prog *eval.Expr
}

// Node returns the node with the given id, or nil.
func (f *Flow) Node(id string) *Node { return f.byID[id] }

// Schema is the expression schema of the flow's variables (set by Validate).
func (f *Flow) Schema() *eval.Schema { return f.schema }

// PosOf returns the position of a top-level key, or of the document start.
func (f *Flow) PosOf(key string) Pos {
	if p, ok := f.pos[key]; ok {
		return p
	}
	return Pos{Line: 1, Col: 1}
}

// PosOf returns the position of a field of the node ("text", "buttons[1].next"),
// falling back to the node itself.
func (n *Node) PosOf(field string) Pos {
	if p, ok := n.pos[field]; ok {
		return p
	}
	return n.Pos
}

// Segment returns the segment a score falls into.
func (f *Flow) Segment(score float64) string {
	for _, t := range f.Scoring {
		if score >= t.Min {
			return t.Segment
		}
	}
	return "cold"
}

// VarType returns the declared type of a variable.
func (f *Flow) VarType(name string) (eval.Type, bool) {
	for _, v := range f.Vars {
		if v.Name == name {
			return v.Type, true
		}
	}
	return eval.TypeAny, false
}

// Waits reports whether entering a node of this type stops the engine until
// the next input.
func Waits(nodeType string) bool {
	spec, ok := nodeSpecs[nodeType]
	return ok && spec.Waits
}

// Targets returns every node id a node can go to, with the field naming each edge.
func (n *Node) Targets() []Edge {
	var out []Edge
	add := func(field, to string) {
		if to != "" {
			out = append(out, Edge{Field: field, To: to})
		}
	}
	add("next", n.Next)
	for i, b := range n.Buttons {
		add(indexField("buttons", i, "next"), b.Next)
	}
	if n.Timeout != nil {
		add("timeout.next", n.Timeout.Next)
	}
	add("on_fail", n.OnFail)
	for i, b := range n.Branches {
		add(indexField("branches", i, "next"), b.Next)
	}
	add("else", n.Else)
	add("resume", n.Resume)
	add("timeout", n.TimeoutNode)
	add("offline", n.Offline)
	for i, v := range n.Variants {
		add(indexField("variants", i, "next"), v.Next)
	}
	add("on_error", n.OnError)
	return out
}

// Edge is one outgoing connection of a node.
type Edge struct {
	Field string
	To    string
}

func indexField(list string, i int, field string) string {
	return list + "[" + strconv.Itoa(i) + "]." + field
}

// MapBody rebuilds a webhook body with every leaf (string, number, template…)
// replaced by f(leaf). The validator compiles a body's strings with it and
// the engine renders the compiled templates with it, over the same tree.
func MapBody(b any, f func(leaf any) any) any {
	switch x := b.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = MapBody(e, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = MapBody(e, f)
		}
		return out
	}
	return f(b)
}
