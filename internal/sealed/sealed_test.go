package sealed

import (
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New("a passphrase of some length")
	if err != nil {
		t.Fatal(err)
	}
	const token = "123456:ABC-secret-token"
	s1, err := b.Seal(token)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Seal(token)
	if !IsSealed(s1) || strings.Contains(s1, token) || strings.Contains(s1, "ABC") {
		t.Fatalf("sealed value shows the token: %q", s1)
	}
	if s1 == s2 {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	for _, s := range []string{s1, s2} {
		if got, err := b.Open(s); err != nil || got != token {
			t.Fatalf("open = %q, %v", got, err)
		}
	}
	// A value stored before the key was set reads as it is.
	if got, err := b.Open(token); err != nil || got != token {
		t.Fatalf("open of a plain value = %q, %v", got, err)
	}
	other, _ := New("another key")
	if _, err := other.Open(s1); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v, want ErrWrongKey", err)
	}
	tampered := s1[:len(s1)-2] + "AA"
	if _, err := b.Open(tampered); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open of a changed value: %v, want ErrWrongKey", err)
	}
	none, _ := New("")
	if s, _ := none.Seal(token); s != token {
		t.Fatalf("without a key Seal = %q, want the value as it is", s)
	}
	if _, err := none.Open(s1); !errors.Is(err, ErrNoKey) {
		t.Fatalf("open without a key: %v, want ErrNoKey", err)
	}
}
