package main

import (
	"io"
	"log/slog"
	"testing"
)

func TestWebChatConnsFitTheOpenFilesLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name        string
		max, nofile int
		want        int
	}{
		{"default under a large limit stays", 0, 1 << 20, 0},
		{"default over a 2,048 limit is lowered", 0, 2048, 1536},
		{"explicit cap over the limit is lowered", 50_000, 20_000, 15_000},
		{"explicit cap under the limit stays", 500, 20_000, 500},
		{"a small table keeps 256 for the rest", 0, 512, 256},
		{"a tiny table still lets one in", 0, 100, 1},
		{"no limit chosen by the operator stays", -1, 2048, -1},
		{"unknown limit changes nothing", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webChatConnsFor(tc.max, 10_000, uint64(tc.nofile), log); got != tc.want {
				t.Errorf("webChatConnsFor(%d, nofile %d) = %d, want %d", tc.max, tc.nofile, got, tc.want)
			}
		})
	}
}
