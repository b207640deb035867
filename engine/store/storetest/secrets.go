package storetest

import (
	"bytes"
	"testing"
)

func (s *suite) secrets(t *testing.T) {
	t.Run("the first secret stored stays", func(t *testing.T) {
		st, ctx := s.newStore(t), ctxFor(t)
		got, err := st.Secret(ctx, "preview", []byte("first"))
		must(t, err, "first")
		if string(got) != "first" {
			t.Fatalf("first secret %q", got)
		}
		got, err = st.Secret(ctx, "preview", []byte("second"))
		must(t, err, "second")
		if string(got) != "first" {
			t.Fatalf("second call got %q, want the first secret", got)
		}
		other, err := s.cfg.Replica(t, st).Secret(ctx, "preview", []byte("replica's"))
		must(t, err, "replica")
		if !bytes.Equal(other, []byte("first")) {
			t.Fatalf("replica got %q", other)
		}
		got, err = st.Secret(ctx, "another", []byte{0, 1, 255})
		must(t, err, "another name")
		if !bytes.Equal(got, []byte{0, 1, 255}) {
			t.Fatalf("another secret %v", got)
		}
		if _, err := st.Secret(ctx, "", []byte("x")); err == nil {
			t.Fatal("empty name accepted")
		}
	})
}
