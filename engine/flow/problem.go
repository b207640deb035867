package flow

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a problem stops a flow from running.
type Severity uint8

// Severities.
const (
	SevError Severity = iota
	SevWarning
)

func (s Severity) String() string {
	if s == SevWarning {
		return "warning"
	}
	return "error"
}

// Problem is one thing wrong with a flow document, with where it is.
type Problem struct {
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"-"`
	Message  string   `json:"message"`
	// Node and Field say which node and field the problem concerns, so the
	// builder can show it in place ("buttons[1].next").
	Node  string `json:"node,omitempty"`
	Field string `json:"field,omitempty"`
	// Format and Args are Message before fmt.Sprintf, so an interface in
	// another language can say the same with its own words (the builder's
	// Russian catalog is keyed by Format). Args are strings, numbers or
	// booleans.
	Format string `json:"format,omitempty"`
	Args   []any  `json:"args,omitempty"`
}

// String formats the problem as file:line:column: message, the form editors
// and CI logs understand.
func (p Problem) String() string {
	file := p.File
	if file == "" {
		file = "<flow>"
	}
	if p.Severity == SevWarning {
		return fmt.Sprintf("%s:%d:%d: warning: %s", file, p.Line, p.Col, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, p.Line, p.Col, p.Message)
}

// Problems is every problem found in a document.
type Problems []Problem

// HasErrors reports whether any problem is an error (not just a warning).
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SevError {
			return true
		}
	}
	return false
}

// Errors returns the problems that are errors.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == SevError {
			out = append(out, p)
		}
	}
	return out
}

// Error makes Problems usable as an error: one problem a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}

// reporter collects problems for one file.
type reporter struct {
	file string
	ps   Problems
}

func (r *reporter) errorf(p Pos, node, field, format string, args ...any) {
	r.add(SevError, p, node, field, format, args)
}

func (r *reporter) warnf(p Pos, node, field, format string, args ...any) {
	r.add(SevWarning, p, node, field, format, args)
}

func (r *reporter) add(sev Severity, p Pos, node, field, format string, args []any) {
	plain := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case string, bool, int, int32, int64, uint, uint32, uint64, float32, float64:
			plain[i] = a
		default: // errors and the like: as the message shows them
			plain[i] = fmt.Sprint(a)
		}
	}
	r.ps = append(r.ps, Problem{File: r.file, Line: p.Line, Col: p.Col, Severity: sev, Message: fmt.Sprintf(format, args...),
		Node: node, Field: field, Format: format, Args: plain})
}
