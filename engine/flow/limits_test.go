package flow

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// amplified is the probe: one 60,000-item list referenced by 1,000
// aliases, about 600 KB that would expand to 60 million values.
func amplified() string {
	var b strings.Builder
	b.WriteString("voronka: 1\nid: amp\nstart: n0\nnodes:\n  n0:\n    type: score\n    add: 1\n    next: n1\n    tags: &t [")
	for i := 0; i < 60_000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "t%06d", i)
	}
	b.WriteString("]\n")
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&b, "  n%d: { type: score, add: 1, tags: *t, next: n%d }\n", i, i+1)
	}
	b.WriteString("  n1001: { type: end }\n")
	return b.String()
}

// bigFunnel is a 10,000-node funnel: questions with three buttons, about
// 250,000 YAML values, far larger than anyone builds by hand.
func bigFunnel(nodes int) string {
	var b strings.Builder
	b.WriteString("voronka: 1\nid: big\nstart: n0\nvars:\n  plan: string\nnodes:\n")
	for i := 0; i < nodes-1; i++ {
		fmt.Fprintf(&b, "  n%d:\n    type: buttons\n    text: Question number %d?\n    buttons:\n"+
			"      - { label: Yes, next: n%d, score: 5 }\n      - { label: No, next: n%d }\n      - { label: Maybe, next: n%d }\n",
			i, i, i+1, i+1, nodes-1)
	}
	fmt.Fprintf(&b, "  n%d: { type: end, text: Bye }\n", nodes-1)
	return b.String()
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestAliasAmplificationIsRefusedBeforeDecoding(t *testing.T) {
	doc := []byte(amplified())
	if len(doc) < 500_000 || len(doc) > 700_000 {
		t.Fatalf("the probe is %d bytes, want about 600 KB", len(doc))
	}
	var ps Problems
	alloc := allocated(func() { _, ps = Load("amp.yaml", doc) })
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "more than 500000 values once its aliases (*name) are expanded") {
		t.Fatalf("want one error about the expanded size, got %v", ps)
	}
	// The error points at an alias that passed the limit, not at line 1.
	if ps[0].Line < 10 {
		t.Errorf("error at line %d, want the line of an alias", ps[0].Line)
	}
	// Decoding it took 1.5 GB; the parse tree of 600 KB is what is left.
	if alloc > 50<<20 {
		t.Errorf("refusing the document allocated %d MB, want under 50", alloc>>20)
	}
}

func TestExpandedLimits(t *testing.T) {
	bigText := strings.Repeat("x", 1<<20)
	texts := "voronka: 1\nid: t\nstart: n0\nnodes:\n  n0: { type: message, text: &big " + bigText + ", next: n1 }\n"
	for i := 1; i <= 10; i++ {
		texts += fmt.Sprintf("  n%d: { type: message, text: *big, next: n%d }\n", i, i+1)
	}
	texts += "  n11: { type: end }\n"
	cases := []struct{ name, doc, want string }{
		{"a megabyte of text aliased ten times", texts, "more than 8388608 bytes of text once its aliases"},
		{"an alias inside its own anchor", "voronka: 1\nid: c\nstart: a\nnodes: &n\n  a: { type: end }\n  b: *n\n", ""},
		{"four million values without an alias", "voronka: 1\nid: v\nstart: a\nnodes:\n  a: { type: score, add: 1, tags: [" + strings.Repeat("a,", 2_000_000) + "a], next: b }\n  b: { type: end }\n",
			"more than the 500000 allowed"},
		{"billion laughs", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
			"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "more than 500000 values once its aliases"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ps := Load("l.yaml", []byte(c.doc))
			if !ps.HasErrors() {
				t.Fatalf("no error")
			}
			if c.want != "" && !strings.Contains(ps.Error(), c.want) {
				t.Fatalf("want %q in:\n%v", c.want, ps)
			}
		})
	}
}

// Aliases that stay within the limits are still read: anchors are a
// legitimate way to share a text or a list of tags.
func TestSmallAliasesStillWork(t *testing.T) {
	doc := "voronka: 1\nid: s\nstart: a\nnodes:\n  a: { type: score, add: 1, tags: &t [hot, vip], next: b }\n  b: { type: score, add: 1, tags: *t, next: c }\n  c: { type: end }\n"
	f, ps := Load("s.yaml", []byte(doc))
	if len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	if got := f.byID["b"].Tags; len(got) != 2 || got[1] != "vip" {
		t.Fatalf("tags of b = %v", got)
	}
}

// The example funnels and a 10,000-node funnel fit the limits with room.
func TestRealFlowsFitTheLimits(t *testing.T) {
	files, err := os.ReadDir("../../flows")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{"10,000 nodes": bigFunnel(10_000)}
	for _, e := range files {
		if strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".test.yaml") {
			b, err := os.ReadFile("../../flows/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			docs[e.Name()] = string(b)
		}
	}
	for name, doc := range docs {
		if est := estimateNodes([]byte(doc)); est > MaxNodes*2 {
			t.Errorf("%s: estimated %d values, over the pre-parse limit %d", name, est, MaxNodes*2)
		}
		_, ps := Load(name, []byte(doc))
		if ps.HasErrors() {
			t.Errorf("%s: %v", name, ps.Errors()[:min(3, len(ps.Errors()))])
		}
	}
}

// A syntax error is reported on the line a person would fix, with the
// document parsed a bounded number of times, not once per line.
func TestSyntaxErrorLines(t *testing.T) {
	cases := []struct{ name, old, new, want string }{
		// "type end" would be a text, "type end text" too: the colon after
		// text is where the document stops making sense.
		{"missing colon", "    type: end\n", "    type end\n", "27:5: syntax error: mapping values are not allowed in this context"},
		{"missing colon before a list", "    buttons:\n", "    buttons\n", "10:5: syntax error: could not find expected ':'"},
		{"over-indented key", "    next: check\n", "       next: check\n", "18:8: syntax error: mapping values are not allowed in this context"},
		{"under-indented key", "    else: bye\n", "   else: bye\n", "24:4: syntax error: did not find expected key"},
		{"unclosed list", "nodes:\n", "nodes: [\n", "6:1: syntax error: did not find expected ',' or ']'"},
		{"unclosed list on the first line", "voronka: 1\n", "voronka: [1\n", "1:1: syntax error: did not find expected ',' or ']'"},
		{"a line of nothing but a tab", "    else: bye\n", "    else: bye\n\t\n", "25:1: syntax error: found a tab character that violates indentation"},
		{"unclosed mapping", "      - { label: Buy, next: ask }\n", "      - { label: Buy, next: ask\n", "11:7: syntax error: did not find expected ',' or '}'"},
		{"tab indent", "    save: budget\n", "\tsave: budget\n", "16:1: syntax error: found a tab character that violates indentation"},
		{"backquote", "    text: Bye\n", "    text: `Bye\n", "27:5: syntax error: found character that cannot start any token"},
		{"unclosed quote", "    text: Budget?\n", "    text: \"Budget?\n", "15:5: syntax error: found unexpected end of stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(base, c.old, c.new, 1)
			if doc == base {
				t.Fatal("case does not change the flow")
			}
			_, ps := Load("shop.yaml", []byte(doc))
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %v", ps)
			}
			if got := fmt.Sprintf("%d:%d: %s", ps[0].Line, ps[0].Col, ps[0].Message); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// Thousands of references to missing nodes cost no more than one each: the
// "did you mean" search over every node is done once per missing id, for a
// bounded number of ids (it took 25 s for a 10,000-node flow).
func TestManyMissingReferencesStayCheap(t *testing.T) {
	doc := strings.ReplaceAll(bigFunnel(10_000), "next: n9999 }", "next: nowhere }")
	v := &validator{}
	f, ps := Parse("m.yaml", []byte(doc))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	v.f, v.r = f, reporter{file: f.File}
	v.run()
	if n := len(v.r.ps.Errors()); n != 10_000 {
		t.Fatalf("%d errors, want one per missing reference (9,999) and n9999 unreachable", n)
	}
	if len(v.suggested) != 1 {
		t.Fatalf("searched for %d ids, want 1", len(v.suggested))
	}
	var b strings.Builder
	b.WriteString("voronka: 1\nid: m\nstart: n0\nnodes:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "  n%d: { type: message, text: hi, next: gone%d }\n", i, i)
	}
	f, _ = Parse("m.yaml", []byte(b.String()))
	v = &validator{f: f, r: reporter{file: f.File}}
	v.run()
	if len(v.suggested) != maxSuggestions {
		t.Fatalf("searched for %d ids, want the bound %d", len(v.suggested), maxSuggestions)
	}
}
