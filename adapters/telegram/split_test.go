package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "hello world", 20, []string{"hello world"}},
		{"exactly the limit", "abcde", 5, []string{"abcde"}},
		{"trimmed", "  hi  \n", 5, []string{"hi"}},
		{"blank", " \n\t ", 5, nil},
		{"empty", "", 5, nil},
		{"paragraph before line", "aaaa bbbb\n\ncc\ndd eeee", 16, []string{"aaaa bbbb", "cc\ndd eeee"}},
		{"line before word", "aaaa bbbb\ncc dd eeee", 16, []string{"aaaa bbbb", "cc dd eeee"}},
		{"word", "aaaa bbbb cccc dddd", 12, []string{"aaaa bbbb", "cccc dddd"}},
		{"early paragraph break loses to a later word break", "aa\n\nbbbb cccc dddd eeee", 16, []string{"aa\n\nbbbb cccc", "dddd eeee"}},
		{"one long word is cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"surrogate pairs count twice", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"never half a pair", "a😀😀", 4, []string{"a😀", "😀"}},
		{"limit below one character", "😀x", 1, []string{"😀", "x"}},
		{"cyrillic counts once", strings.Repeat("ж", 5), 5, []string{"жжжжж"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitText(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("splitText(%q, %d) = %q, want %q", tc.text, tc.limit, got, tc.want)
			}
		})
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "жук": 3, "😀": 2, "a😀b": 4, "👍🏽": 4} {
		if got := utf16Len(s); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

// FuzzSplitText: parts are non-empty, within the limit (except a single
// character wider than it), valid UTF-8, and together hold every
// non-space character of the input in order.
func FuzzSplitText(f *testing.F) {
	for _, s := range []string{"", "hello world", "a\n\nb\nc d", "😀😀 😀", strings.Repeat("word ", 50), "\xff\xfe ok"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 1 || limit > 5000 {
			return
		}
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD") // as Send does
		}
		parts := splitText(s, limit)
		for _, p := range parts {
			if p == "" || strings.TrimSpace(p) != p {
				t.Fatalf("part %q is empty or untrimmed", p)
			}
			if n := utf16Len(p); n > limit && utf8.RuneCountInString(p) > 1 {
				t.Fatalf("part %q is %d units, limit %d", p, n, limit)
			}
		}
		strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if got, want := strip(strings.Join(parts, " ")), strip(s); got != want {
			t.Fatalf("parts %q lose text of %q", parts, s)
		}
	})
}
