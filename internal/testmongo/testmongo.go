// Package testmongo gives tests a MongoDB to talk to: $MONGO_URI when set,
// otherwise a FerretDB server (tools/mongotest) built and started once per
// test binary. A test that cannot get a server fails; it never skips.
//
// Use it from TestMain so the server is stopped when the tests end:
//
//	func TestMain(m *testing.M) { testmongo.Main(m) }
//
// and in a test: uri := testmongo.URI(t); db := testmongo.DBName(t).
// Without TestMain the server still stops when the test binary exits,
// because it watches its stdin, which closes with this process.
package testmongo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// EnvURI names the variable that points tests at an existing server.
const EnvURI = "MONGO_URI"

// startTimeout bounds building (a cold build of FerretDB takes a minute or
// two on a small machine) and starting the server.
const startTimeout = 10 * time.Minute

// server is a test server this process started.
type server struct {
	uri    string
	cmd    *exec.Cmd
	stdin  io.Closer
	dir    string // its data, removed when it stops
	stderr *bytes.Buffer
}

// Process-wide state is the point here: every test in the binary shares
// one build and one server.
var (
	sharedOnce sync.Once
	shared     *server
	sharedErr  error

	buildOnce sync.Once
	binDir    string // holds the built mongotest
	bin       string
	buildErr  error

	dbCount atomic.Int64
)

// URI returns the URI of a MongoDB-compatible server for tb, starting the
// shared test server on first use. It fails tb if no server can be had.
func URI(tb testing.TB) string {
	tb.Helper()
	if uri := os.Getenv(EnvURI); uri != "" {
		return uri
	}
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		tb.Fatalf("testmongo: no MongoDB for tests (set %s to use an existing one): %v", EnvURI, sharedErr)
	}
	return shared.uri
}

// Start starts a test server for tb alone, whatever $MONGO_URI says, with
// extra tools/mongotest flags (e.g. -serialize-writes=false), and stops it
// when tb ends. It returns the server's URI.
func Start(tb testing.TB, flags ...string) string {
	tb.Helper()
	s, err := start(flags...)
	if err != nil {
		tb.Fatalf("testmongo: start a test server: %v", err)
	}
	tb.Cleanup(s.stop)
	return s.uri
}

// DBName returns a database name no other test in this run uses.
func DBName(tb testing.TB) string {
	name := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(tb.Name(), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid()%100000, dbCount.Add(1), strings.Trim(name, "_"))
}

// Main runs the tests and then stops the shared server, for TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the shared server, if this process started one, and removes
// the build and the server's files. It is safe to call more than once.
func Stop() {
	if shared != nil {
		shared.stop()
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// stop stops s and removes its files; it is safe to call more than once.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.stdin.Close()
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
	_ = os.RemoveAll(s.dir)
}

// EnvBin names the variable that gives a tools/mongotest binary to run
// instead of building one (tools/with-mongo.sh sets it).
const EnvBin = "MONGOTEST_BIN"

// build builds tools/mongotest once per process, unless $MONGOTEST_BIN
// names a built one.
func build() (string, error) {
	buildOnce.Do(func() {
		if b := os.Getenv(EnvBin); b != "" {
			if _, err := os.Stat(b); err != nil {
				buildErr = fmt.Errorf("%s: %w", EnvBin, err)
			}
			bin = b
			return
		}
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		if binDir, err = os.MkdirTemp("", "testmongo-bin-"); err != nil {
			buildErr = fmt.Errorf("temp dir: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		out := filepath.Join(binDir, "mongotest")
		// go.sh builds it with the test server's patches to FerretDB.
		cmd := exec.CommandContext(ctx, "bash", "go.sh", "build", "-o", out, ".")
		cmd.Dir = filepath.Join(root, "tools", "mongotest")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build %s: %w\n%s", cmd.Dir, err, b)
			return
		}
		bin = out
	})
	return bin, buildErr
}

// start builds tools/mongotest and runs it with flags until it prints its URI.
func start(flags ...string) (*server, error) {
	bin, err := build()
	if err != nil {
		return nil, err
	}
	s := &server{stderr: &bytes.Buffer{}}
	if s.dir, err = os.MkdirTemp("", "testmongo-"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := append([]string{"-exit-on-stdin-eof", "-dir", filepath.Join(s.dir, "data")}, flags...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stderr = &lockedWriter{w: s.stderr}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case uri, ok := <-lines:
		if ok && strings.HasPrefix(uri, "mongodb://") {
			s.uri = uri
			return s, nil
		}
		s.stop()
		return nil, fmt.Errorf("mongotest exited without a URI (got %q): %s", uri, s.stderr)
	case <-ctx.Done():
		s.stop()
		return nil, fmt.Errorf("mongotest did not print a URI in %s: %s", startTimeout, s.stderr)
	}
}

// repoRoot walks up from the working directory to the root module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/voronka/voronka\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/voronka/voronka) not found above the working directory")
		}
		dir = parent
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
