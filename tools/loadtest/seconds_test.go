package main

import (
	"strings"
	"testing"
	"time"
)

// -per-second must show a stalled second as over the target, leave out the
// replies outside the measured window, and count the seconds over.
func TestPrintSecondsMarksTheStalledSecond(t *testing.T) {
	from := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	to := from.Add(2 * time.Second)
	var results []result
	add := func(at time.Duration, lat time.Duration, n int) {
		for range n {
			results = append(results, result{latency: lat, at: from.Add(at)})
		}
	}
	add(-time.Millisecond, time.Second, 5) // warm-up: not measured
	add(100*time.Millisecond, 10*time.Millisecond, 100)
	add(1100*time.Millisecond, 10*time.Millisecond, 98)
	add(1200*time.Millisecond, 200*time.Millisecond, 2) // the stall
	add(2*time.Second, time.Second, 5)                  // after the window

	var out strings.Builder
	printSeconds(&out, results, from, to, 50*time.Millisecond)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want two seconds and a summary, got:\n%s", out.String())
	}
	if !strings.Contains(lines[0], "second   0:   100 replies") || strings.Contains(lines[0], "over") {
		t.Errorf("second 0: %q", lines[0])
	}
	if !strings.Contains(lines[1], "second   1:   100 replies") || !strings.Contains(lines[1], "p99 200ms") || !strings.HasSuffix(lines[1], "over") {
		t.Errorf("second 1: %q", lines[1])
	}
	if lines[2] != "seconds with p99 over 50ms: 1 of 2" {
		t.Errorf("summary: %q", lines[2])
	}
}
