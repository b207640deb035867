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
	r.ps = append(r.ps, Problem{File: r.file, Line: p.Line, Col: p.Col, Message: fmt.Sprintf(format, args...), Node: node, Field: field})
}

func (r *reporter) warnf(p Pos, node, field, format string, args ...any) {
	r.ps = append(r.ps, Problem{File: r.file, Line: p.Line, Col: p.Col, Severity: SevWarning, Message: fmt.Sprintf(format, args...), Node: node, Field: field})
}
