package eval

import (
	"errors"
	"testing"
)

// FuzzRenderTemplate: any text compiles to a template or an error, and a
// template renders within the budget to at most MaxString bytes; a render
// that spends past the budget says so with ErrBudget.
func FuzzRenderTemplate(f *testing.F) {
	for _, s := range []string{
		"Hi {{ contact.first_name }}", "{{ budget > 1000 ? \"VIP\" : \"\" }} {{ upper(email) }}", "{{", "}}", "{{}}",
		"Thank you for your order{{ order_id != \"\" ? \" #\" + order_id : \"\" }}", "{{ {{ x }} }}", "{{ \"}}\" }}",
		"{{ map(1..2000, email) }}", "{{ reduce(1..4999, #acc + \"x\", \"\") }}", "\xff{{ email }}\xfe", "{{ crm.items[0].name }}",
	} {
		f.Add(s)
	}
	s := NewSchema([]Var{{"budget", TypeNumber}, {"email", TypeString}, {"order_id", TypeString}, {"crm", TypeObject},
		{"contact", TypeObject}})
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := s.CompileTemplate(src)
		if err != nil {
			return
		}
		env := &Env{Schema: s, Vars: map[string]any{
			"email": "ann@example.com", "order_id": "A-7", "budget": 5000.0,
			"crm":     map[string]any{"items": []any{map[string]any{"name": "x"}}},
			"contact": map[string]any{"first_name": "Ann"},
		}}
		out, err := tp.Render(env)
		if len(out) > MaxString {
			t.Fatalf("%q rendered %d bytes", src, len(out))
		}
		if env.used() > 2*MaxWork && !errors.Is(err, ErrBudget) {
			t.Fatalf("%q spent %d units without a budget error", src, env.used())
		}
	})
}
