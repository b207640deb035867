package flow

import (
	"strings"
	"unicode"
)

// NormalizeText folds what people type so it can be compared with labels and
// keywords: lower case, ё as е, punctuation and emoji dropped, runs of spaces
// collapsed. "  Хочу КУПИТЬ! 🚀" becomes "хочу купить".
func NormalizeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == 'ё' || r == 'Ё':
			r = 'е'
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '/' || r == ',' || r == '.':
			space = b.Len() > 0
			continue
		default:
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Words splits normalized text into words.
func Words(s string) []string { return strings.Fields(NormalizeText(s)) }
