package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/voronka/voronka/engine/flow"
)

// cmdValidate prints every problem of every file and exits 1 if any is an error.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print nothing for files without problems")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: voronka validate FILE...")
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = 1
			continue
		}
		_, ps := flow.Load(path, data)
		for _, p := range ps {
			fmt.Fprintln(stdout, p.String())
		}
		errs := len(ps.Errors())
		switch {
		case errs > 0:
			fmt.Fprintf(stderr, "%s: %d error(s), %d warning(s)\n", path, errs, len(ps)-errs)
			code = 1
		case !*quiet:
			fmt.Fprintf(stderr, "%s: ok (%d warning(s))\n", path, len(ps))
		}
	}
	return code
}
