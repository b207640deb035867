//go:build unix

package analytics_test

import (
	"syscall"
	"time"
)

// cpuNow is the process's CPU time so far (user and system).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
