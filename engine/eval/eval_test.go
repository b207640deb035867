package eval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testSchema() *Schema {
	return NewSchema([]Var{{"budget", TypeNumber}, {"email", TypeString}, {"crm", TypeObject}, {"ok", TypeBool}, {"born", TypeDate}})
}

func TestCompileRejectsWhatValidationMustReport(t *testing.T) {
	s := testSchema()
	cases := []struct {
		name, src, want string
	}{
		{"undeclared name", "budgett > 5", "unknown name budgett"},
		{"type mismatch", `budget > "x"`, "invalid operation"},
		{"number plus string", `budget + "x"`, "invalid operation"},
		{"syntax", "budget >", "unexpected token"},
		{"clock is not reachable", "now() > now", ""},
		{"time zone database is not reachable", `timezone("Europe/Moscow")`, ""},
		{"repeat is disabled", `repeat("a", 1000000000)`, ""},
		{"empty", "  ", "empty expression"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CompileExpr(c.src)
			if err == nil {
				t.Fatalf("compiled %q, want an error", c.src)
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestConditionMustBeBoolean(t *testing.T) {
	if _, err := testSchema().CompileCond("budget + 1"); err == nil {
		t.Fatal("a number compiled as a condition")
	}
}

func TestEvalSeesStateValues(t *testing.T) {
	s := testSchema()
	env := &Env{Schema: s, Vars: map[string]any{"budget": 150000.0}, Tags: []string{"buyer"}, Score: 40, Segment: "warm",
		Contact: Contact{FirstName: "Anna"}, Input: "hi", EnvVars: map[string]string{"CRM_URL": "http://crm"}}
	cases := []struct {
		src  string
		want bool
	}{
		{`budget >= 100000 && "buyer" in tags`, true},
		{`score >= 30 && segment == "warm"`, true},
		{`contact.first_name == "Anna"`, true},
		{`email == ""`, true}, // declared but unset: zero value
		{`input + "!" == "hi!"`, true},
		{`env.CRM_URL + "/leads" == "http://crm/leads"`, true},
		{`len(tags) == 2`, false},
	}
	for _, c := range cases {
		e, err := s.CompileCond(c.src)
		if err != nil {
			t.Fatalf("compile %q: %v", c.src, err)
		}
		got, err := e.EvalBool(env)
		if err != nil || got != c.want {
			t.Errorf("%q = %v, %v; want %v", c.src, got, err, c.want)
		}
	}
}

func TestHostileExpressionsFailCleanly(t *testing.T) {
	s := testSchema()
	env := &Env{Schema: s}
	hostile := []string{
		`reduce(1..100, #acc + #acc, "xxxxxxxxxxxxxxxx")`,
		`len(map(1..1000000, #))`,
		`len(map(1..1000, map(1..1000, #)))`,
		`replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") != ""`,
	}
	for _, src := range hostile {
		e, err := s.CompileExpr(src)
		if err != nil {
			continue // refusing at compile time is fine too
		}
		if _, err := e.Eval(env); err == nil {
			t.Errorf("%s evaluated without error", src)
		}
	}
	// An expression far larger than any condition a person writes is refused.
	huge := strings.Repeat("1 + ", 1000) + "1"
	if _, err := s.CompileExpr(huge); err == nil {
		t.Error("a 2000-node expression compiled")
	}
}

func TestTemplates(t *testing.T) {
	s := testSchema()
	env := &Env{Schema: s, Vars: map[string]any{"budget": 150000.0, "born": time.Date(1990, 5, 1, 0, 0, 0, 0, time.UTC)},
		Score: 70, Tags: []string{"buyer", "hot"}, Contact: Contact{FirstName: "Анна"}}
	cases := []struct{ src, want string }{
		{"Hi, {{ contact.first_name }}!", "Hi, Анна!"},
		{"Budget {{ budget }}, score {{ score }}", "Budget 150000, score 70"},
		{"{{ tags }}", "buyer, hot"},
		{"born {{born}}", "born 1990-05-01"},
		{`braces {{ "}}" }} ok`, "braces }} ok"},
		{"no holes at all", "no holes at all"},
		{"{{ join(tags, \" & \") }}", "buyer & hot"},
	}
	for _, c := range cases {
		tp, err := s.CompileTemplate(c.src)
		if err != nil {
			t.Fatalf("compile %q: %v", c.src, err)
		}
		got, err := tp.Render(env)
		if err != nil || got != c.want {
			t.Errorf("render %q = %q, %v; want %q", c.src, got, err, c.want)
		}
	}
	_, err := s.CompileTemplate("Hello {{ contact.first_name")
	var te *TemplateError
	if !errors.As(err, &te) || te.Offset != 6 {
		t.Fatalf("unclosed template: %v, want TemplateError at offset 6", err)
	}
	_, err = s.CompileTemplate("x {{ nope }}")
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "unknown name nope") {
		t.Fatalf("undeclared name in template: %v", err)
	}
}

func TestConvert(t *testing.T) {
	cases := []struct {
		v    any
		t    Type
		want any
		ok   bool
	}{
		{float64(3), TypeNumber, 3.0, true},
		{3, TypeNumber, 3.0, true},
		{"12.5", TypeNumber, 12.5, true},
		{"x", TypeNumber, nil, false},
		{150000.0, TypeString, "150000", true},
		{"2024-02-03", TypeDate, time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC), true},
		{[]string{"a"}, TypeList, []any{"a"}, true},
		{"a", TypeList, nil, false},
	}
	for _, c := range cases {
		got, err := Convert(c.v, c.t)
		if (err == nil) != c.ok {
			t.Errorf("Convert(%v, %v) error = %v", c.v, c.t, err)
			continue
		}
		if c.ok && Format(got) != Format(c.want) {
			t.Errorf("Convert(%v, %v) = %v, want %v", c.v, c.t, got, c.want)
		}
	}
}

func FuzzCompileAndEval(f *testing.F) {
	for _, s := range []string{`budget > 3`, `"a" + input`, `reduce(1..5, #acc + #acc, "x")`, `crm.items[0].name`, `{{`, `map(tags, upper(#))`,
		`count(1..50, {email matches "^(.*a){2}b$"}) > 0`, `let x = split(email, "@"); len(x) == 2 && x[1] endsWith ".ru"`,
		"\"\xff\xfe\" + email", `sortBy(groupBy(tags, #)["a"] ?? [], #)`} {
		f.Add(s)
	}
	s := testSchema()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := s.CompileExpr(src)
		if err != nil {
			if strings.Contains(err.Error(), "budget patch") {
				t.Fatalf("%q: the budget patch broke a valid expression: %v", src, err)
			}
			return
		}
		env := &Env{Schema: s, Vars: map[string]any{"crm": map[string]any{"items": []any{map[string]any{"name": "x"}}}}}
		out, err := e.Eval(env)
		if err == nil {
			if str, ok := out.(string); ok && len(str) > MaxString {
				t.Fatalf("%q built a %d byte string", src, len(str))
			}
		}
		if env.used() > 2*MaxWork && !errors.Is(err, ErrBudget) {
			t.Fatalf("%q spent %d units without a budget error", src, env.used())
		}
		_, _ = s.CompileTemplate(src)
	})
}
