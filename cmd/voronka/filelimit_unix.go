//go:build unix

package main

import "syscall"

// openFilesLimit is the soft limit on open files (Go raises it to the hard
// limit at start-up), 0 when unknown.
func openFilesLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur)
}
