package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Encode writes a flow as canonical YAML: top-level keys, node fields and
// nested keys in a fixed order (the order of FLOWS.md and of NodeSpecs),
// nodes in document order, builder positions included. Comments are not
// kept, nor values equal to their defaults (expire 30d, expect text,
// attempts 3, method POST), so a flow encodes the same whether or not it was validated.
// Encode(Parse(Encode(f))) is byte-identical to Encode(f), so an export →
// import → export round trip never changes a byte.
func Encode(f *Flow) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(flowTree(f)); err != nil {
		return nil, fmt.Errorf("encode flow %s: %w", f.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode flow %s: %w", f.ID, err)
	}
	return buf.Bytes(), nil
}

// EncodeJSON writes the same canonical document as Encode, as JSON with
// keys in the same order: the builder edits this form.
func EncodeJSON(f *Flow) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, flowTree(f)); err != nil {
		return nil, fmt.Errorf("encode flow %s as JSON: %w", f.ID, err)
	}
	return buf.Bytes(), nil
}

// mapNode collects the key/value pairs of a YAML mapping in order.
type mapNode struct{ n *yaml.Node }

func newMap(flowStyle bool) mapNode {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flowStyle {
		n.Style = yaml.FlowStyle
	}
	return mapNode{n}
}

func (m mapNode) add(key string, v *yaml.Node) {
	m.n.Content = append(m.n.Content, str(key), v)
}

func (m mapNode) str(key, v string) {
	if v != "" {
		m.add(key, str(v))
	}
}

func (m mapNode) num(key string, v float64) {
	if v != 0 {
		m.add(key, num(v))
	}
}

func (m mapNode) list(key string, vs []string) {
	if len(vs) > 0 {
		m.add(key, strList(vs))
	}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(v float64) *yaml.Node {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	tag := "!!float"
	if v == float64(int64(v)) {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func strList(vs []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, str(v))
	}
	return n
}

func seq() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

func flowTree(f *Flow) *yaml.Node {
	root := newMap(false)
	root.add("voronka", num(float64(f.Voronka)))
	root.str("id", f.ID)
	root.str("name", f.Name)
	root.str("description", f.Desc)
	root.str("start", f.Start)
	if f.Expire != 0 && f.Expire != DefaultExpire { // the default is left out
		root.add("expire", str(durationText(f.Expire)))
	}
	if len(f.Vars) > 0 {
		vars := newMap(false)
		for _, v := range f.Vars {
			vars.add(v.Name, str(v.Type.String()))
		}
		root.add("vars", vars.n)
	}
	if len(f.Scoring) > 0 {
		sc := newMap(false)
		for _, t := range f.Scoring {
			sc.add(t.Segment, num(t.Min))
		}
		root.add("scoring", sc.n)
	}
	if len(f.Triggers) > 0 {
		ts := seq()
		for _, t := range f.Triggers {
			m := newMap(false)
			m.str("command", t.Command)
			m.list("keywords", t.Keywords)
			m.str("goto", t.Goto)
			if t.Reset {
				m.add("reset", boolean(true))
			}
			ts.Content = append(ts.Content, m.n)
		}
		root.add("triggers", ts)
	}
	if len(f.FAQ) > 0 {
		qs := seq()
		for _, q := range f.FAQ {
			m := newMap(false)
			m.list("keywords", q.Keywords)
			m.str("answer", q.Answer)
			qs.Content = append(qs.Content, m.n)
		}
		root.add("faq", qs)
	}
	nodes := newMap(false)
	for _, n := range f.Nodes {
		nodes.add(n.ID, nodeTree(n))
	}
	root.add("nodes", nodes.n)
	return root.n
}

// nodeTree writes a node: type, then its fields in NodeSpecs order, then
// note and ui.
func nodeTree(n *Node) *yaml.Node {
	m := newMap(false)
	m.str("type", n.Type)
	spec, ok := Spec(n.Type)
	if ok {
		for _, fs := range spec.Fields {
			switch fs.Name {
			case "type", "note", "ui":
				continue
			}
			nodeField(m, n, fs.Name)
		}
	}
	m.str("note", n.Note)
	if n.UI != nil {
		ui := newMap(true)
		ui.add("x", num(n.UI.X))
		ui.add("y", num(n.UI.Y))
		m.add("ui", ui.n)
	}
	return m.n
}

func nodeField(m mapNode, n *Node, name string) {
	switch name {
	case "text":
		m.str(name, n.Text)
	case "next":
		m.str(name, n.Next)
	case "buttons":
		if len(n.Buttons) == 0 {
			return
		}
		bs := seq()
		for _, b := range n.Buttons {
			bm := newMap(false)
			bm.str("label", b.Label)
			bm.num("score", b.Score)
			bm.list("tags", b.Tags)
			bm.str("next", b.Next)
			bs.Content = append(bs.Content, bm.n)
		}
		m.add(name, bs)
	case "timeout":
		if n.Type == "handoff" {
			m.str(name, n.TimeoutNode)
			return
		}
		if n.Timeout == nil {
			return
		}
		t := newMap(true)
		if n.Timeout.After != 0 {
			t.add("after", str(durationText(n.Timeout.After)))
		}
		t.str("next", n.Timeout.Next)
		m.add(name, t.n)
	case "save":
		m.str(name, n.Save)
	case "expect":
		switch n.Expect.Kind {
		case "", "text": // text is the default, which Validate fills in
		case "regex":
			e := newMap(true)
			e.add("regex", str(n.Expect.Pattern))
			m.add(name, e.n)
		default:
			m.str(name, n.Expect.Kind)
		}
	case "choices":
		m.list(name, n.Choices)
	case "invalid":
		m.str(name, n.Invalid)
	case "attempts":
		if n.Attempts != DefaultAttempts { // Validate fills the default in
			m.num(name, float64(n.Attempts))
		}
	case "on_fail":
		m.str(name, n.OnFail)
	case "branches":
		if len(n.Branches) == 0 {
			return
		}
		bs := seq()
		for _, b := range n.Branches {
			bm := newMap(false)
			bm.str("when", b.When)
			bm.str("next", b.Next)
			bs.Content = append(bs.Content, bm.n)
		}
		m.add(name, bs)
	case "else":
		m.str(name, n.Else)
	case "add":
		m.num(name, n.Add)
	case "tags":
		m.list(name, n.Tags)
	case "template":
		m.str(name, n.Template)
	case "template_language":
		m.str(name, n.TemplateLanguage)
	case "template_params":
		m.list(name, n.TemplateParams)
	case "queue":
		m.str(name, n.Queue)
	case "resume":
		m.str(name, n.Resume)
	case "wait":
		if n.Wait != 0 {
			m.add(name, str(durationText(n.Wait)))
		}
	case "offline":
		m.str(name, n.Offline)
	case "away":
		m.str(name, n.Away)
	case "for":
		if n.For != 0 {
			m.add(name, str(durationText(n.For)))
		}
	case "variants":
		if len(n.Variants) == 0 {
			return
		}
		vs := seq()
		for _, v := range n.Variants {
			vm := newMap(false)
			vm.str("name", v.Name)
			vm.add("weight", num(v.Weight))
			vm.str("next", v.Next)
			vs.Content = append(vs.Content, vm.n)
		}
		m.add(name, vs)
	case "method":
		if n.Method != "POST" { // the default, which Validate fills in
			m.str(name, n.Method)
		}
	case "url":
		m.str(name, n.URL)
	case "headers":
		if len(n.Headers) == 0 {
			return
		}
		hs := newMap(false)
		for _, h := range n.Headers {
			hs.add(h.Name, str(h.Value))
		}
		m.add(name, hs.n)
	case "body":
		if n.Body != nil {
			m.add(name, valueTree(n.Body))
		}
	case "on_error":
		m.str(name, n.OnError)
	case "vars":
		if len(n.Assign) == 0 {
			return
		}
		as := newMap(false)
		for _, a := range n.Assign {
			as.add(a.Var, str(a.Expr))
		}
		m.add(name, as.n)
	case "name":
		m.str(name, n.Name)
	case "value":
		m.num(name, n.Value)
	}
}

// durationText writes a duration as people write them in flows: days
// rather than weeks and days (30d, not 4w2d), whole weeks as weeks.
func durationText(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 && d%(7*day) != 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return FormatDuration(d)
}

// valueTree writes a decoded webhook body; map keys are sorted, since the
// decoder keeps them in a Go map.
func valueTree(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := newMap(false)
		for _, k := range keys {
			m.add(k, valueTree(x[k]))
		}
		return m.n
	case []any:
		s := seq()
		for _, e := range x {
			s.Content = append(s.Content, valueTree(e))
		}
		return s
	case float64:
		return num(x)
	case bool:
		return boolean(x)
	case string:
		return str(x)
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return str(fmt.Sprint(v))
}

// writeJSON writes a YAML node tree built by flowTree as JSON, keeping the
// order of mapping keys.
func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, err := json.Marshal(n.Content[i].Value)
			if err != nil {
				return err
			}
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float", "!!bool", "!!null":
			buf.WriteString(n.Value)
		default:
			s, err := json.Marshal(n.Value)
			if err != nil {
				return err
			}
			buf.Write(s)
		}
	default:
		return fmt.Errorf("unexpected YAML node kind %d", n.Kind)
	}
	return nil
}
