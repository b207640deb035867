package main

import (
	"io"
	"log/slog"
	"testing"
)

func TestMemoryIsReturnedAfterACrowdOfConnectionsCloses(t *testing.T) {
	open, freed := 0, 0
	m := newMemoryReturner(func() int { return open }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.free = func() { freed++ }
	for _, step := range []struct {
		open  int
		freed int
	}{
		{500, 0}, {8000, 0}, // a crowd comes
		{7500, 0},        // a few leave: not worth a collection
		{4100, 0},        // still more than half the peak
		{3000, 1},        // most left
		{2900, 1},        // the peak is now 3,000
		{1000, 2},        // 2,000 more left
		{0, 3},           // and the last 1,000
		{0, 3},           // nothing new
		{900, 3}, {0, 3}, // a small crowd is not worth it
	} {
		open = step.open
		m.check()
		if freed != step.freed {
			t.Fatalf("at %d open: freed %d times, want %d", step.open, freed, step.freed)
		}
	}
}
