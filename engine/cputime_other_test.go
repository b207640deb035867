//go:build !unix

package engine

func cpuTime() int64 { return 0 }
