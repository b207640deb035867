package flow

import (
	"bytes"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxDocument bounds the size of a flow document. A 500-node funnel is about
// 150 KB; anything near this is a mistake or an attack.
const MaxDocument = 8 << 20

// maxAliases bounds YAML alias expansion so a "billion laughs" document
// cannot make decoding explode.
const maxAliases = 1000

// varPattern is a variable name: a Latin or Russian letter or _, then
// letters, digits and _ (the same set in the JSON Schema, whose regular
// expressions have no \p{L}).
const varPattern = `[A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_]*`

var (
	flowIDRe = regexp.MustCompile(`^[a-z0-9-]+$`)
	nodeIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// Variable names may be Russian as well as Latin: a marketer names them
	// as the funnel speaks (expr-lang reads any letter in a name).
	varRe = regexp.MustCompile(`^` + varPattern + `$`)
)

// Parse decodes a flow from YAML or JSON (JSON is read as YAML, which keeps
// the positions). It reports every structural problem it finds, not just the
// first; semantic checks are Validate's job. The Flow is returned even when
// there are problems, so tools can show as much as they understood.
func Parse(file string, data []byte) (f *Flow, ps Problems) {
	d := &decoder{r: reporter{file: file}}
	f = &Flow{File: file, Expire: DefaultExpire, byID: map[string]*Node{}, pos: map[string]Pos{}}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a broken document must
		// never take the process down.
		if r := recover(); r != nil {
			d.r.errorf(Pos{Line: 1, Col: 1}, "", "", "cannot decode document: %v", r)
			ps = d.r.ps
		}
	}()
	if len(data) > MaxDocument {
		f.broken = true
		d.r.errorf(Pos{Line: 1, Col: 1}, "", "", "document is %d bytes, more than the %d allowed", len(data), MaxDocument)
		return f, d.r.ps
	}
	if n := estimateNodes(data); n > MaxNodes*2 {
		// The estimate counts every indicator as two values, so twice the
		// limit; the exact count after parsing applies the limit itself.
		f.broken = true
		d.r.errorf(Pos{Line: 1, Col: 1}, "", "", "document holds too many values (about %d), more than the %d allowed", n/2, MaxNodes)
		return f, d.r.ps
	}
	// Read through a counting reader: it costs nothing measurable and tells
	// where the parser stopped if the document is broken.
	var doc yaml.Node
	r := &countingReader{data: data}
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		f.broken = true
		d.r.errorf(syntaxErrPos(data, err, r.off), "", "", "%s", yamlErrMsg(err))
		return f, d.r.ps
	}
	if e := checkExpanded(&doc); e != nil {
		f.broken = true
		switch {
		case e.cyclic:
			d.r.errorf(pos(e.at), "", "", "an alias refers to the value it is part of")
		case e.nodes > MaxNodes:
			d.r.errorf(pos(e.at), "", "", "document holds more than %d values once its aliases (*name) are expanded", MaxNodes)
		default:
			d.r.errorf(pos(e.at), "", "", "document holds more than %d bytes of text once its aliases (*name) are expanded", MaxExpanded)
		}
		return f, d.r.ps
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(d.resolve(doc.Content[0])) {
		// "null", "~" or an anchored nothing ("&a") is as empty as no text.
		f.broken = true
		d.r.errorf(Pos{Line: 1, Col: 1}, "", "", "empty document: a flow needs voronka, id, start and nodes")
		return f, d.r.ps
	}
	if d.resolve(doc.Content[0]).Kind != yaml.MappingNode {
		f.broken = true
	}
	d.flow(f, doc.Content[0])
	d.r.ps.sort()
	return f, d.r.ps
}

type decoder struct {
	r       reporter
	aliases int
}

func pos(n *yaml.Node) Pos {
	p := Pos{Line: n.Line, Col: n.Column}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		p.quote = 1
	}
	return p
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxErrPos finds where a YAML syntax error is, given how far the parser
// read (off). yaml.v3 reports the line where the enclosing block began (a
// bad indent on line 40 is reported at the "nodes:" of line 6); where the
// parser stopped is the error, or, when what it stopped on was its look-ahead
// at the next token, the last line before it with content. Which of the two
// follows from the message, or, for the parser errors that can be either,
// from one parse of the text before the line where the parser stopped.
func syntaxErrPos(data []byte, err error, off int) Pos {
	want := strings.TrimPrefix(yamlErrMsg(err), "syntax error: ")
	line := 0 // yaml.v3's line; it leaves out line 0
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	last := max(min(off, len(data))-1, 0) // the last byte the parser read
	lineStart := bytes.LastIndexByte(data[:last], '\n') + 1
	// The column of the last byte read is past the error by the look-ahead,
	// so the error is placed where its line's content begins.
	here := lineCol(data, lineStart+len(data[lineStart:])-len(bytes.TrimLeft(data[lineStart:], " ")))
	prev, hasPrev := lastContentLine(data[:lineStart])
	switch want {
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'":
		// An unclosed [ or {: yaml.v3 names the line it opened on, counting
		// from 0, except that for line 0 it names the line of the problem.
		open := "["
		if strings.HasSuffix(want, "'}'") {
			open = "{"
		}
		if l := lineContent(data, line+1); bytes.Contains(lineAt(data, l.Line), []byte(open)) || !bytes.Contains(lineAt(data, 1), []byte(open)) {
			return l
		}
		return lineContent(data, 1)
	case "found unexpected end of stream":
		// A quote never closed: yaml.v3 names the line it opened on.
		return lineContent(data, max(line, 1))
	case "could not find expected ':'":
		// A key without its colon is found only on the line after it.
		if hasPrev {
			return lineCol(data, prev)
		}
		return here
	case "mapping values are not allowed in this context", "did not find expected key", "did not find expected '-' indicator",
		"did not find expected node content":
		if !hasPrev {
			return here
		}
		var head yaml.Node
		if herr := yaml.Unmarshal(data[:lineStart], &head); herr != nil && yamlErrMsg(herr) == yamlErrMsg(err) {
			return lineCol(data, prev)
		}
		return here
	}
	// Scanner errors (a tab, a character that starts no token) are where
	// the scanner stopped, but for a line of nothing but a tab: the scanner
	// reads up to four characters ahead at the start of a line, into the next.
	if ahead := max(last-3, 0); ahead < lineStart {
		l := lineAt(data, lineCol(data, ahead).Line)
		if len(bytes.Trim(l, " \t\r")) == 0 && bytes.ContainsRune(l, '\t') {
			return lineContent(data, lineCol(data, ahead).Line)
		}
	}
	return here
}

// lineAt is the text of a line (1-based), without its newline.
func lineAt(data []byte, line int) []byte {
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i]
	}
	return data
}

// lineContent is the position where the content of a line begins.
func lineContent(data []byte, line int) Pos {
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			break
		}
		start += i + 1
	}
	return lineCol(data, start+len(data[start:])-len(bytes.TrimLeft(data[start:], " ")))
}

// lastContentLine is the offset of the first character of the last line of
// data that holds more than blanks and comments.
func lastContentLine(data []byte) (int, bool) {
	for end := len(data); end > 0; {
		start := bytes.LastIndexByte(data[:end-1], '\n') + 1 // data[start:end] is one line
		t := bytes.TrimLeft(data[start:end], " ")
		if len(bytes.TrimRight(t, "\r\n")) > 0 && t[0] != '#' { // a tab is content: it may be the mistake
			return end - len(t), true
		}
		end = start
	}
	return 0, false
}

func yamlErrMsg(err error) string {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		return "syntax error: " + m[2]
	}
	return "syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")
}

// resolve follows aliases, counting them.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		d.aliases++
		if d.aliases > maxAliases {
			d.r.errorf(pos(n), "", "", "too many YAML aliases")
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
	}
	return n
}

// entry is one key: value pair of a mapping.
type entry struct {
	key   string
	kpos  Pos
	value *yaml.Node
}

// mapping returns the pairs of a mapping node, reporting duplicate keys.
func (d *decoder) mapping(n *yaml.Node, what, node, field string) ([]entry, bool) {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			return nil, true
		}
		d.r.errorf(pos(n), node, field, "%s must be a mapping of key: value", what)
		return nil, false
	}
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.r.errorf(pos(k), node, field, "keys in %s must be plain names", what)
			continue
		}
		if seen[k.Value] {
			d.r.errorf(pos(k), node, field, "duplicate key %q in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{key: k.Value, kpos: pos(k), value: n.Content[i+1]})
	}
	return out, true
}

func (d *decoder) sequence(n *yaml.Node, what, node, field string) []*yaml.Node {
	n = d.resolve(n)
	if n.Kind != yaml.SequenceNode {
		if isNull(n) {
			return nil
		}
		d.r.errorf(pos(n), node, field, "%s must be a list", what)
		return nil
	}
	return n.Content
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) str(n *yaml.Node, what, node, field string) string {
	n = d.resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.r.errorf(pos(n), node, field, "%s must be a text value", what)
		return ""
	}
	return n.Value
}

func (d *decoder) num(n *yaml.Node, what, node, field string) float64 {
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v
		}
	}
	d.r.errorf(pos(n), node, field, "%s must be a number, got %q", what, n.Value)
	return 0
}

func (d *decoder) integer(n *yaml.Node, what, node, field string) int {
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		v, err := strconv.Atoi(n.Value)
		if err == nil {
			return v
		}
	}
	d.r.errorf(pos(n), node, field, "%s must be a whole number, got %q", what, n.Value)
	return 0
}

func (d *decoder) boolean(n *yaml.Node, what, node, field string) bool {
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	}
	d.r.errorf(pos(n), node, field, "%s must be true or false, got %q", what, n.Value)
	return false
}

func (d *decoder) strings(n *yaml.Node, what, node, field string) []string {
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return []string{n.Value} // `tags: hot` reads as [hot]
	}
	var out []string
	for _, e := range d.sequence(n, what, node, field) {
		if s := d.str(e, what+" items", node, field); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) duration(n *yaml.Node, what, node, field string) (int64, bool) {
	s := d.str(n, what, node, field)
	if s == "" {
		return 0, false
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.r.errorf(pos(d.resolve(n)), node, field, "%s: %v", what, err)
		return 0, false
	}
	return int64(v), true
}

// value converts any YAML value into plain Go values (webhook bodies).
func (d *decoder) value(n *yaml.Node) any {
	n = d.resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[d.resolve(n.Content[i]).Value] = d.value(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = d.value(c)
		}
		return l
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			return n.Value == "true"
		case "!!int", "!!float":
			if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return v
			}
		}
		return n.Value
	}
	return nil
}

var topKeys = []string{"voronka", "id", "name", "description", "start", "expire", "vars", "scoring", "triggers", "faq", "nodes"}

func (d *decoder) flow(f *Flow, root *yaml.Node) {
	entries, ok := d.mapping(root, "a flow document", "", "")
	if !ok {
		return
	}
	var nodesNode *yaml.Node
	for _, e := range entries {
		f.pos[e.key] = e.kpos
		switch e.key {
		case "voronka":
			f.Voronka = d.integer(e.value, "voronka (the format version)", "", "voronka")
		case "id":
			f.ID = d.str(e.value, "id", "", "id")
			if v := d.resolve(e.value); f.ID == "" && v.Kind == yaml.ScalarNode && !isNull(v) {
				d.r.errorf(pos(v), "", "id", "id is empty: give the flow's name in lowercase letters, digits and -")
			}
		case "name":
			f.Name = d.str(e.value, "name", "", "name")
		case "description":
			f.Desc = d.str(e.value, "description", "", "description")
		case "start":
			f.Start = d.str(e.value, "start", "", "start")
			f.pos["start.value"] = pos(d.resolve(e.value))
		case "expire":
			if v, ok := d.duration(e.value, "expire", "", "expire"); ok {
				f.Expire = durationOf(v)
			}
		case "vars":
			d.vars(f, e.value)
		case "scoring":
			d.scoring(f, e.value)
		case "triggers":
			d.triggers(f, e.value)
		case "faq":
			d.faq(f, e.value)
		case "nodes":
			nodesNode = e.value
		default:
			d.r.errorf(e.kpos, "", e.key, "unknown key %q (allowed: %s)", e.key, strings.Join(topKeys, ", "))
		}
	}
	if nodesNode != nil {
		d.nodes(f, nodesNode)
	}
}

func (d *decoder) vars(f *Flow, n *yaml.Node) {
	entries, _ := d.mapping(n, "vars", "", "vars")
	for _, e := range entries {
		t := d.str(e.value, "the type of "+e.key, "", "vars."+e.key)
		f.Vars = append(f.Vars, VarDecl{Name: e.key, Type: parseTypeOrAny(t), Pos: e.kpos})
		f.pos["vars."+e.key+".type"] = pos(d.resolve(e.value))
		if !typeKnown(t) && t != "" {
			d.r.errorf(pos(d.resolve(e.value)), "", "vars."+e.key, "unknown type %q for variable %s (use one of: %s)", t, e.key, strings.Join(typeNames(), ", "))
		}
	}
}

func (d *decoder) scoring(f *Flow, n *yaml.Node) {
	entries, _ := d.mapping(n, "scoring", "", "scoring")
	for _, e := range entries {
		f.Scoring = append(f.Scoring, Threshold{Segment: e.key, Min: d.num(e.value, "the threshold of "+e.key, "", "scoring."+e.key), Pos: e.kpos})
	}
	sortThresholds(f.Scoring)
}

func (d *decoder) triggers(f *Flow, n *yaml.Node) {
	for i, item := range d.sequence(n, "triggers", "", "triggers") {
		field := indexField("triggers", i, "")
		field = field[:len(field)-1]
		entries, ok := d.mapping(item, "a trigger", "", field)
		if !ok {
			continue
		}
		t := Trigger{Pos: pos(d.resolve(item))}
		for _, e := range entries {
			switch e.key {
			case "command":
				t.Command = d.str(e.value, "command", "", field)
			case "keywords":
				t.Keywords = d.strings(e.value, "keywords", "", field)
			case "goto":
				t.Goto = d.str(e.value, "goto", "", field)
				t.GotoPos = pos(d.resolve(e.value))
			case "reset":
				t.Reset = d.boolean(e.value, "reset", "", field)
			default:
				d.r.errorf(e.kpos, "", field, "unknown key %q in a trigger (allowed: command, keywords, goto, reset)", e.key)
			}
		}
		f.Triggers = append(f.Triggers, t)
	}
}

func (d *decoder) faq(f *Flow, n *yaml.Node) {
	for i, item := range d.sequence(n, "faq", "", "faq") {
		field := "faq[" + strconv.Itoa(i) + "]"
		entries, ok := d.mapping(item, "a faq entry", "", field)
		if !ok {
			continue
		}
		q := FAQ{Pos: pos(d.resolve(item))}
		for _, e := range entries {
			switch e.key {
			case "keywords":
				q.Keywords = d.strings(e.value, "keywords", "", field)
			case "answer":
				q.Answer = d.str(e.value, "answer", "", field)
				f.pos[field+".answer"] = pos(d.resolve(e.value))
			default:
				d.r.errorf(e.kpos, "", field, "unknown key %q in a faq entry (allowed: keywords, answer)", e.key)
			}
		}
		f.FAQ = append(f.FAQ, q)
	}
}

func (d *decoder) nodes(f *Flow, n *yaml.Node) {
	entries, _ := d.mapping(n, "nodes", "", "nodes")
	for _, e := range entries {
		node := &Node{ID: e.key, Pos: e.kpos, pos: map[string]Pos{}}
		if !nodeIDRe.MatchString(e.key) {
			d.r.errorf(e.kpos, e.key, "", "node id %q must be 1–64 letters, digits, _ or -", e.key)
		}
		d.node(node, e.value)
		f.Nodes = append(f.Nodes, node)
		f.byID[node.ID] = node
	}
}

func (d *decoder) node(node *Node, n *yaml.Node) {
	id := node.ID
	entries, ok := d.mapping(n, "node "+id, id, "")
	if !ok {
		return
	}
	for _, e := range entries {
		if e.key == "type" {
			node.Type = d.str(e.value, "type", id, "type")
			node.pos["type"] = pos(d.resolve(e.value))
		}
	}
	if node.Type == "" {
		d.r.errorf(node.Pos, id, "type", "node %s has no type (one of: %s)", id, strings.Join(NodeTypes(), ", "))
		return
	}
	spec, ok := Spec(node.Type)
	if !ok {
		d.r.errorf(node.pos["type"], id, "type", "unknown node type %q (one of: %s)", node.Type, strings.Join(NodeTypes(), ", "))
		return
	}
	for _, e := range entries {
		fs, ok := spec.field(e.key)
		if !ok {
			names := make([]string, 0, len(spec.Fields))
			for _, f := range spec.Fields {
				names = append(names, f.Name)
			}
			d.r.errorf(e.kpos, id, e.key, "unknown key %q in %s node %s (allowed: %s)", e.key, node.Type, id, strings.Join(names, ", "))
			continue
		}
		node.pos[e.key] = pos(d.resolve(e.value))
		node.pos[e.key+"@key"] = e.kpos
		d.field(node, fs, e.value)
	}
	for _, fs := range spec.Fields {
		if fs.Required {
			if _, ok := node.pos[fs.Name]; !ok {
				d.r.errorf(node.Pos, id, fs.Name, "%s node %s needs %s", node.Type, id, fs.Name)
			}
		}
	}
}

func (d *decoder) field(node *Node, fs FieldSpec, v *yaml.Node) {
	id, name := node.ID, fs.Name
	switch name {
	case "type":
	case "note":
		node.Note = d.str(v, "note", id, name)
	case "ui":
		entries, _ := d.mapping(v, "ui", id, name)
		ui := &UI{}
		for _, e := range entries {
			switch e.key {
			case "x":
				ui.X = d.num(e.value, "ui.x", id, name)
			case "y":
				ui.Y = d.num(e.value, "ui.y", id, name)
			default:
				d.r.errorf(e.kpos, id, name, "unknown key %q in ui (allowed: x, y)", e.key)
			}
		}
		node.UI = ui
	case "text":
		node.Text = d.str(v, "text", id, name)
	case "next":
		node.Next = d.str(v, "next", id, name)
	case "buttons":
		d.buttons(node, v)
	case "timeout":
		if node.Type == "handoff" {
			// A handoff's timeout is the node after its wait.
			node.TimeoutNode = d.str(v, "timeout", id, name)
			return
		}
		entries, _ := d.mapping(v, "timeout", id, name)
		t := &Timeout{}
		for _, e := range entries {
			switch e.key {
			case "after":
				if x, ok := d.duration(e.value, "timeout.after", id, "timeout.after"); ok {
					t.After = durationOf(x)
				}
				node.pos["timeout.after"] = pos(d.resolve(e.value))
			case "next":
				t.Next = d.str(e.value, "timeout.next", id, "timeout.next")
				node.pos["timeout.next"] = pos(d.resolve(e.value))
			default:
				d.r.errorf(e.kpos, id, name, "unknown key %q in timeout (allowed: after, next)", e.key)
			}
		}
		if _, given := node.pos["timeout.after"]; !given {
			d.r.errorf(node.PosOf("timeout"), id, "timeout.after", "timeout needs after: a duration such as 2h")
		}
		if _, given := node.pos["timeout.next"]; !given {
			d.r.errorf(node.PosOf("timeout"), id, "timeout.next", "timeout needs next: the node to go to")
		}
		node.Timeout = t
	case "save":
		node.Save = d.str(v, "save", id, name)
	case "expect":
		d.expect(node, v)
	case "choices":
		node.Choices = d.strings(v, "choices", id, name)
	case "invalid":
		node.Invalid = d.str(v, "invalid", id, name)
	case "attempts":
		node.Attempts = d.integer(v, "attempts", id, name)
	case "on_fail":
		node.OnFail = d.str(v, "on_fail", id, name)
	case "branches":
		for i, item := range d.sequence(v, "branches", id, name) {
			f := "branches[" + strconv.Itoa(i) + "]"
			entries, ok := d.mapping(item, "a branch", id, f)
			if !ok {
				continue
			}
			b := Branch{}
			node.pos[f] = pos(d.resolve(item))
			for _, e := range entries {
				switch e.key {
				case "when":
					b.When = d.scalarText(e.value, f+".when", id)
					node.pos[f+".when"] = pos(d.resolve(e.value))
				case "next":
					b.Next = d.str(e.value, "next", id, f+".next")
					node.pos[f+".next"] = pos(d.resolve(e.value))
				default:
					d.r.errorf(e.kpos, id, f, "unknown key %q in a branch (allowed: when, next)", e.key)
				}
			}
			if b.When == "" {
				d.r.errorf(node.pos[f], id, f+".when", "branch needs when: a condition")
			}
			if b.Next == "" {
				d.r.errorf(node.pos[f], id, f+".next", "branch needs next: the node to go to")
			}
			node.Branches = append(node.Branches, b)
		}
	case "else":
		node.Else = d.str(v, "else", id, name)
	case "add":
		node.Add = d.num(v, "add", id, name)
	case "tags":
		node.Tags = d.strings(v, "tags", id, name)
	case "template":
		node.Template = d.str(v, name, id, name)
	case "template_language":
		node.TemplateLanguage = d.str(v, name, id, name)
	case "template_params":
		node.TemplateParams = d.strings(v, name, id, name)
	case "queue":
		node.Queue = d.str(v, "queue", id, name)
	case "resume":
		node.Resume = d.str(v, "resume", id, name)
	case "wait":
		if x, ok := d.duration(v, "wait", id, name); ok {
			node.Wait = durationOf(x)
		}
	case "offline":
		node.Offline = d.str(v, "offline", id, name)
	case "away":
		node.Away = d.str(v, "away", id, name)
	case "for":
		if x, ok := d.duration(v, "for", id, name); ok {
			node.For = durationOf(x)
		}
	case "variants":
		for i, item := range d.sequence(v, "variants", id, name) {
			f := "variants[" + strconv.Itoa(i) + "]"
			entries, ok := d.mapping(item, "a variant", id, f)
			if !ok {
				continue
			}
			vr := Variant{Weight: 1}
			node.pos[f] = pos(d.resolve(item))
			for _, e := range entries {
				switch e.key {
				case "name":
					vr.Name = d.str(e.value, "name", id, f+".name")
				case "weight":
					vr.Weight = d.num(e.value, "weight", id, f+".weight")
					node.pos[f+".weight"] = pos(d.resolve(e.value))
				case "next":
					vr.Next = d.str(e.value, "next", id, f+".next")
					node.pos[f+".next"] = pos(d.resolve(e.value))
				default:
					d.r.errorf(e.kpos, id, f, "unknown key %q in a variant (allowed: name, weight, next)", e.key)
				}
			}
			if vr.Name == "" {
				d.r.errorf(node.pos[f], id, f+".name", "variant needs a name")
			}
			if vr.Next == "" {
				d.r.errorf(node.pos[f], id, f+".next", "variant needs next: the node to go to")
			}
			node.Variants = append(node.Variants, vr)
		}
	case "method":
		node.Method = strings.ToUpper(d.str(v, "method", id, name))
	case "url":
		node.URL = d.str(v, "url", id, name)
	case "headers":
		entries, _ := d.mapping(v, "headers", id, name)
		for _, e := range entries {
			node.Headers = append(node.Headers, Header{Name: e.key, Value: d.str(e.value, "header "+e.key, id, "headers."+e.key)})
			node.pos["headers."+e.key] = pos(d.resolve(e.value))
		}
	case "body":
		node.Body = d.value(v)
	case "on_error":
		node.OnError = d.str(v, "on_error", id, name)
	case "vars":
		entries, _ := d.mapping(v, "vars", id, name)
		for _, e := range entries {
			node.Assign = append(node.Assign, Assign{Var: e.key, Expr: d.scalarText(e.value, "vars."+e.key, id)})
			node.pos["vars."+e.key] = pos(d.resolve(e.value))
			node.pos["vars."+e.key+"@key"] = e.kpos
		}
	case "name":
		node.Name = d.str(v, "name", id, name)
	case "value":
		node.Value = d.num(v, "value", id, name)
	}
}

// scalarText reads an expression written as any scalar: `when: score >= 30`
// is a string, `when: true` a bool, `plan: 5` a number; all are expressions.
func (d *decoder) scalarText(n *yaml.Node, field, id string) string {
	n = d.resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.r.errorf(pos(n), id, field, "%s must be an expression", field)
		return ""
	}
	return n.Value
}

func (d *decoder) buttons(node *Node, v *yaml.Node) {
	id := node.ID
	for i, item := range d.sequence(v, "buttons", id, "buttons") {
		f := "buttons[" + strconv.Itoa(i) + "]"
		item = d.resolve(item)
		node.pos[f] = pos(item)
		if item.Kind == yaml.ScalarNode {
			d.r.errorf(pos(item), id, f, "a button is {label, next}, not just %q", item.Value)
			continue
		}
		entries, ok := d.mapping(item, "a button", id, f)
		if !ok {
			continue
		}
		b := Button{}
		for _, e := range entries {
			switch e.key {
			case "label":
				b.Label = d.str(e.value, "label", id, f+".label")
				node.pos[f+".label"] = pos(d.resolve(e.value))
			case "next":
				b.Next = d.str(e.value, "next", id, f+".next")
				node.pos[f+".next"] = pos(d.resolve(e.value))
			case "score":
				b.Score = d.num(e.value, "score", id, f+".score")
			case "tags":
				b.Tags = d.strings(e.value, "tags", id, f+".tags")
			default:
				d.r.errorf(e.kpos, id, f, "unknown key %q in a button (allowed: label, next, score, tags)", e.key)
			}
		}
		if b.Label == "" {
			d.r.errorf(node.pos[f], id, f+".label", "button needs a label")
		}
		if b.Next == "" {
			d.r.errorf(node.pos[f], id, f+".next", "button %q needs next: the node to go to", b.Label)
		}
		node.Buttons = append(node.Buttons, b)
	}
}

func (d *decoder) expect(node *Node, v *yaml.Node) {
	id := node.ID
	v = d.resolve(v)
	if v.Kind == yaml.MappingNode {
		entries, _ := d.mapping(v, "expect", id, "expect")
		for _, e := range entries {
			switch e.key {
			case "regex":
				node.Expect = Expect{Kind: "regex", Pattern: d.str(e.value, "expect.regex", id, "expect")}
			case "choice":
				node.Expect = Expect{Kind: "choice"}
				node.Choices = d.strings(e.value, "expect.choice", id, "expect")
			default:
				d.r.errorf(e.kpos, id, "expect", "unknown key %q in expect (allowed: regex, choice)", e.key)
			}
		}
		return
	}
	s := d.str(v, "expect", id, "expect")
	// `expect: regex: '^…$'` written on one line is not valid YAML, but
	// `expect: "regex: ^…$"` is what people write instead.
	if rest, ok := strings.CutPrefix(s, "regex:"); ok {
		node.Expect = Expect{Kind: "regex", Pattern: strings.Trim(strings.TrimSpace(rest), `'"`)}
		return
	}
	node.Expect = Expect{Kind: s}
	known := false
	for _, k := range ExpectKinds {
		known = known || k == s
	}
	if !known || s == "regex" {
		d.r.errorf(pos(v), id, "expect", "unknown expect %q (one of: text, number, email, phone, date, choice, {regex: '^…$'})", s)
	}
}
