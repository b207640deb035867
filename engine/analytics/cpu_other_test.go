//go:build !unix

package analytics_test

import "time"

// cpuNow is unknown here: the benchmarks report 0 CPU.
func cpuNow() time.Duration { return 0 }
