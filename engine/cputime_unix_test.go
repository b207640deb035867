//go:build unix

package engine

import "syscall"

// cpuTime is the CPU this process has used, in nanoseconds: benchmarks
// report it beside ns/op, which on a shared machine counts the waiting too.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
