package main

import (
	"fmt"
	"io"

	"github.com/voronka/voronka/engine/flow"
)

func cmdSchema(stdout, stderr io.Writer) int {
	b, err := flow.JSONSchema()
	if err != nil {
		fmt.Fprintf(stderr, "voronka schema: %v\n", err)
		return 1
	}
	_, _ = stdout.Write(b)
	return 0
}
