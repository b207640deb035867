package main

import "log/slog"

// webChatConnsFor fits the web chat connection cap to the process's limit
// on open files: a cap above what the descriptor table holds lets a flood
// of anonymous connections fill it, and then no new visitor, webhook or
// builder request gets a socket. A quarter of the table (at least 256) is
// kept for the store, webhooks, the builder and outbound calls. max is the
// configured cap (0: the default, negative: no limit, which the operator
// chose and is kept); nofile is 0 when the limit is unknown.
func webChatConnsFor(max int, defaultMax int, nofile uint64, log *slog.Logger) int {
	if max < 0 || nofile == 0 {
		return max
	}
	want := max
	if want == 0 {
		want = defaultMax
	}
	reserve := max64(256, nofile/4)
	room := 1
	if nofile > reserve {
		room = int(min(nofile-reserve, uint64(1<<31-1)))
	}
	if want <= room {
		return max
	}
	log.Warn("web chat connection cap lowered to fit the open-file limit (raise ulimit -n to allow more)",
		"configured", want, "cap", room, "open_files_limit", nofile)
	return room
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
