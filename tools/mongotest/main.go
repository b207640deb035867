// Command mongotest serves a MongoDB-wire-compatible database (embedded
// FerretDB with its SQLite handler) on a loopback port, for tests on machines
// where no MongoDB runs.
//
// It prints the mongodb:// URI on stdout once the server accepts connections,
// optionally writes it to the file named by -uri-file, and on SIGINT/SIGTERM
// stops and removes its temporary data directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("listen", "127.0.0.1:0", "loopback TCP address to listen on (port 0 picks a free port)")
	uriFile := flag.String("uri-file", "", "also write the URI to this file once the server accepts connections")
	dir := flag.String("dir", "", "data directory (default: a fresh temp dir, removed on exit)")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	syncMode := flag.String("sqlite-synchronous", "off", "SQLite synchronous pragma: off (the default: a throwaway test server need not survive a power cut) or normal, full")
	indexID := flag.Bool("index-id", true, "add an index on the _id path FerretDB queries by to every collection (see idIndexer)")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false, "also stop when stdin closes (so the server dies with the process that started it)")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// FerretDB allocates a lot per request for a small heap; the
		// default target spent about 7% of the server's CPU collecting it.
		debug.SetGCPercent(400)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("parse -log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dataDir := *dir
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "mongotest-")
		if err != nil {
			return fmt.Errorf("create temp dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	} else if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	tcp, err := resolveLoopback(*addr)
	if err != nil {
		return err
	}

	switch *syncMode {
	case "off", "normal", "full":
	default:
		return fmt.Errorf("-sqlite-synchronous %q: want off, normal or full", *syncMode)
	}
	// FerretDB adds its own defaults (WAL, busy timeout) to these pragmas.
	q := url.Values{"_pragma": {"synchronous(" + *syncMode + ")"}}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: tcp},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: q.Encode()}).String(),
	})
	if err != nil {
		return fmt.Errorf("start ferretdb: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	if *indexID {
		go newIDIndexer(abs, 100*time.Millisecond, logger).run(ctx)
	}

	uri := f.MongoDBURI()
	if err := waitAccepting(ctx, uri, done); err != nil {
		return err
	}
	if *uriFile != "" {
		// Write then rename so a reader polling the file never sees half a URI.
		tmp := *uriFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(uri+"\n"), 0o644); err != nil {
			return fmt.Errorf("write uri file: %w", err)
		}
		if err := os.Rename(tmp, *uriFile); err != nil {
			return fmt.Errorf("write uri file: %w", err)
		}
	}
	fmt.Println(uri)

	err = <-done
	logger.Info("stopped")
	return err
}

// resolveLoopback rejects non-loopback listen addresses: this server has no auth.
func resolveLoopback(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("parse -listen %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("-listen %q: only loopback addresses are allowed", addr)
	}
	if port == "0" {
		// FerretDB reports the configured address in its URI, so pick the port here.
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return "", fmt.Errorf("pick a free port: %w", err)
		}
		addr = l.Addr().String()
		l.Close()
		return addr, nil
	}
	return net.JoinHostPort(host, port), nil
}

// waitAccepting dials the server until it accepts a TCP connection.
func waitAccepting(ctx context.Context, uri string, done <-chan error) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("parse uri %q: %w", uri, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s does not accept connections: %w", u.Host, err)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted before the server started")
		case err := <-done:
			return fmt.Errorf("server stopped before accepting connections: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
