package engine

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/voronka/voronka/engine/flow"
)

// MaxSteps bounds how many nodes one input may run through. Validation
// rejects static loops without a waiting node; this stops whatever gets past.
const MaxSteps = 100

// Program is a validated flow version prepared for Step: node lookups,
// normalized labels and payloads, all computed once.
type Program struct {
	Flow    *flow.Flow
	Version int

	nodes    map[string]*cnode
	payloads map[string]target
	intern   map[string]string
	faq      []faqEntry
	triggers []ctrigger
}

type cnode struct {
	*flow.Node
	labels   []string // normalized button labels or choices
	buttons  []Button // the buttons a prompt shows, payloads included
	prompt   Message  // static prompt when the text has no {{ }}
	static   bool
	choices  []string // question choices, as written
	waitKind Wait
}

type target struct {
	node   string
	index  int
	choice bool
}

type faqEntry struct {
	phrases [][]string
	faq     *flow.FAQ
}

type ctrigger struct {
	command string
	phrases [][]string
	t       *flow.Trigger
}

// Compile prepares a flow for running. The flow must be free of errors;
// Compile validates it if nobody has yet.
func Compile(f *flow.Flow, version int) (*Program, error) {
	if f.Schema() == nil {
		if ps := flow.Validate(f); ps.HasErrors() {
			return nil, fmt.Errorf("compile flow %s: %w", f.ID, ps.Errors())
		}
	}
	return build(f, version)
}

// build prepares a flow whose expressions Validate has compiled, whatever
// else it reported; tests use it to reach the runtime guards.
func build(f *flow.Flow, version int) (*Program, error) {
	if f.Schema() == nil {
		return nil, fmt.Errorf("compile flow %s: not validated", f.ID)
	}
	p := &Program{Flow: f, Version: version, nodes: make(map[string]*cnode, len(f.Nodes)),
		payloads: map[string]target{}, intern: map[string]string{}}
	p.intern[f.ID] = f.ID
	for _, v := range f.Vars {
		p.intern[v.Name] = v.Name
	}
	for _, n := range f.Nodes {
		c := &cnode{Node: n}
		p.intern[n.ID] = n.ID
		for i, b := range n.Buttons {
			pl := payload(n.ID, "", i)
			c.buttons = append(c.buttons, Button{Label: b.Label, Payload: pl})
			c.labels = append(c.labels, flow.NormalizeText(b.Label))
			p.payloads[pl] = target{node: n.ID, index: i}
			for _, t := range b.Tags {
				p.intern[t] = t
			}
		}
		if n.Type == "question" && n.Expect.Kind == "choice" {
			for i, ch := range n.Choices {
				pl := payload(n.ID, "c", i)
				c.buttons = append(c.buttons, Button{Label: ch, Payload: pl})
				c.labels = append(c.labels, flow.NormalizeText(ch))
				p.payloads[pl] = target{node: n.ID, index: i, choice: true}
			}
			c.choices = n.Choices
		}
		for _, t := range n.Tags {
			p.intern[t] = t
		}
		for _, v := range n.Variants {
			p.intern[v.Name] = v.Name
		}
		if n.TextT != nil && n.TextT.Static() {
			c.static = true
			text, _ := n.TextT.Render(nil)
			c.prompt = Message{Node: n.ID, Text: text, Buttons: c.buttons}
		}
		switch n.Type {
		case "buttons", "question":
			c.waitKind = WaitReply
		case "delay":
			c.waitKind = WaitTimer
		case "webhook":
			c.waitKind = WaitWebhook
		case "handoff":
			c.waitKind = WaitHandoff
		case "end":
			c.waitKind = WaitEnd
		}
		p.nodes[n.ID] = c
	}
	for i := range f.FAQ {
		q := &f.FAQ[i]
		p.faq = append(p.faq, faqEntry{phrases: phrases(q.Keywords), faq: q})
	}
	for i := range f.Triggers {
		t := &f.Triggers[i]
		ct := ctrigger{t: t, phrases: phrases(t.Keywords)}
		if t.Command != "" {
			ct.command = normalizeCommand(t.Command)
		}
		p.triggers = append(p.triggers, ct)
	}
	return p, nil
}

func phrases(keywords []string) [][]string {
	out := make([][]string, 0, len(keywords))
	for _, k := range keywords {
		if w := flow.Words(k); len(w) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// payload builds a button's callback data: the node id and the button's
// index, or a hash of a long node id, always within Telegram's 64 bytes.
func payload(node, kind string, i int) string {
	suffix := "#" + kind + strconv.Itoa(i)
	if len(node)+len(suffix) <= 64 {
		return node + suffix
	}
	h := fnv.New64a()
	h.Write([]byte(node))
	return "~" + strconv.FormatUint(h.Sum64(), 36) + suffix
}

// Intern returns the flow's own copy of a known string (node ids, variable
// names, tags), so decoding a state allocates nothing for them.
func (p *Program) Intern(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	return string(b)
}

// ButtonsOf returns the buttons a node shows, with their payloads.
func (p *Program) ButtonsOf(node string) []Button {
	if c := p.nodes[node]; c != nil {
		return c.buttons
	}
	return nil
}

// PayloadFor returns the payload of a node's button with the given label.
func (p *Program) PayloadFor(node, label string) (string, bool) {
	c := p.nodes[node]
	if c == nil {
		return "", false
	}
	want := flow.NormalizeText(label)
	for i, l := range c.labels {
		if l == want {
			return c.buttons[i].Payload, true
		}
	}
	return "", false
}

// HandoffText returns what a person can type to reach an operator: a keyword
// (or else the command) of the first trigger that leads to a handoff node,
// directly or through message nodes, and that this text really fires (an
// earlier trigger may claim the same word). "" when the flow has no such
// trigger. The web chat widget offers it as a "talk to a person" button.
func (p *Program) HandoffText() string {
	for i := range p.triggers {
		t := p.triggers[i].t
		if !p.leadsToHandoff(t.Goto) {
			continue
		}
		cands := append([]string{}, t.Keywords...)
		if t.Command != "" {
			cands = append(cands, t.Command)
		}
		for _, c := range cands {
			r := run{p: p, in: Input{Kind: InputText, Text: c}}
			if r.matchTrigger() == t {
				return c
			}
		}
	}
	return ""
}

// leadsToHandoff follows message nodes from id (a few, against cycles) and
// says whether it arrives at a handoff node.
func (p *Program) leadsToHandoff(id string) bool {
	for range 8 {
		c := p.nodes[id]
		switch {
		case c == nil:
			return false
		case c.Type == "handoff":
			return true
		case c.Type == "message" && c.Next != "":
			id = c.Next
		default:
			return false
		}
	}
	return false
}
