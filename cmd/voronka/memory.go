package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"
)

// memoryReturner gives the memory of a crowd of connections back to the
// operating system once most of them closed. Go keeps freed memory for
// reuse, and with serve's GC target (400) it collects only when the heap
// has grown fivefold or every two minutes: after 8,000 web chat
// connections came and went, the process kept its peak for good. A drop of
// at least minDrop connections to half the peak or less forces a
// collection and returns what is free (debug.FreeOSMemory), at most once
// per check.
type memoryReturner struct {
	conns   func() int // open connections now
	every   time.Duration
	minDrop int
	free    func()
	log     *slog.Logger
	peak    int
}

func newMemoryReturner(conns func() int, log *slog.Logger) *memoryReturner {
	return &memoryReturner{conns: conns, every: 5 * time.Second, minDrop: 1000, free: freeMemory, log: log}
}

// freeMemory collects twice, since what sync.Pools held (the HTTP server's
// request contexts and buffers) survives one collection, then returns the
// free memory to the system.
func freeMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

func (m *memoryReturner) run(ctx context.Context) {
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.check()
		}
	}
}

// check compares the open connections with the peak since memory was last
// returned.
func (m *memoryReturner) check() {
	n := m.conns()
	if n > m.peak {
		m.peak = n
		return
	}
	if m.peak-n < m.minDrop || n > m.peak/2 {
		return
	}
	start := time.Now()
	m.free()
	m.log.Info("connections closed; memory returned to the system", "peak", m.peak, "open", n,
		"took", time.Since(start).Round(time.Millisecond))
	m.peak = n
}
