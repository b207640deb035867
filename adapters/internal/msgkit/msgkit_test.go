package msgkit

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitKeepsWordsAndLimits(t *testing.T) {
	text := strings.Repeat("слово ", 2000) // 12,000 runes
	parts := Split(text, 4096)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > 4096 || strings.HasPrefix(p, "лово") {
			t.Fatalf("part %d: %d runes, starts %q", i, n, p[:10])
		}
	}
	if got := strings.Join(parts, " "); got != strings.TrimSpace(text) {
		t.Fatal("the parts do not join back into the text")
	}
	last := SplitLast(strings.Repeat("a ", 1000), 4096, 1024)
	if len(last) != 2 || utf8.RuneCountInString(last[1]) > 1024 {
		t.Fatalf("SplitLast = %d parts", len(last))
	}
	if Split("   ", 10) != nil {
		t.Fatal("blank text has parts")
	}
}

func TestProgressAndRedactor(t *testing.T) {
	var p Progress
	p.Set("m1", 2)
	if p.Get("m1") != 2 || p.Get("m2") != 0 {
		t.Fatal("progress lost")
	}
	p.Set("m1", 0)
	if p.Get("m1") != 0 {
		t.Fatal("progress not forgotten")
	}
	base := errors.New("GET https://x/botSECRET/send: reset")
	r := NewRedactor("SECRET", "")
	err := r.Err(base)
	if strings.Contains(err.Error(), "SECRET") || !errors.Is(err, base) {
		t.Fatalf("redacted = %v", err)
	}
	if Truncate("абвгд", 4) != "абв…" || Truncate("аб", 4) != "аб" {
		t.Fatal("truncate")
	}
}
