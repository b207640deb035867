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
	"sync"
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
	serialize := flag.Bool("serialize-writes", true, "apply each write command (insert, update, delete, findAndModify) alone per collection, as MongoDB applies a filtered write atomically (see writeProxy); false serves FerretDB as it is")
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	srv, err := start(ctx, config{listen: *addr, dir: abs, syncMode: *syncMode, indexID: *indexID,
		serializeWrites: *serialize}, logger)
	if err != nil {
		return err
	}
	defer srv.stop()
	uri := srv.uri
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

	err = srv.wait()
	logger.Info("stopped")
	return err
}

// config is what start needs to serve.
type config struct {
	listen          string // loopback TCP address; port 0 picks one
	dir             string // absolute data directory
	syncMode        string // SQLite synchronous pragma
	indexID         bool   // run the idIndexer
	serializeWrites bool   // put the writeProxy in front of FerretDB
}

// server is a running test server.
type server struct {
	uri  string
	done chan error // the first part to stop
	stop func()     // waits for the rest
}

// wait blocks until the server stopped (its context ended or a part of it
// failed) and returns the first error.
func (s *server) wait() error {
	err := <-s.done
	s.stop()
	return err
}

// start serves FerretDB on cfg.listen until ctx ends: directly, or with
// cfg.serializeWrites behind the writeProxy, FerretDB then listening on a
// Unix socket of its own. It returns once the server accepts connections.
func start(ctx context.Context, cfg config, logger *slog.Logger) (*server, error) {
	tcp, err := resolveLoopback(cfg.listen)
	if err != nil {
		return nil, err
	}
	switch cfg.syncMode {
	case "off", "normal", "full":
	default:
		return nil, fmt.Errorf("-sqlite-synchronous %q: want off, normal or full", cfg.syncMode)
	}
	ctx, cancel := context.WithCancel(ctx)
	var cleanup []func()
	s := &server{done: make(chan error, 3)}
	s.stop = func() {
		cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	fail := func(err error) (*server, error) {
		s.stop()
		return nil, err
	}

	listener := ferretdb.ListenerConfig{TCP: tcp}
	var front net.Listener
	if cfg.serializeWrites {
		// A socket path must stay short (about 100 bytes), so not in dir.
		sockDir, err := os.MkdirTemp("", "mongotest-sock-")
		if err != nil {
			return fail(fmt.Errorf("socket dir: %w", err))
		}
		cleanup = append(cleanup, func() { os.RemoveAll(sockDir) })
		listener = ferretdb.ListenerConfig{Unix: filepath.Join(sockDir, "ferretdb.sock")}
		front, err = net.Listen("tcp", tcp)
		if err != nil {
			return fail(fmt.Errorf("listen on %s: %w", tcp, err))
		}
		cleanup = append(cleanup, func() { front.Close() })
	}
	// FerretDB adds its own defaults (WAL, busy timeout) to these pragmas.
	q := url.Values{"_pragma": {"synchronous(" + cfg.syncMode + ")"}}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: cfg.dir + "/", RawQuery: q.Encode()}).String(),
	})
	if err != nil {
		return fail(fmt.Errorf("start ferretdb: %w", err))
	}
	var wg sync.WaitGroup
	cleanup = append(cleanup, wg.Wait)
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.done <- fn()
		}()
	}
	run(func() error { return f.Run(ctx) })
	if cfg.indexID {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newIDIndexer(cfg.dir, 100*time.Millisecond, logger).run(ctx)
		}()
	}
	network, addr := "tcp", tcp
	if listener.Unix != "" {
		network, addr = "unix", listener.Unix
	}
	if err := waitAccepting(ctx, network, addr, s.done); err != nil {
		return fail(err)
	}
	s.uri = f.MongoDBURI()
	if front != nil {
		sock := listener.Unix
		p := &writeProxy{log: logger, backend: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}
		run(func() error { return p.serve(ctx, front) })
		s.uri = (&url.URL{Scheme: "mongodb", Host: front.Addr().String(), Path: "/"}).String()
	}
	return s, nil
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

// waitAccepting dials the server until it accepts a connection.
func waitAccepting(ctx context.Context, network, addr string, done <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s does not accept connections: %w", addr, err)
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
