package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/voronka/voronka/engine/flow"
)

// The keyword matcher's letter comparisons work on the strings in place;
// they must answer as comparing []rune copies did, typos and inflections
// included, for every word they can be given: what flow.Words makes of any
// input, broken UTF-8 included.
func TestFuzzyComparisonsAgreeWithRunes(t *testing.T) {
	words := []string{"доставка", "достовка", "доставки", "доствка", "дотсавка", "доставкаа", "человек",
		"человеком", "оплата", "оплатить", "оплатa", "delivery", "delivrey", "deliver", "deliveries", "",
		"a", "ab", "ба", "\xff\xfeдоставка", "доставк\xff", "доставк\xfe", "日本語テキスト", "日本語テキスo"}
	rnd := rand.New(rand.NewPCG(1, 2))
	letters := []rune("абвгдежзaeiou\xff")
	for range 300 {
		w := []rune(words[rnd.IntN(len(words))])
		switch rnd.IntN(4) {
		case 0:
			if len(w) > 0 {
				w[rnd.IntN(len(w))] = letters[rnd.IntN(len(letters))]
			}
		case 1:
			if len(w) > 1 {
				i := rnd.IntN(len(w) - 1)
				w[i], w[i+1] = w[i+1], w[i]
			}
		case 2:
			i := rnd.IntN(len(w) + 1)
			w = append(w[:i], append([]rune{letters[rnd.IntN(len(letters))]}, w[i:]...)...)
		}
		words = append(words, string(w))
	}
	for i, w := range words {
		words[i] = flow.NormalizeText(w)
	}
	for _, a := range words {
		for _, b := range words {
			if got, want := withinOneEdit(a, b), refWithinOneEdit(a, b); got != want {
				t.Errorf("withinOneEdit(%q, %q) = %v, want %v", a, b, got, want)
			}
			if got, want := sameStem(a, b), refSameStem(a, b); got != want {
				t.Errorf("sameStem(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// refSameStem and refWithinOneEdit are the comparisons on []rune copies.
func refSameStem(w, k string) bool {
	rw, rk := []rune(w), []rune(k)
	p := 0
	for p < len(rw) && p < len(rk) && rw[p] == rk[p] {
		p++
	}
	return p >= 4 && p >= len(rk)-2 && len(rw)-p <= 3
}

func refWithinOneEdit(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > len(rb) {
		ra, rb = rb, ra
	}
	if len(rb)-len(ra) > 1 {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	if i == len(ra) {
		return true
	}
	if len(ra) == len(rb) {
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true
		}
		return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	}
	return string(ra[i:]) == string(rb[i+1:])
}

func BenchmarkFuzzyKeyword(b *testing.B) {
	words := []string{"здравствуйте", "сколько", "стоит", "доставка", "москву", "человеком"}
	keys := []string{"достовка", "оплата", "возврат", "человек", "гарантия"}
	b.ReportAllocs()
	for b.Loop() {
		for _, w := range words {
			for _, k := range keys {
				_ = withinOneEdit(w, k) || sameStem(w, k)
			}
		}
	}
}
