package eval

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Template is a text with {{ expression }} holes, compiled once.
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit  string
	expr *Expr
}

// TemplateError locates a problem inside a template's source.
type TemplateError struct {
	Offset int // characters from the start of the template to the problem
	Err    error
}

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// CompileTemplate parses and compiles a template. A text with no {{ is a
// constant and renders without evaluating or allocating anything.
func (s *Schema) CompileTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	rest := src
	off := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{lit: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		end := closing(rest[i+2:])
		if end < 0 {
			return nil, &TemplateError{Offset: runes(src[:off+i]), Err: fmt.Errorf("unclosed {{ in %q", clip(rest[i:]))}
		}
		code := rest[i+2 : i+2+end]
		e, err := s.CompileExpr(code)
		if err != nil {
			at := runes(src[:off+i+2])
			var ce *CompileError
			if errors.As(err, &ce) {
				at += ce.Offset
			}
			return nil, &TemplateError{Offset: at, Err: fmt.Errorf("in {{%s}}: %w", code, err)}
		}
		t.parts = append(t.parts, part{expr: e})
		consumed := i + 2 + end + 2
		rest = rest[consumed:]
		off += consumed
	}
}

// closing finds the "}}" that ends an expression, skipping quoted strings so
// that {{ "}}" }} works.
func closing(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// Static reports whether the template has no expressions.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return false
		}
	}
	return true
}

// Exprs returns the compiled expressions of the template.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Render evaluates the template against env. A hole whose expression fails
// renders empty and the first error is returned with the rest of the text, so
// the caller can still send a useful message and report the problem.
func (t *Template) Render(env *Env) (string, error) {
	if t == nil {
		return "", nil
	}
	if len(t.parts) == 1 && t.parts[0].expr == nil {
		return t.parts[0].lit, nil
	}
	if len(t.parts) == 0 {
		return "", nil
	}
	var b []byte
	var first error
	// One budget for the whole text, not one per hole.
	m := env.Map()
	if env.meter != nil {
		env.meter.reset()
	}
	for _, p := range t.parts {
		if p.expr == nil {
			b = append(b, p.lit...)
			continue
		}
		v, err := p.expr.run(env, m)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		b = appendFormat(b, v, MaxString+1)
		if len(b) > MaxString {
			return string(b[:MaxString]), fmt.Errorf("render template: %w", ErrTooLarge)
		}
	}
	return string(b), first
}
