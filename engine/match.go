package engine

import (
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/voronka/voronka/engine/flow"
)

// normalizeCommand lowercases a command and drops a @botname suffix, so
// "/Start@shop_bot" matches "/start".
func normalizeCommand(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '@'); i > 0 {
		s = s[:i]
	}
	return s
}

// commandOf returns the command an input starts with ("/start ref42" → "/start").
func commandOf(text string) string {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return ""
	}
	if i := strings.IndexFunc(text, unicode.IsSpace); i > 0 {
		text = text[:i]
	}
	return normalizeCommand(text)
}

// matchPhrase reports whether the words of phrase appear consecutively in
// words. With fuzzy, a keyword word of five letters or more may be one edit
// away (a typo: достовка ~ доставка) or inflected (человеком ~ человек).
func matchPhrase(words, phrase []string, fuzzy bool) bool {
	if len(phrase) == 0 || len(phrase) > len(words) {
		return false
	}
outer:
	for i := 0; i+len(phrase) <= len(words); i++ {
		for j, p := range phrase {
			w := words[i+j]
			if w == p {
				continue
			}
			if fuzzy && utf8.RuneCountInString(p) >= 5 && (withinOneEdit(w, p) || sameStem(w, p)) {
				continue
			}
			continue outer
		}
		return true
	}
	return false
}

// sameStem reports whether w is an inflected form of keyword k: they share
// k's stem (all but its last two letters, at least four) and w's ending is at
// most three letters. Russian inflects nouns and verbs ("человек" →
// "человеком", "оплата" → "оплатить"), which a single edit does not cover.
//
// w and k are words as flow.Words makes them, valid UTF-8, so letters are
// compared in place: this runs for every word of a message against every
// keyword of five letters or more.
func sameStem(w, k string) bool {
	p := utf8.RuneCountInString(w[:commonPrefix(w, k)])
	return p >= 4 && p >= utf8.RuneCountInString(k)-2 && utf8.RuneCountInString(w)-p <= 3
}

// commonPrefix returns the length in bytes of the longest common prefix of
// a and b that ends on a letter boundary.
func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) {
		ra, n := utf8.DecodeRuneInString(a[i:])
		rb, _ := utf8.DecodeRuneInString(b[i:])
		if ra != rb {
			break
		}
		i += n
	}
	return i
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent letters. Like
// sameStem it takes words from flow.Words.
func withinOneEdit(a, b string) bool {
	la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 {
		return false
	}
	i := commonPrefix(a, b)
	if i == len(a) {
		return true // equal, or b has one extra letter at the end
	}
	ra, n := utf8.DecodeRuneInString(a[i:])
	rb, m := utf8.DecodeRuneInString(b[i:])
	if la < lb {
		return a[i:] == b[i+m:] // one insertion
	}
	if a[i+n:] == b[i+m:] {
		return true // one substitution
	}
	// One transposition.
	if i+n == len(a) {
		return false
	}
	ra2, n2 := utf8.DecodeRuneInString(a[i+n:])
	rb2, m2 := utf8.DecodeRuneInString(b[i+m:])
	return ra == rb2 && ra2 == rb && a[i+n+n2:] == b[i+m+m2:]
}

// parseNumber reads a number as people type it: "150 000", "150,000",
// "1 500,50", "1.5k", "50 тыс", "2 млн", "50000 руб", "$1,200".
func parseNumber(s string) (float64, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	// Drop currency words and symbols first, then read a multiplier.
	for _, cur := range []string{"рублей", "рубля", "рубль", "руб.", "руб", "р.", "₽", "rub", "usd", "eur", "$", "€", "rur"} {
		s = strings.ReplaceAll(s, cur, "")
	}
	s = strings.TrimSpace(s)
	for _, suf := range []struct {
		word string
		m    float64
	}{{"тысяч", 1e3}, {"тыс.", 1e3}, {"тыс", 1e3}, {"thousand", 1e3}, {"k", 1e3}, {"к", 1e3},
		{"миллионов", 1e6}, {"миллиона", 1e6}, {"миллион", 1e6}, {"млн", 1e6}, {"million", 1e6}, {"m", 1e6}} {
		if rest, ok := strings.CutSuffix(s, suf.word); ok {
			s, mult = strings.TrimSpace(rest), suf.m
			break
		}
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.', r == ',', r == '-', r == '+':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '\'' || r == '’' || r == '_':
			// thousands separators people use
		default:
			return 0, false
		}
	}
	t := b.String()
	if t == "" {
		return 0, false
	}
	dots, commas := strings.Count(t, "."), strings.Count(t, ",")
	switch {
	case dots > 0 && commas > 0:
		// The later separator is the decimal one: 1,500.50 or 1.500,50.
		if strings.LastIndexByte(t, ',') > strings.LastIndexByte(t, '.') {
			t = strings.ReplaceAll(t, ".", "")
			t = strings.Replace(t, ",", ".", 1)
		} else {
			t = strings.ReplaceAll(t, ",", "")
		}
	case commas > 1:
		t = strings.ReplaceAll(t, ",", "")
	case commas == 1:
		// "150,000" groups thousands; "1,5" is a decimal comma.
		i := strings.IndexByte(t, ',')
		if len(t)-i-1 == 3 && i > 0 && i <= 3 && mult == 1 {
			t = strings.Replace(t, ",", "", 1)
		} else {
			t = strings.Replace(t, ",", ".", 1)
		}
	case dots > 1:
		t = strings.ReplaceAll(t, ".", "")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f * mult, true
}

// parseEmail accepts a bare address and lowercases its domain.
func parseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, " <>\"") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	domain := strings.ToLower(s[at+1:])
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, ".") {
		return "", false
	}
	return s[:at+1] + domain, true
}

// parsePhone normalizes a phone number to E.164 where the country is clear:
// "+7 (999) 123-45-67" and "8 999 123 45 67" both give "+79991234567".
func parsePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var digits []byte
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '+' || r == '\u00a0':
		default:
			return "", false
		}
	}
	d := string(digits)
	switch {
	case plus && len(d) >= 8 && len(d) <= 15:
		return "+" + d, true
	case len(d) == 11 && (d[0] == '8' || d[0] == '7'):
		// Russian and Kazakh numbers dialled with the 8 trunk prefix.
		return "+7" + d[1:], true
	case len(d) == 10 && d[0] == '9':
		// A Russian mobile number written without the country code.
		return "+7" + d, true
	case len(d) >= 11 && len(d) <= 15:
		return "+" + d, true
	case len(d) >= 5 && len(d) <= 10:
		// A local number: valid, but its country is unknown, so it stays as typed.
		return d, true
	}
	return "", false
}

var dateLayouts = []string{"2006-01-02", "02.01.2006", "2.1.2006", "02.01.06", "2.1.06", "02/01/2006", "2/1/2006", "2006/01/02", "02-01-2006"}

var relativeDays = map[string]int{
	"today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1, "послезавтра": 2, "yesterday": -1, "вчера": -1,
}

// parseDate reads the dates people type (2024-05-01, 01.05.2024, 1/5/2024,
// "завтра") and returns midnight UTC of that day.
func parseDate(s string, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if d, ok := relativeDays[flow.NormalizeText(s)]; ok {
		y, m, dd := now.Date()
		return time.Date(y, m, dd+d, 0, 0, 0, 0, time.UTC), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
