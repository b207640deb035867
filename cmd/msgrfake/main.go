// Command msgrfake runs one of the fake messenger platforms (WhatsApp
// Cloud API, Viber, VK) as a standalone server, for browser tests, the
// load tool or a person with curl. Users are played through its control
// API under /_fake/ (see the fake's package documentation).
//
// Usage:
//
//	msgrfake -type whatsapp -addr 127.0.0.1:0
//	msgrfake -type viber -unlimited
//	msgrfake -type vk
//
// It prints the base URL on the first line of stdout (the api_url is that
// URL for WhatsApp, + "/pa" for Viber, + "/method" for VK), then the
// credentials on the second as JSON. Stop it with SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "msgrfake:", err)
		os.Exit(1)
	}
}

type fake interface {
	Start(addr string) (string, error)
	Close() error
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("msgrfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "whatsapp", "whatsapp, viber or vk")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	unlimited := fs.Bool("unlimited", false, "no rate limits (load tests)")
	retryScale := fs.Float64("retry-scale", 1, "factor on the webhook retry back-off")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var f fake
	creds := map[string]any{}
	switch *typ {
	case "whatsapp":
		w := wafake.New(wafake.Options{Unlimited: *unlimited, RetryScale: *retryScale, Logger: log})
		f = w
		creds = map[string]any{"token": w.Token(), "app_secret": w.AppSecret(), "phone_number_id": w.PhoneNumberID()}
	case "viber":
		v := viberfake.New(viberfake.Options{Unlimited: *unlimited, RetryScale: *retryScale, Logger: log})
		f = v
		creds = map[string]any{"token": v.Token()}
	case "vk":
		v := vkfake.New(vkfake.Options{Unlimited: *unlimited, RetryScale: *retryScale, Logger: log})
		f = v
		creds = map[string]any{"token": v.Token(), "group_id": v.GroupID()}
	default:
		return fmt.Errorf("unknown -type %q (want whatsapp, viber or vk)", *typ)
	}
	base, err := f.Start(*addr)
	if err != nil {
		return err
	}
	defer f.Close()
	b, _ := json.Marshal(creds)
	fmt.Fprintln(stdout, base)
	fmt.Fprintln(stdout, string(b))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
