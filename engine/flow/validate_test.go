package flow

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// base is a small valid flow; cases below break it one way at a time.
const base = `voronka: 1
id: shop
start: hello
vars:
  budget: number
nodes:
  hello:
    type: buttons
    text: "Hi {{ contact.first_name }}"
    buttons:
      - { label: Buy, next: ask }
      - { label: Browse, next: bye }
  ask:
    type: question
    text: Budget?
    save: budget
    expect: number
    next: check
  check:
    type: condition
    branches:
      - when: budget > 1000
        next: bye
    else: bye
  bye:
    type: end
    text: Bye
`

func TestBaseFlowIsValid(t *testing.T) {
	_, ps := Load("shop.yaml", []byte(base))
	if len(ps) != 0 {
		t.Fatalf("problems in a valid flow:\n%v", ps)
	}
}

func TestEachRuleReportsItsPosition(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string // "line:col: message fragment"
	}{
		{"unknown top-level key", "start: hello\n", "start: hello\ncolour: red\n", "4:1: unknown key \"colour\""},
		{"unknown node key", "    save: budget\n", "    save: budget\n    colour: red\n", "17:5: unknown key \"colour\" in question node ask"},
		{"unknown node type", "    type: end\n", "    type: finish\n", "26:11: unknown node type \"finish\""},
		{"next to a missing node", "    next: check\n", "    next: chek\n", "18:11: next: no node \"chek\" (did you mean \"check\"?)"},
		{"button to a missing node", "{ label: Buy, next: ask }", "{ label: Buy, next: nowhere }", "11:29: buttons[0].next: no node \"nowhere\""},
		{"undeclared variable in a condition", "budget > 1000", "budjet > 1000", "22:15: variable budjet is used but not declared under vars"},
		{"undeclared variable in a template", "Hi {{ contact.first_name }}", "Hi {{ name }}", "9:18: variable name is used but not declared under vars"},
		{"save into an undeclared variable", "    save: budget\n", "    save: amount\n", "16:11: save: variable amount is not declared under vars"},
		{"type mismatch in a condition", "budget > 1000", `budget > "lots"`, "22:22: a number cannot be compared with a text by >"},
		{"range over the evaluation budget", "budget > 1000", "count(1..100000, budget > 5) > 0", "22:21: the expression would do too much work: range of 100000 numbers"},
		{"regex over the evaluation budget", "budget > 1000", `contact.first_name matches "[0-9]{1000}[a-z]{500}"`, "22:42: the expression would do too much work: regular expression too large"},
		{"an undeclared Russian name", "budget > 1000", "баллы > 1000", "22:15: variable баллы is used but not declared under vars"},
		{"= written for ==", "budget > 1000", "budget = 1000", "22:22: = is not a comparison; write == to compare"},
		{"an expression cut short", "budget > 1000", "budget >", "22:22: the expression ends too early"},
		{"condition that is not boolean", "budget > 1000", "budget + 1", "22:15: "},
		{"bad duration", "    next: check\n", "    next: check\n    timeout: { after: soon, next: bye }\n", "19:23: timeout.after: invalid duration \"soon\""},
		{"unsupported version", "voronka: 1", "voronka: 2", "1:1: unsupported format version 2"},
		{"bad flow id", "id: shop", "id: Shop_1", "2:1: flow id \"Shop_1\""},
		{"empty flow id", "id: shop", `id: ""`, "2:5: id is empty"},
		{"missing start node", "start: hello", "start: hallo", "3:8: start: no node \"hallo\""},
		{"unknown variable type", "budget: number", "budget: money", "5:11: unknown type \"money\""},
		{"unknown expect", "expect: number", "expect: money", "17:13: unknown expect \"money\""},
		{"duplicate key", "    text: Bye\n", "    text: Bye\n    text: Ciao\n", "28:5: duplicate key \"text\""},
		{"node without type", "  bye:\n    type: end\n", "  bye:\n    label: end\n", "25:3: node bye has no type"},
		{"missing required field", "    branches:\n      - when: budget > 1000\n        next: bye\n", "", "19:3: condition node check needs branches"},
		{"syntax error", "nodes:\n", "nodes: [\n", "syntax error: did not find expected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(base, c.old, c.new, 1)
			if doc == base {
				t.Fatalf("case does not change the flow")
			}
			_, ps := Load("shop.yaml", []byte(doc))
			if !ps.HasErrors() {
				t.Fatalf("no error reported; want %q", c.want)
			}
			for _, p := range ps {
				if strings.Contains(fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Message), c.want) {
					if !strings.HasPrefix(p.String(), "shop.yaml:") {
						t.Errorf("problem %q does not name the file", p)
					}
					return
				}
			}
			t.Fatalf("want a problem containing %q, got:\n%v", c.want, ps)
		})
	}
}

// threeMistakes is the base flow with a missing node, an undeclared variable
// and an unknown key.
func threeMistakes() string {
	return strings.NewReplacer(
		"    next: check\n", "    next: chek\n",
		"budget > 1000", "budjet > 1000",
		"    type: end\n", "    type: end\n    colour: red\n",
	).Replace(base)
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	doc := threeMistakes()
	_, ps := Load("shop.yaml", []byte(doc))
	var got []string
	for _, p := range ps.Errors() {
		got = append(got, fmt.Sprintf("%d:%d", p.Line, p.Col))
	}
	want := []string{"18:11", "22:15", "27:5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("error positions %v, want %v (all of them, in order)\n%v", got, want, ps)
	}
}

func TestGraphRules(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unreachable node", `voronka: 1
id: g
start: a
nodes:
  a: { type: end, text: hi }
  lost: { type: end, text: never }
`, "6:3: node lost is unreachable"},
		{"loop without a waiting node", `voronka: 1
id: g
start: a
vars: { n: number }
nodes:
  a: { type: set, vars: { n: n + 1 }, next: b }
  b:
    type: condition
    branches: [ { when: n > 3, next: c } ]
    else: a
  c: { type: end }
`, "6:3: loop with no waiting node: a → b → a"},
		{"a loop through a question is fine", `voronka: 1
id: g
start: a
nodes:
  a: { type: question, text: "?", next: b }
  b: { type: message, text: ok, next: a }
`, ""},
		{"triggers make nodes reachable", `voronka: 1
id: g
start: a
triggers: [ { command: /help, goto: help } ]
nodes:
  a: { type: end, text: hi }
  help: { type: end, text: help }
`, ""},
		{"too many buttons for whatsapp is a warning", `voronka: 1
id: g
start: a
nodes:
  a:
    type: buttons
    text: pick
    buttons: [` + strings.Repeat("{ label: x, next: z },", 0) + func() string {
			var b []string
			for i := 0; i < 11; i++ {
				b = append(b, fmt.Sprintf("{ label: b%d, next: z }", i))
			}
			return strings.Join(b, ", ")
		}() + `]
  z: { type: end }
`, "warning: whatsapp shows at most 10 buttons"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ps := Load("g.yaml", []byte(c.doc))
			if c.want == "" {
				if len(ps) > 0 {
					t.Fatalf("unexpected problems:\n%v", ps)
				}
				return
			}
			if !strings.Contains(ps.Error(), c.want) {
				t.Fatalf("want %q in:\n%v", c.want, ps)
			}
		})
	}
}

func TestWarningsDoNotBlock(t *testing.T) {
	doc := strings.Replace(base, "{ label: Browse, next: bye }", "{ label: Browse through the whole catalogue, next: bye }", 1)
	_, ps := Load("shop.yaml", []byte(doc))
	if ps.HasErrors() || len(ps) == 0 {
		t.Fatalf("want only warnings, got %v", ps)
	}
	if !strings.Contains(ps[0].String(), ": warning: whatsapp cuts button labels to 20 characters") {
		t.Fatalf("warning reads %q", ps[0])
	}
}

func TestJSONFlowsKeepPositions(t *testing.T) {
	doc := `{
  "voronka": 1,
  "id": "j",
  "start": "a",
  "nodes": {
    "a": {"type": "message", "text": "hi", "next": "b"}
  }
}`
	_, ps := Load("j.json", []byte(doc))
	if len(ps) != 1 || ps[0].Line != 6 || !strings.Contains(ps[0].Message, `no node "b"`) {
		t.Fatalf("want one error at line 6, got %v", ps)
	}
}

func TestHostileDocuments(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'k'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	docs := map[string]string{
		"billion laughs":    "voronka: 1\nid: x\nstart: n\nnodes:\n  n:\n    type: webhook\n    url: u\n    next: n2\n    body:\n" + indent(laughs, "      ") + "  n2: { type: end }\n",
		"huge document":     strings.Repeat("#", MaxDocument+1),
		"not a mapping":     "- just\n- a list\n",
		"empty":             "",
		"null":              "null\n",
		"an anchored null":  "&0",
		"only a comment":    "# nothing here\n",
		"nodes is a string": "voronka: 1\nid: x\nstart: a\nnodes: hello\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, ps := Load("h.yaml", []byte(doc))
			if !ps.HasErrors() && name != "billion laughs" {
				t.Fatalf("no error for %s", name)
			}
		})
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestDurations(t *testing.T) {
	cases := map[string]string{"90s": "1m30s", "2h": "2h", "1d": "1d", "1w": "1w", "1h30m": "1h30m", "1.5h": "1h30m", "36h": "1d12h"}
	for in, want := range cases {
		d, err := ParseDuration(in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", in, err)
			continue
		}
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(ParseDuration(%q)) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "soon", "5", "h", "-1h", "1y", "100000d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestNormalizeText(t *testing.T) {
	cases := map[string]string{
		"  Хочу КУПИТЬ! 🚀": "хочу купить",
		"Ещё подумаю":      "еще подумаю",
		"I want-to_buy...": "i want to buy",
		"👍":                "",
	}
	for in, want := range cases {
		if got := NormalizeText(in); got != want {
			t.Errorf("NormalizeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// The keyword matcher compares letters in place, which needs valid UTF-8:
// NormalizeText must give it that whatever bytes a message carries.
func TestNormalizeTextIsValidUTF8(t *testing.T) {
	for _, in := range []string{"\xff\xfeдоставка", "доставк\xff", "a\xc3", "\xed\xa0\x80x", "日本\x80語"} {
		if got := NormalizeText(in); !utf8.ValidString(got) {
			t.Errorf("NormalizeText(%q) = %q, not valid UTF-8", in, got)
		}
	}
}

func FuzzLoad(f *testing.F) {
	addExampleFlows(f)
	f.Add([]byte(base))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"))
	f.Add([]byte("voronka: 1\nid: x\nnodes: [\n"))
	f.Add([]byte(`{"voronka":1,"id":"x","start":"a","nodes":{"a":{"type":"end"}}}`))
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, ps := Load("fuzz.yaml", data)
		for _, p := range ps {
			if p.Line < 1 || p.Col < 1 {
				t.Fatalf("problem without a position: %+v", p)
			}
			if strings.Contains(p.Message, "cannot decode document") {
				t.Fatalf("decoder panicked: %s", p.Message)
			}
		}
	})
}

// Each problem carries its message unformatted, so the builder can word it
// in Russian: the format with the arguments is the message, and the
// arguments are plain values that survive JSON.
func TestProblemsCarryTheirFormat(t *testing.T) {
	doc := threeMistakes()
	_, ps := Load("shop.yaml", []byte(doc))
	if len(ps) < 3 {
		t.Fatalf("%d problems, want at least 3: %v", len(ps), ps)
	}
	for _, p := range ps {
		if p.Format == "" {
			t.Errorf("%v: no format", p)
			continue
		}
		if got := fmt.Sprintf(p.Format, p.Args...); got != p.Message {
			t.Errorf("format %q with %q gives %q, want the message %q", p.Format, p.Args, got, p.Message)
		}
		for _, a := range p.Args {
			switch a.(type) {
			case string, bool, int, int32, int64, uint, uint32, uint64, float32, float64:
			default:
				t.Errorf("%v: argument %#v is not a plain value", p, a)
			}
		}
	}
}

// A bot's messengers get warnings for what they cannot show as written:
// four buttons on WhatsApp become a list, a 5,000-character text on VK is
// split; Telegram shows both as they are.
func TestChannelWarningsListAndSplit(t *testing.T) {
	long := strings.Repeat("а", 5000)
	doc := `voronka: 1
id: w
start: pick
nodes:
  pick:
    type: buttons
    text: "` + long + `"
    buttons:
      - { label: "Один", next: bye }
      - { label: "Два", next: bye }
      - { label: "Три", next: bye }
      - { label: "Четыре", next: bye }
  bye: { type: end }
`
	wa := ChannelLimit{Channel: "WhatsApp", MaxButtons: 10, MaxLabel: 20, ListAbove: 3, MaxText: 4096}
	vk := ChannelLimit{Channel: "VK", MaxButtons: 10, MaxLabel: 40, MaxText: 4096}
	tg := ChannelLimit{Channel: "Telegram", MaxButtons: 100, MaxText: 0}
	cases := []struct {
		lims []ChannelLimit
		want []string
	}{
		{[]ChannelLimit{wa}, []string{"WhatsApp carries at most 4096 characters a message; this text of 5000 goes out in 2 messages", "WhatsApp shows up to 3 buttons as buttons; these 4 become a list"}},
		{[]ChannelLimit{vk}, []string{"VK carries at most 4096 characters a message; this text of 5000 goes out in 2 messages"}},
		{[]ChannelLimit{tg}, nil},
	}
	for _, c := range cases {
		_, ps := LoadFor("w.yaml", []byte(doc), c.lims)
		if ps.HasErrors() || len(ps) != len(c.want) {
			t.Fatalf("%s: %v", c.lims[0].Channel, ps)
		}
		for i, w := range c.want {
			if !strings.Contains(ps[i].Message, w) || ps[i].Node != "pick" {
				t.Fatalf("%s: problem %d = %q (node %s), want %q", c.lims[0].Channel, i, ps[i].Message, ps[i].Node, w)
			}
		}
	}
}

// A WhatsApp template on a node round-trips, needs a language, and its
// parameters are checked as templates.
func TestWhatsAppTemplateFields(t *testing.T) {
	doc := `voronka: 1
id: tpl
vars:
  name: string
start: nudge
nodes:
  nudge:
    type: message
    text: "Вы ещё думаете, {{ name }}?"
    template: follow_up
    template_language: ru
    template_params: ["{{ name }}", "скидка 10%"]
`
	f, ps := Load("tpl.yaml", []byte(doc))
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	n := f.Nodes[0]
	if n.Template != "follow_up" || n.TemplateLanguage != "ru" || len(n.TemplateParamsT) != 2 {
		t.Fatalf("node %+v", n)
	}
	out, err := Encode(f)
	if err != nil || !strings.Contains(string(out), "template: follow_up") || !strings.Contains(string(out), "template_language: ru") {
		t.Fatalf("encoded:\n%s %v", out, err)
	}
	for bad, want := range map[string]string{
		strings.Replace(doc, "    template_language: ru\n", "", 1):               "template follow_up needs template_language",
		strings.Replace(doc, "    template: follow_up\n", "", 1):                 "need template: the template's name",
		strings.Replace(doc, `"{{ name }}", "скидка`, `"{{ nme }}", "скидка`, 1): "nme",
	} {
		if _, ps := Load("tpl.yaml", []byte(bad)); !ps.HasErrors() || !strings.Contains(ps.Error(), want) {
			t.Errorf("want %q in %v", want, ps)
		}
	}
}

// A marketer names variables in Russian; the names work in conditions,
// templates and save, and still must start with a letter.
func TestRussianVariableNames(t *testing.T) {
	doc := `voronka: 1
id: ru
start: ask
vars: { бюджет: number, имя_2: string }
nodes:
  ask: { type: question, text: "Бюджет?", save: бюджет, expect: number, next: check }
  check:
    type: condition
    branches: [ { when: 'бюджет >= 100000 && имя_2 != ""', next: bye } ]
    else: bye
  bye: { type: end, text: "Спасибо, {{ имя_2 }}! Бюджет {{ бюджет }}" }
`
	if _, ps := Load("ru.yaml", []byte(doc)); len(ps) != 0 {
		t.Fatalf("want no problems, got %v", ps)
	}
	bad := strings.Replace(doc, "имя_2: string", "2имя: string", 1)
	if _, ps := Load("ru.yaml", []byte(bad)); !strings.Contains(ps.Error(), `variable name "2имя" must start with a letter`) {
		t.Fatalf("want the bad name reported, got %v", ps)
	}
}
