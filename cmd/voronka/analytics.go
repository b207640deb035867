package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/analytics"
)

const analyticsUsage = `usage:
  voronka analytics rebuild [--bot BOT] [serve flags]

rebuild recomputes the analytics rollups of BOT (default: every bot) from its
event log: counters are deleted and every stored event folded again. Events
purged by retention are gone from the log, so a rebuild after a purge counts
less than the rollups it replaces. Stop every voronka serve on the store first:
events written meanwhile would be counted twice (the bolt file cannot be
opened by two processes anyway).
`

// cmdAnalytics runs analytics maintenance.
func cmdAnalytics(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprint(stderr, analyticsUsage)
		return 2
	}
	var bot string
	var serveArgs []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "bot" {
			if !hasVal {
				if i+1 >= len(rest) {
					fmt.Fprintln(stderr, "voronka analytics: --bot needs a value")
					return 2
				}
				i++
				val = rest[i]
			}
			bot = val
			continue
		}
		if !strings.HasPrefix(a, "-") {
			fmt.Fprintf(stderr, "voronka analytics: unexpected argument %q\n\n%s", a, analyticsUsage)
			return 2
		}
		serveArgs = append(serveArgs, a)
		if !hasVal && i+1 < len(rest) && !strings.HasPrefix(rest[i+1], "-") {
			i++
			serveArgs = append(serveArgs, rest[i])
		}
	}
	cfg, err := loadServeConfig(serveArgs, os.Getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voronka analytics: %v\n", err)
		return 2
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg, newLogger(stderr, "warn"))
	if err != nil {
		fmt.Fprintf(stderr, "voronka analytics: %v\n", err)
		return 1
	}
	defer st.Close(context.Background())
	bots := []string{bot}
	if bot == "" {
		bs, err := st.ListBots(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "voronka analytics: list bots: %v\n", err)
			return 1
		}
		bots = bots[:0]
		for _, b := range bs {
			bots = append(bots, b.ID)
		}
	}
	roller := &analytics.Roller{St: st, Log: newLogger(stderr, "warn")}
	// Fold what is pending first, so the rebuild starts from a quiet log.
	if _, err := roller.FlushAll(ctx); err != nil {
		fmt.Fprintf(stderr, "voronka analytics: %v\n", err)
		return 1
	}
	for _, b := range bots {
		t0 := time.Now()
		n, err := roller.Rebuild(ctx, b)
		if err != nil {
			fmt.Fprintf(stderr, "voronka analytics: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "bot %s: rollups rebuilt from %d events in %v\n", b, n, time.Since(t0).Round(time.Millisecond))
	}
	return 0
}
