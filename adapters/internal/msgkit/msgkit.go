// Package msgkit holds what the WhatsApp, Viber and VK adapters share:
// registering as a channel type (Opener, WebhookRoutes), the HTTP client
// (Client, which Telegram's adapter uses too),
// splitting long texts, remembering how many parts of a split message went
// out (so a retry does not repeat them), keeping secrets out of errors, and
// reading a platform's JSON error answer.
package msgkit

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Split cuts s into parts of at most limit characters (runes), at the
// last paragraph break, else line break, else space in the second half of
// each window, else at a character boundary. Parts are trimmed; an
// all-blank s gives no parts.
func Split(s string, limit int) []string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var parts []string
	for s != "" {
		cut := prefix(s, limit)
		if cut == len(s) {
			parts = append(parts, s)
			break
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		at := boundary(s[:cut])
		parts = append(parts, strings.TrimRightFunc(s[:at], unicode.IsSpace))
		s = strings.TrimLeftFunc(s[at:], unicode.IsSpace)
	}
	return parts
}

// SplitLast is Split, with the last part cut again to lastLimit (a
// message whose last part carries buttons may allow less text).
func SplitLast(s string, limit, lastLimit int) []string {
	parts := Split(s, limit)
	if len(parts) == 0 || lastLimit >= limit || utf8.RuneCountInString(parts[len(parts)-1]) <= lastLimit {
		return parts
	}
	last := parts[len(parts)-1]
	return append(parts[:len(parts)-1], Split(last, lastLimit)...)
}

func prefix(s string, limit int) int {
	if len(s) <= limit {
		return len(s)
	}
	n := 0
	for i := range s {
		if n == limit {
			return i
		}
		n++
	}
	return len(s)
}

func boundary(head string) int {
	lo := max(1, len(head)/2)
	if i := strings.LastIndex(head, "\n\n"); i >= lo {
		return i
	}
	if i := strings.LastIndexByte(head, '\n'); i >= lo {
		return i
	}
	if i := strings.LastIndexFunc(head, unicode.IsSpace); i >= lo {
		return i
	}
	return len(head)
}

// Truncate shortens s to at most n runes, ending in "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// maxProgress bounds the partly-sent bookkeeping.
const maxProgress = 10_000

// Progress remembers, per message id, how many parts of a split text went
// out, so a retry after a failure on part k resumes there. Entries exist
// only while a message is partly sent. Safe for concurrent use.
type Progress struct {
	mu sync.Mutex
	m  map[string]int
}

// Get returns how many parts of message id were sent.
func (p *Progress) Get(id string) int {
	if id == "" {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

// Set records n sent parts of message id; 0 forgets it.
func (p *Progress) Set(id string, n int) {
	if id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == 0 {
		delete(p.m, id)
		return
	}
	if p.m == nil {
		p.m = map[string]int{}
	}
	if len(p.m) >= maxProgress {
		for k := range p.m {
			delete(p.m, k)
			break
		}
	}
	p.m[id] = n
}

// Redactor hides secrets in error texts.
type Redactor struct{ r *strings.Replacer }

// NewRedactor hides each non-empty secret.
func NewRedactor(secrets ...string) Redactor {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, "<redacted>")
		}
	}
	return Redactor{r: strings.NewReplacer(pairs...)}
}

// String redacts s.
func (r Redactor) String(s string) string { return r.r.Replace(s) }

// Err redacts err's text, keeping its chain for errors.Is/As.
func (r Redactor) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := r.r.Replace(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
