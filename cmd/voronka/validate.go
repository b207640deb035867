package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/voronka/voronka/engine/flow"
)

// cmdValidate prints every problem of every flow and exits 1 if any is an
// error. A directory means every flow file under it.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("validate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	quiet := fset.Bool("q", false, "print nothing for files without problems")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if fset.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: voronka validate FILE|DIR...")
		return 2
	}
	files, err := flowFiles(fset.Args(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voronka validate: %v\n", err)
		return 1
	}
	code := 0
	for _, path := range files {
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
			fmt.Fprintf(stderr, "%s: ok, %d warning(s)\n", path, len(ps))
		}
	}
	return code
}

// flowFiles expands directories into their flow files and leaves out
// conversation tests, which `voronka validate flows/*.yaml` would otherwise
// report as broken flows.
func flowFiles(args []string, stderr io.Writer) ([]string, error) {
	var out []string
	for _, a := range args {
		info, err := os.Stat(a)
		if err != nil {
			out = append(out, a) // reported when read
			continue
		}
		if !info.IsDir() {
			if strings.HasSuffix(a, ".test.yaml") {
				fmt.Fprintf(stderr, "%s: a conversation test, not a flow; skipped (run voronka test)\n", a)
				continue
			}
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if !d.IsDir() && !strings.HasSuffix(name, ".test.yaml") &&
				(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", a, err)
		}
	}
	return out, nil
}
