package main

import (
	"fmt"
	"io"

	"github.com/voronka/voronka/engine/convtest"
)

// cmdTest runs conversation tests and exits 1 on any failure.
func cmdTest(args []string, stdout, stderr io.Writer) int {
	dirs := args
	if len(dirs) == 0 {
		dirs = []string{"flows"}
	}
	failed := false
	for _, dir := range dirs {
		sum, err := convtest.RunDir(dir, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "voronka test: %v\n", err)
			return 1
		}
		failed = failed || sum.Failed > 0
	}
	if failed {
		return 1
	}
	return 0
}
