package eval

import (
	"errors"
	"strings"
	"testing"
)

// hostileEnv is a conversation with a 4 KB message (the most a messenger
// delivers), the same text in a variable, a 1,000-item list and a 1,000-key
// object, as a webhook could save.
func hostileEnv() *Env {
	s := NewSchema([]Var{{"s", TypeString}, {"l", TypeList}, {"o", TypeObject}})
	msg := strings.Repeat("a", 4096)
	l := make([]any, 1000)
	for i := range l {
		l[i] = float64(i % 37)
	}
	o := make(map[string]any, 1000)
	for i := 0; i < 1000; i++ {
		o[strings.Repeat("k", i%50)+string(rune('a'+i%26))+msg[:i%100]] = float64(i)
	}
	return &Env{Schema: s, Vars: map[string]any{"s": msg, "l": l, "o": o}, Input: msg}
}

// hostile is every kind of runaway work we know of. Each must end with a
// budget error; none may be refused at compile time (those are in
// TestStaticRefusals).
var hostile = []struct{ name, src string }{
	{"issue 11: backtracking-style regex in a loop", `count(1..4999, {s matches "^(.*a){20}b$"}) > 0`},
	{"regex once on the message", `input matches "^(.*a){20}(.*a){20}b$"`},
	{"regex from a variable", `input matches s[0:400]`},
	{"string function in a loop", `count(1..4999, upper(s) == "x")`},
	{"contains in a loop", `count(1..4999, s contains "zzz")`},
	{"nested loops over a list", `count(l, count(l, # > 3 && # < 5) > 1000)`},
	{"three nested loops", `count(l, count(l, count(l, true) > 5000) > 5000)`},
	{"sort in a loop", `count(l, len(sort(l)) > 0)`},
	{"uniq in a loop", `count(l, len(uniq(l)) > 0)`},
	{"groupBy in a loop", `count(l, len(groupBy(l, #)) > 0)`},
	{"sortBy in a loop", `count(l, len(sortBy(l, #)) > 0)`},
	{"printing a list in a loop", `count(l, len(string(l)) > 0)`},
	{"keys in a loop", `count(l, len(keys(o)) > 0)`},
	{"toPairs in a loop", `count(l, len(toPairs(o)) > 0)`},
	{"in over a list in a loop", `count(l, # in l)`},
	{"comparing lists in a loop", `count(l, l == l)`},
	{"max in a loop", `count(l, max(l) > 0)`},
	{"split in a loop", `count(1..4999, len(split(s, "")) > 0)`},
	{"fromJSON in a loop", `count(1..4999, fromJSON("[" + "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1" + "]") != nil)`},
	{"printing a huge list", `len(string(map(1..2000, s)))`},
	{"string growth", `reduce(1..4999, #acc + "x", "")`},
	{"string doubling", `reduce(1..60, #acc + #acc, "xxxxxxxx")`},
	{"map filter chain", `len(filter(map(filter(l, # > 1), l), len(filter(#, # > 1)) > 0))`},
	{"a range per pass", `count(1..4999, len(1..4999) > 0)`},
	{"let and a loop", `let x = map(1..2000, s); count(x, len(string(x)) > 0)`},
}

func TestHostileExpressionsRunOutOfBudget(t *testing.T) {
	env := hostileEnv()
	for _, c := range hostile {
		t.Run(c.name, func(t *testing.T) {
			e, err := env.Schema.CompileExpr(c.src)
			if err != nil {
				t.Fatalf("refused at compile time: %v", err)
			}
			var evalErr error
			allocs := testing.AllocsPerRun(1, func() { _, evalErr = e.Eval(env) })
			if !errors.Is(evalErr, ErrBudget) {
				t.Fatalf("Eval error = %v, want a budget error", evalErr)
			}
			// A budget is charged before the work it pays for: nothing
			// runs once it is spent, so the work done is what it allows.
			if env.used() <= MaxWork {
				// memory and output budgets stop earlier
				var be *BudgetError
				if errors.As(evalErr, &be) && be.What == "work" {
					t.Errorf("work budget error with %d units used", env.used())
				}
			}
			if allocs > 200_000 {
				t.Errorf("%v allocations: the evaluation ran on after its budget", allocs)
			}
		})
	}
}

func TestHostileTemplatesRunOutOfBudget(t *testing.T) {
	env := hostileEnv()
	for _, src := range []string{
		`{{ map(1..2000, s) }}`,
		`{{ s }}{{ s }}{{ s }}`,
		`{{ count(1..4999, upper(s) == "x") }}`,
		`{{ count(l, count(l, true) > 999) }}{{ count(l, count(l, true) > 999) }}`,
		`{{ reduce(1..4999, #acc + "x", "") }}`,
	} {
		tp, err := env.Schema.CompileTemplate(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out, err := tp.Render(env)
		if !errors.Is(err, ErrBudget) {
			t.Errorf("%s: error %v, want a budget error", src, err)
		}
		if len(out) > MaxString {
			t.Errorf("%s: rendered %d bytes", src, len(out))
		}
	}
}

func TestOrdinaryExpressionsStayFarUnderBudget(t *testing.T) {
	env := hostileEnv()
	env.Vars["s"] = "ivan@example.com"
	env.Input = "+7 912 345-67-89"
	for _, src := range []string{
		`input matches "^[+0-9 ()-]{7,20}$"`,
		`s matches "^[^@]+@[^@]+\\.[a-z]+$" && lower(s) endsWith ".com"`,
		`count(tags, # == "buyer") > 0 || "vip" in tags`,
		`len(filter(l, # > 30)) > 10`,
		`upper(contact.first_name + " " + contact.last_name)`,
		`join(map(l[0:10], string(#)), ", ")`,
		`len(keys(o)) == 1000`,
	} {
		e, err := env.Schema.CompileExpr(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if _, err := e.Eval(env); err != nil {
			t.Errorf("%s: %v", src, err)
		}
		if env.used() > MaxWork/5 {
			t.Errorf("%s used %d units, more than a fifth of the budget", src, env.used())
		}
	}
}

func TestStaticRefusals(t *testing.T) {
	s := NewSchema([]Var{{"s", TypeString}, {"l", TypeList}})
	cases := []struct {
		name, src, want string
		at              int
	}{
		{"range over the limit", `count(1..100000, # > 5)`, "range of 100000 numbers", 6},
		{"negative range over the limit", `len(-5000..5000) > 0`, "range of 10001", 4},
		{"nested literal ranges", `len(map(1..1000, map(1..1000, #)))`, "runs its body 1000000 times", 17},
		{"passes of a long body", `map(1..4999, # > 1 && # < 5 && # != 3 && # != 4 && # != 2)`, "runs its body 4999 times", 0},
		{"regex built in a loop", `count(l, s matches string(#)) > 0`, "regular expression built inside a loop", 19},
		{"regex too large", `s matches "[0-9]{1000}[a-z]{1000}"`, "regular expression too large", 10},
		{"regex too long", `s matches "` + strings.Repeat("ab", 300) + `"`, "longer than 512 bytes", 10},
		{"huge string literal", `s == "` + strings.Repeat("x", MaxString+1) + `"`, "string longer than 8192 bytes", 5},
		// The fuzz failure: 3,000 invalid bytes are a 3 KB source but a 9 KB
		// string once each becomes U+FFFD.
		{"literal that grows past the limit", `s == "` + strings.Repeat("\xff", 3000) + `"`, "string longer than 8192 bytes", 5},
		{"the meter is not a name", `__m != nil`, "unknown name __m", 0},
		{"nor a let name", `let __b1 = 1; __b1 > 0`, "reserved", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CompileExpr(c.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a CompileError", err)
			}
			if !strings.Contains(ce.Msg, c.want) {
				t.Errorf("error %q does not say %q", ce.Msg, c.want)
			}
			if ce.Offset != c.at {
				t.Errorf("error at %d, want %d", ce.Offset, c.at)
			}
		})
	}
}

func TestBudgetPatchKeepsResults(t *testing.T) {
	env := hostileEnv()
	env.Vars["s"] = "Hello, World"
	env.Tags = []string{"a", "b", "c"}
	cases := []struct{ src, want string }{
		{`count(l, # > 30)`, "162"},
		{`upper(s) + "!"`, "HELLO, WORLD!"},
		{`s matches "^H.*d$"`, "true"},
		{`s matches lower("^h")`, "false"},
		{`map(tags, upper(#) + string(#index))`, "A0, B1, C2"},
		{`reduce(1..10, #acc + #, 0)`, "55"},
		{`let x = split(s, ", "); len(x) == 2 && x[1] startsWith "Wor"`, "true"},
		{`sortBy(filter(l[0:6], # != 3), -#)`, "5, 4, 2, 1, 0"},
		{`string(groupBy(tags, # == "b")[true])`, "[b]"},
	}
	for _, c := range cases {
		e, err := env.Schema.CompileExpr(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		v, err := e.Eval(env)
		if err != nil || Format(v) != c.want {
			t.Errorf("%s = %q, %v; want %q", c.src, Format(v), err, c.want)
		}
	}
}

func TestBudgetIsPerEvaluation(t *testing.T) {
	env := hostileEnv()
	e, err := env.Schema.CompileExpr(`count(1..4999, s contains "zzz")`)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := env.Schema.CompileCond(`s contains "aaa"`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(env); !errors.Is(err, ErrBudget) {
		t.Fatalf("hostile: %v", err)
	}
	// The next evaluation starts with a full budget.
	if v, err := ok.EvalBool(env); err != nil || !v {
		t.Fatalf("next evaluation: %v, %v", v, err)
	}
}

// BenchmarkHostile is the CPU each hostile expression costs before its
// budget stops it (cpu-ns/op: CPU time of the process, garbage collection
// included), on a 4 KB message.
func BenchmarkHostile(b *testing.B) {
	env := hostileEnv()
	for _, c := range hostile {
		e, err := env.Schema.CompileExpr(c.src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				_, _ = e.Eval(env)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(env.used()), "units")
		})
	}
}
