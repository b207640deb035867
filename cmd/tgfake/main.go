// Command tgfake runs the fake Telegram Bot API (package
// github.com/voronka/voronka/adapters/telegram/tgfake) as a standalone
// server, so another process (a Voronka server in an end-to-end test, a load
// tool, or a person with curl) can talk to it as a bot and play users
// through its control API under /_fake/ (documented in the package).
//
// Usage:
//
//	tgfake -addr 127.0.0.1:8081 -token 123456789:TEST -username my_bot
//	tgfake -realistic-limits=false            # no flood control (load tests)
//	tgfake -global-per-second 3000 -private-per-second 10
//	tgfake -manual-clock                      # time moves only via /_fake/clock/advance
//
// It prints the base URL on the first line of stdout; the Bot API is at
// <base>/bot<token>/<method>. Stop it with SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tgfake:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tgfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (port 0 picks a free one)")
	token := fs.String("token", "123456789:TEST-fake-token", "bot token the fake accepts")
	username := fs.String("username", "voronka_test_bot", "bot username")
	realistic := fs.Bool("realistic-limits", true, "apply Telegram's flood limits (30 msg/s per bot, 1 msg/s per chat, 20 msg/min per group); false disables them")
	globalRate := fs.Float64("global-per-second", 0, "bot-wide limit in msg/s (0 = Telegram's 30)")
	privateRate := fs.Float64("private-per-second", 0, "per private chat limit in msg/s (0 = Telegram's 1)")
	privateBurst := fs.Int("private-burst", 0, "per private chat burst (0 = 3)")
	groupRate := fs.Float64("group-per-minute", 0, "per group limit in msg/min (0 = Telegram's 20)")
	manual := fs.Bool("manual-clock", false, "freeze time; advance it with POST /_fake/clock/advance {\"seconds\":N}")
	retryScale := fs.Float64("retry-scale", 1, "factor applied to the webhook retry back-off (2, 4, 8… s)")
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var clock tgfake.Clock = tgfake.SystemClock{}
	if *manual {
		clock = tgfake.NewManualClock(time.Now())
	}
	f := tgfake.New(tgfake.Options{
		Token:    *token,
		Username: *username,
		Addr:     *addr,
		Clock:    clock,
		Limits: tgfake.Limits{
			Unlimited:        !*realistic,
			GlobalPerSecond:  *globalRate,
			PrivatePerSecond: *privateRate,
			PrivateBurst:     *privateBurst,
			GroupPerMinute:   *groupRate,
		},
		RetryScale: *retryScale,
		Logger:     logger,
	})
	base, err := f.Start()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintln(stdout, base)
	logger.Info("fake Telegram Bot API listening",
		"url", base, "bot_api", base+"/bot<token>/<method>", "control", base+"/_fake/",
		"username", *username, "realistic_limits", *realistic)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- f.Close() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("close: %w", err)
		}
	case <-time.After(10 * time.Second):
		return fmt.Errorf("close: timed out")
	}
	return nil
}
