package flow

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voronka/voronka/engine/eval"
)

func durationOf(ns int64) time.Duration { return time.Duration(ns) }

func parseTypeOrAny(s string) eval.Type {
	t, _ := eval.ParseType(s)
	return t
}

func typeKnown(s string) bool {
	_, ok := eval.ParseType(s)
	return ok
}

func typeNames() []string { return eval.TypeNameList() }

func sortThresholds(ts []Threshold) {
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Min > ts[j].Min })
}

// ChannelLimit is what one messenger can show of a buttons node.
type ChannelLimit struct {
	Channel    string
	MaxButtons int
	MaxLabel   int // characters; 0 = no practical limit
	// ListAbove is how many buttons the messenger shows as buttons; more
	// become a list (WhatsApp: 3). 0: never a list.
	ListAbove int
	// MaxText is the longest text one message carries, in characters;
	// longer texts are split into several messages. 0: no practical limit.
	MaxText int
}

// ChannelLimits are the messengers' real limits (PLATFORMS.md): WhatsApp
// shows 3 reply buttons or a list of 10 rows with 24-character titles (20 for
// buttons), VK inline keyboards hold 10 keys, Telegram 100.
var ChannelLimits = []ChannelLimit{
	{Channel: "telegram", MaxButtons: 100, MaxLabel: 0, MaxText: 4096},
	// No ListAbove here: a list is fine; a bot with WhatsApp hears of it
	// through LoadFor with its channels' limits.
	{Channel: "whatsapp", MaxButtons: 10, MaxLabel: 20, MaxText: 4096},
	{Channel: "vk", MaxButtons: 10, MaxLabel: 40, MaxText: 4096},
	{Channel: "viber", MaxButtons: 24, MaxLabel: 0, MaxText: 7000},
}

// Load parses and validates a flow document: the one call every tool uses.
// Buttons are held to the limits of every messenger (ChannelLimits); a
// flow of a bot is better checked with LoadFor and the bot's channels.
func Load(file string, data []byte) (*Flow, Problems) {
	return LoadFor(file, data, ChannelLimits)
}

// LoadFor is Load with the limits of the channels the flow will run on:
// buttons nodes that one of them cannot show get a warning naming it.
func LoadFor(file string, data []byte, channels []ChannelLimit) (*Flow, Problems) {
	f, ps := Parse(file, data)
	ps = append(ps, validate(f, channels)...)
	ps.sort()
	return f, ps
}

// Validate checks everything FLOWS.md asks of a flow and compiles its
// expressions and templates (the engine runs the compiled forms). Every
// problem is reported, not just the first.
func Validate(f *Flow) Problems { return validate(f, ChannelLimits) }

func validate(f *Flow, channels []ChannelLimit) Problems {
	v := &validator{f: f, r: reporter{file: f.File}, channels: channels}
	if f.broken {
		return nil // the decoder said why; checking an empty flow only adds noise
	}
	v.run()
	v.r.ps.sort()
	return v.r.ps
}

type validator struct {
	f *Flow
	r reporter
	// channels are the messengers whose limits buttons are held to.
	channels []ChannelLimit
	// suggested caches "did you mean" per missing id: finding one compares
	// the id with every node, so a flow with thousands of references to
	// missing nodes must not compare each of them again.
	suggested map[string]string
}

// maxSuggestions bounds how many distinct missing ids get a "did you mean".
const maxSuggestions = 100

func (v *validator) run() {
	f := v.f
	if _, ok := f.pos["voronka"]; !ok {
		v.r.errorf(Pos{Line: 1, Col: 1}, "", "voronka", "missing voronka: %d (the format version)", FormatVersion)
	} else if f.Voronka != FormatVersion {
		v.r.errorf(f.PosOf("voronka"), "", "voronka", "unsupported format version %d (this release reads voronka: %d)", f.Voronka, FormatVersion)
	}
	if f.ID == "" {
		if _, ok := f.pos["id"]; !ok {
			v.r.errorf(Pos{Line: 1, Col: 1}, "", "id", "missing id: the flow's name in lowercase letters, digits and -")
		}
	} else if !flowIDRe.MatchString(f.ID) {
		v.r.errorf(f.PosOf("id"), "", "id", "flow id %q must use only a-z, 0-9 and -", f.ID)
	}
	if len(f.Nodes) == 0 {
		v.r.errorf(f.PosOf("nodes"), "", "nodes", "the flow has no nodes")
	}
	if f.Start == "" {
		if _, ok := f.pos["start"]; !ok {
			v.r.errorf(Pos{Line: 1, Col: 1}, "", "start", "missing start: the node a new conversation begins at")
		}
	} else if f.byID[f.Start] == nil {
		v.r.errorf(f.PosOf("start.value"), "", "start", "start: no node %q%s", f.Start, v.suggest(f.Start))
	}
	v.vars()
	for i, t := range f.Scoring {
		if !varRe.MatchString(t.Segment) {
			v.r.errorf(t.Pos, "", "scoring", "segment name %q must be a plain word", t.Segment)
		}
		_ = i
	}
	f.schema = eval.NewSchema(v.schemaVars())
	for i, t := range f.Triggers {
		field := "triggers[" + strconv.Itoa(i) + "]"
		switch {
		case t.Command == "" && len(t.Keywords) == 0:
			v.r.errorf(t.Pos, "", field, "a trigger needs command: /name or keywords: [...]")
		case t.Command != "" && len(t.Keywords) > 0:
			v.r.errorf(t.Pos, "", field, "a trigger has either command or keywords, not both")
		case t.Command != "" && (!strings.HasPrefix(t.Command, "/") || strings.ContainsAny(t.Command, " \t")):
			v.r.errorf(t.Pos, "", field, "command %q must start with / and have no spaces", t.Command)
		}
		if t.Goto == "" {
			v.r.errorf(t.Pos, "", field, "a trigger needs goto: the node to jump to")
		} else if f.byID[t.Goto] == nil {
			v.r.errorf(t.GotoPos, "", field, "goto: no node %q%s", t.Goto, v.suggest(t.Goto))
		}
	}
	for i := range f.FAQ {
		q := &f.FAQ[i]
		field := "faq[" + strconv.Itoa(i) + "]"
		if len(q.Keywords) == 0 {
			v.r.errorf(q.Pos, "", field, "a faq entry needs keywords")
		}
		if q.Answer == "" {
			v.r.errorf(q.Pos, "", field, "a faq entry needs an answer")
			continue
		}
		q.AnswerT = v.template(q.Answer, f.PosOf(field+".answer"), "", field+".answer")
	}
	for _, n := range f.Nodes {
		v.node(n)
	}
	v.reachability()
	v.loops()
}

func (v *validator) vars() {
	seen := map[string]bool{}
	for _, d := range v.f.Vars {
		switch {
		case !varRe.MatchString(d.Name):
			v.r.errorf(d.Pos, "", "vars."+d.Name, "variable name %q must start with a letter and use letters, digits and _", d.Name)
		case eval.IsReserved(d.Name):
			v.r.errorf(d.Pos, "", "vars."+d.Name, "%s is a built-in name; choose another variable name", d.Name)
		}
		seen[d.Name] = true
	}
}

func (v *validator) schemaVars() []eval.Var {
	out := make([]eval.Var, 0, len(v.f.Vars))
	for _, d := range v.f.Vars {
		if varRe.MatchString(d.Name) && !eval.IsReserved(d.Name) {
			out = append(out, eval.Var{Name: d.Name, Type: d.Type})
		}
	}
	return out
}

var (
	unknownNameRe = regexp.MustCompile(`unknown name (` + varPattern + `)`)
	mismatchRe    = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+) and (\S+)\)`)
	tokenRe       = regexp.MustCompile(`^unexpected token (\w+)(?:\((.*)\))?`)
	positionRe    = regexp.MustCompile(` \(\d+:\d+\)$`)
)

// explain rewrites expr-lang's messages into the words of a flow author
// (the builder words each of these sentences in Russian): what is wrong,
// not how the compiler sees it.
func explain(err error) string {
	msg := positionRe.ReplaceAllString(err.Error(), "")
	if m := unknownNameRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("variable %s is used but not declared under vars", m[1])
	}
	if m := mismatchRe.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("a %s cannot be compared with a %s by %s", typeWord(m[2]), typeWord(m[3]), m[1])
	}
	if m := tokenRe.FindStringSubmatch(msg); m != nil {
		switch {
		case m[1] == "EOF":
			return "the expression ends too early: something is missing at the end"
		case m[2] == `"="`:
			return "= is not a comparison; write == to compare"
		case m[2] != "":
			return fmt.Sprintf("%s is out of place here", m[2])
		}
	}
	if strings.Contains(msg, "at most") {
		return "the expression would do too much work: " + msg
	}
	if strings.Contains(msg, "literal not terminated") || strings.Contains(msg, "unterminated") {
		return "a quote is opened but not closed"
	}
	return "the expression cannot be read: " + msg
}

// typeWord names an expr-lang type as a flow author knows it.
func typeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "float"), strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "number"
	case t == "string":
		return "text"
	case t == "bool":
		return "yes/no value"
	case strings.HasPrefix(t, "[]"):
		return "list"
	case strings.HasPrefix(t, "map"):
		return "object"
	case strings.Contains(t, "Time"):
		return "date"
	}
	return t
}

func (v *validator) template(src string, p Pos, node, field string) *eval.Template {
	t, err := v.f.schema.CompileTemplate(src)
	if err != nil {
		var te *eval.TemplateError
		if errors.As(err, &te) {
			p = offsetPos(p, src, te.Offset)
		}
		v.r.errorf(p, node, field, "%s", explain(err))
		return nil
	}
	return t
}

// exprError reports an expression that does not compile at the character
// the compiler complained about.
func (v *validator) exprError(n *Node, field, src string, err error) {
	p := n.PosOf(field)
	var ce *eval.CompileError
	if errors.As(err, &ce) {
		p = offsetPos(p, src, ce.Offset)
	}
	v.r.errorf(p, n.ID, field, "%s", explain(err))
}

// offsetPos moves a position by a number of characters inside a one-line
// scalar, so an error in the second {{ }} of a text, or at a misspelt name in
// a condition, points at it rather than at the start of the value.
func offsetPos(p Pos, src string, chars int) Pos {
	r := []rune(src)
	if chars > len(r) || strings.ContainsRune(string(r[:chars]), '\n') || (p.quote == 1 && strings.ContainsRune(string(r[:chars]), '\\')) {
		return p
	}
	return Pos{Line: p.Line, Col: p.Col + p.quote + chars}
}

func (v *validator) ref(n *Node, field, to string) {
	if to == "" {
		return
	}
	if v.f.byID[to] == nil {
		v.r.errorf(n.PosOf(field), n.ID, field, "%s: no node %q%s", field, to, v.suggest(to))
	}
}

// suggest names the closest existing node id, for typos.
func (v *validator) suggest(id string) string {
	if best := v.closest(id); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest returns the node id within two edits of id, or "". Past
// maxSuggestions distinct ids it gives up and returns "".
func (v *validator) closest(id string) string {
	if best, ok := v.suggested[id]; ok {
		return best
	}
	if v.suggested == nil {
		v.suggested = map[string]string{}
	}
	if len(v.suggested) >= maxSuggestions {
		return ""
	}
	best := v.nearest(id)
	v.suggested[id] = best
	return best
}

func (v *validator) nearest(id string) string {
	best, bestD := "", 3
	for _, n := range v.f.Nodes {
		if d := editDistance(id, n.ID, bestD); d < bestD {
			best, bestD = n.ID, d
		}
	}
	return best
}

func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) >= limit {
		return limit
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (v *validator) saveVar(n *Node, field, name string, accepts ...eval.Type) {
	t, ok := v.f.VarType(name)
	if !ok {
		v.r.errorf(n.PosOf(field), n.ID, field, "%s: variable %s is not declared under vars", field, name)
		return
	}
	if t == eval.TypeAny {
		return
	}
	for _, a := range accepts {
		if a == t {
			return
		}
	}
	names := make([]string, len(accepts))
	for i, a := range accepts {
		names[i] = a.String()
	}
	v.r.errorf(n.PosOf(field), n.ID, field, "%s: variable %s is a %s, but this node saves a %s", field, name, t, strings.Join(names, " or "))
}

func (v *validator) node(n *Node) {
	spec, ok := Spec(n.Type)
	if !ok {
		return // reported by the decoder
	}
	id := n.ID
	if n.Text != "" {
		n.TextT = v.template(n.Text, n.PosOf("text"), id, "text")
		v.textLength(n)
	}
	v.waTemplate(n)
	if n.Type == "handoff" && n.Note != "" {
		n.NoteT = v.template(n.Note, n.PosOf("note"), id, "note")
	}
	if n.Type == "handoff" {
		v.handoff(n)
	}
	for _, e := range n.Targets() {
		v.ref(n, e.Field, e.To)
	}
	switch n.Type {
	case "buttons":
		v.buttons(n)
	case "question":
		v.question(n)
	case "condition":
		if _, given := n.pos["branches"]; given && len(n.Branches) == 0 {
			v.r.errorf(n.PosOf("branches"), id, "branches", "condition %s needs at least one branch", id)
		}
		for i := range n.Branches {
			b := &n.Branches[i]
			if b.When == "" {
				continue
			}
			f := "branches[" + strconv.Itoa(i) + "].when"
			c, err := v.f.schema.CompileCond(b.When)
			if err != nil {
				v.exprError(n, f, b.When, err)
				continue
			}
			b.Cond = c
		}
	case "delay":
		if _, ok := n.pos["for"]; ok && n.For <= 0 {
			v.r.errorf(n.PosOf("for"), id, "for", "delay must be longer than zero")
		}
	case "split":
		if _, given := n.pos["variants"]; given && len(n.Variants) == 0 {
			v.r.errorf(n.PosOf("variants"), id, "variants", "split %s needs variants", id)
		}
		names := map[string]bool{}
		for i, vr := range n.Variants {
			f := "variants[" + strconv.Itoa(i) + "]"
			if vr.Weight <= 0 {
				v.r.errorf(n.PosOf(f+".weight"), id, f+".weight", "variant %q needs a weight above zero", vr.Name)
			}
			if names[vr.Name] && vr.Name != "" {
				v.r.errorf(n.PosOf(f), id, f+".name", "variant name %q is used twice", vr.Name)
			}
			names[vr.Name] = true
		}
	case "webhook":
		if n.Method == "" {
			n.Method = "POST"
		} else if !slices.Contains(Methods, n.Method) {
			v.r.errorf(n.PosOf("method"), id, "method", "method %q must be one of %s", n.Method, strings.Join(Methods, ", "))
		}
		if n.URL != "" {
			n.URLT = v.template(n.URL, n.PosOf("url"), id, "url")
		}
		for i := range n.Headers {
			h := &n.Headers[i]
			h.T = v.template(h.Value, n.PosOf("headers."+h.Name), id, "headers."+h.Name)
		}
		n.BodyT = MapBody(n.Body, func(leaf any) any {
			if str, ok := leaf.(string); ok {
				return v.template(str, n.PosOf("body"), n.ID, "body")
			}
			return leaf
		})
		if n.Save != "" {
			v.saveVar(n, "save", n.Save, eval.TypeObject, eval.TypeList, eval.TypeString)
		}
	case "set":
		for i := range n.Assign {
			a := &n.Assign[i]
			f := "vars." + a.Var
			t, declared := v.f.VarType(a.Var)
			if !declared {
				v.r.errorf(n.PosOf(f+"@key"), id, f, "set: variable %s is not declared under vars", a.Var)
			}
			if a.Expr == "" {
				continue
			}
			prog, err := v.f.schema.CompileExpr(a.Expr)
			if err != nil {
				v.exprError(n, f, a.Expr, err)
				continue
			}
			a.Prog = prog
			if declared {
				v.checkAssignType(n, f, a, t)
			}
		}
	case "goal":
		if n.Name == "" && n.pos["name"] != (Pos{}) {
			v.r.errorf(n.PosOf("name"), id, "name", "goal needs a name")
		}
	}
	_ = spec
}

// checkAssignType catches `plan: 5` into a string var and the like when the
// expression's type is known at compile time.
func (v *validator) checkAssignType(n *Node, field string, a *Assign, t eval.Type) {
	rt := a.Prog.ResultType()
	if rt == nil || t == eval.TypeAny || t == eval.TypeString {
		return
	}
	ok := true
	switch t {
	case eval.TypeNumber:
		ok = isNumberKind(rt.Kind())
	case eval.TypeBool:
		ok = rt.Kind() == reflect.Bool
	case eval.TypeList:
		ok = rt.Kind() == reflect.Slice || rt.Kind() == reflect.Array
	case eval.TypeObject:
		ok = rt.Kind() == reflect.Map
	case eval.TypeDate:
		ok = rt.String() == "time.Time" || rt.Kind() == reflect.String
	}
	if rt.Kind() == reflect.Interface {
		ok = true
	}
	if !ok {
		v.r.errorf(n.PosOf(field), n.ID, field, "%s is a %s, but %q gives a %s", a.Var, t, a.Expr, rt)
	}
}

func isNumberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func (v *validator) buttons(n *Node) {
	id := n.ID
	if len(n.Buttons) == 0 {
		if _, ok := n.pos["buttons"]; ok {
			v.r.errorf(n.PosOf("buttons"), id, "buttons", "buttons node %s has no buttons", id)
		}
		return
	}
	labels := map[string]int{}
	longest := 0
	for i, b := range n.Buttons {
		f := "buttons[" + strconv.Itoa(i) + "]"
		key := NormalizeText(b.Label)
		if j, dup := labels[key]; dup && key != "" {
			v.r.errorf(n.PosOf(f+".label"), id, f+".label", "button label %q repeats button %d: a typed answer could not tell them apart", b.Label, j+1)
		}
		labels[key] = i
		longest = max(longest, utf8.RuneCountInString(b.Label))
	}
	for _, lim := range v.channels {
		if len(n.Buttons) > lim.MaxButtons {
			v.r.warnf(n.PosOf("buttons"), id, "buttons", "%s shows at most %d buttons; this node has %d", lim.Channel, lim.MaxButtons, len(n.Buttons))
		}
		if lim.ListAbove > 0 && len(n.Buttons) > lim.ListAbove && len(n.Buttons) <= lim.MaxButtons {
			v.r.warnf(n.PosOf("buttons"), id, "buttons", "%s shows up to %d buttons as buttons; these %d become a list the person opens", lim.Channel, lim.ListAbove, len(n.Buttons))
		}
		if lim.MaxLabel > 0 && longest > lim.MaxLabel {
			v.r.warnf(n.PosOf("buttons"), id, "buttons", "%s cuts button labels to %d characters; the longest here has %d", lim.Channel, lim.MaxLabel, longest)
		}
	}
}

// waTemplate checks a WhatsApp template: a name needs a language, and
// the parameters are templates.
func (v *validator) waTemplate(n *Node) {
	if n.Template == "" {
		if n.TemplateLanguage != "" || len(n.TemplateParams) > 0 {
			v.r.errorf(n.PosOf("template_language"), n.ID, "template", "template_language and template_params need template: the template's name")
		}
		return
	}
	if n.TemplateLanguage == "" {
		v.r.errorf(n.PosOf("template"), n.ID, "template_language", "template %s needs template_language, such as ru", n.Template)
	}
	n.TemplateParamsT = nil
	for i, p := range n.TemplateParams {
		n.TemplateParamsT = append(n.TemplateParamsT, v.template(p, n.PosOf("template_params"), n.ID, "template_params["+strconv.Itoa(i)+"]"))
	}
}

// textLength warns where a messenger splits the node's text: the text as
// written, before its {{ }} are filled, is already longer than one
// message there.
func (v *validator) textLength(n *Node) {
	length := utf8.RuneCountInString(n.Text)
	for _, lim := range v.channels {
		if lim.MaxText > 0 && length > lim.MaxText {
			v.r.warnf(n.PosOf("text"), n.ID, "text", "%s carries at most %d characters a message; this text of %d goes out in %d messages",
				lim.Channel, lim.MaxText, length, (length+lim.MaxText-1)/lim.MaxText)
		}
	}
}

func (v *validator) question(n *Node) {
	id := n.ID
	kind := n.Expect.Kind
	if kind == "" {
		kind = "text"
		n.Expect.Kind = kind
	}
	if n.Invalid != "" {
		n.InvalidT = v.template(n.Invalid, n.PosOf("invalid"), id, "invalid")
	}
	if _, ok := n.pos["attempts"]; ok && n.Attempts < 1 {
		v.r.errorf(n.PosOf("attempts"), id, "attempts", "attempts must be at least 1")
	}
	if n.Attempts == 0 {
		n.Attempts = DefaultAttempts
	}
	switch kind {
	case "regex":
		re, err := regexp.Compile(n.Expect.Pattern)
		if err != nil {
			v.r.errorf(n.PosOf("expect"), id, "expect", "invalid regex %q: %v", n.Expect.Pattern, err)
		}
		n.Regex = re
	case "choice":
		if len(n.Choices) == 0 {
			v.r.errorf(n.PosOf("expect"), id, "choices", "expect: choice needs choices: [...]")
		}
	}
	if len(n.Choices) > 0 && kind != "choice" {
		v.r.warnf(n.PosOf("choices"), id, "choices", "choices are used only with expect: choice")
	}
	if n.Save == "" {
		return
	}
	switch kind {
	case "number":
		v.saveVar(n, "save", n.Save, eval.TypeNumber, eval.TypeString)
	case "date":
		v.saveVar(n, "save", n.Save, eval.TypeDate, eval.TypeString)
	case "choice":
		if t, ok := v.f.VarType(n.Save); ok && t == eval.TypeNumber {
			// A rating 1–5 saved as a number: every choice must read as one.
			for _, ch := range n.Choices {
				if _, err := strconv.ParseFloat(ch, 64); err != nil {
					v.r.errorf(n.PosOf("save"), id, "save", "save: variable %s is a number, but choice %q is not", n.Save, ch)
				}
			}
			return
		}
		v.saveVar(n, "save", n.Save, eval.TypeString)
	default:
		v.saveVar(n, "save", n.Save, eval.TypeString)
	}
}

// roots are the nodes a conversation can be at without following an edge.
func (v *validator) roots() []string {
	out := []string{v.f.Start}
	for _, t := range v.f.Triggers {
		out = append(out, t.Goto)
	}
	return out
}

func (v *validator) reachability() {
	f := v.f
	if f.byID[f.Start] == nil {
		return // every node would look unreachable; the missing start is reported
	}
	seen := map[string]bool{}
	stack := v.roots()
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := f.byID[id]
		if n == nil || seen[id] {
			continue
		}
		seen[id] = true
		for _, e := range n.Targets() {
			to := e.To
			if f.byID[to] == nil {
				// A typo in a reference is reported once; the node it most
				// likely meant is not reported as unreachable on top of it.
				to = v.closest(to)
			}
			stack = append(stack, to)
		}
	}
	for _, n := range f.Nodes {
		if !seen[n.ID] {
			v.r.errorf(n.Pos, n.ID, "", "node %s is unreachable: nothing leads to it from start or a trigger", n.ID)
		}
	}
}

// loops finds cycles that pass through no waiting node: a conversation that
// entered one would spin forever without asking the user anything.
func (v *validator) loops() {
	f := v.f
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var path []string
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		n := f.byID[id]
		if n == nil || Waits(n.Type) {
			return
		}
		color[id] = grey
		path = append(path, id)
		for _, e := range n.Targets() {
			switch color[e.To] {
			case grey:
				i := len(path) - 1
				for i >= 0 && path[i] != e.To {
					i--
				}
				cycle := append(append([]string(nil), path[i:]...), e.To)
				first := f.byID[e.To]
				if !reported[e.To] {
					reported[e.To] = true
					v.r.errorf(first.Pos, first.ID, "", "loop with no waiting node: %s; add a buttons, question or delay node to it", strings.Join(cycle, " → "))
				}
			case white:
				visit(e.To)
			}
		}
		path = path[:len(path)-1]
		color[id] = black
	}
	for _, n := range f.Nodes {
		if color[n.ID] == white {
			visit(n.ID)
		}
	}
}

// handoff checks that wait and timeout come together: a wait with nowhere
// to go, or a timeout that never comes, is a mistake.
func (v *validator) handoff(n *Node) {
	id := n.ID
	if n.Away != "" {
		n.AwayT = v.template(n.Away, n.PosOf("away"), id, "away")
	}
	_, hasWait := n.pos["wait"]
	switch {
	case hasWait && n.TimeoutNode == "":
		v.r.errorf(n.PosOf("wait"), id, "timeout", "handoff %s has wait but no timeout: the node to go to when nobody takes the chat", id)
	case !hasWait && n.TimeoutNode != "":
		v.r.errorf(n.PosOf("timeout"), id, "wait", "handoff %s has timeout but no wait: how long to wait for an operator, such as 15m", id)
	case hasWait && n.Wait <= 0:
		v.r.errorf(n.PosOf("wait"), id, "wait", "wait must be longer than zero")
	}
	if strings.ContainsFunc(n.Queue, func(r rune) bool { return r < 0x20 }) {
		v.r.errorf(n.PosOf("queue"), id, "queue", "a queue name cannot hold control characters")
	}
}
