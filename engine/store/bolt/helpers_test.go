package bolt

import (
	"context"
	"path/filepath"
	"testing"
)

// openTest opens a store in a file of the test's own, closed when the test
// ends.
func openTest(tb testing.TB, o *Options) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "v.db"), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}
