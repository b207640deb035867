// Command voronka runs, validates and tests Voronka funnels.
//
//	voronka serve              run the bots: web chat, Telegram, REST API
//	voronka validate FILE...   check flow files, print every problem as file:line:col
//	voronka test DIR           run every *.test.yaml under DIR
//	voronka schema             print the JSON Schema of the flow format
//	voronka user add LOGIN     add a builder user (admin, marketer or operator)
//	voronka analytics rebuild  recompute the analytics rollups from the event log
//	voronka version            print the version
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: voronka <command> [arguments]

commands:
  serve              run the bots (web chat at http://localhost:8080, Telegram when a token is set)
  validate FILE...   check flow files; print every problem as file:line:col: message
  test [DIR]         run every *.test.yaml under DIR (default ./flows)
  schema             print the JSON Schema of the flow format
  user add LOGIN     add a user of the builder: --role admin|marketer|operator, password on stdin or --password
  user list          list the users of the builder
  analytics rebuild  recompute the analytics rollups from the event log (--bot BOT; stop voronka serve first)
  health [URL]       exit 0 if the server at URL (default http://127.0.0.1:8080/readyz) is ready
  version            print the version
`

// run is main without the process: it returns the exit code, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "test":
		return cmdTest(args[1:], stdout, stderr)
	case "user":
		return cmdUser(args[1:], os.Stdin, stdout, stderr)
	case "analytics":
		return cmdAnalytics(args[1:], stdout, stderr)
	case "schema":
		return cmdSchema(stdout, stderr)
	case "health":
		return cmdHealth(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "voronka", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "voronka: unknown command %q\n\n%s", args[0], usage)
	return 2
}
