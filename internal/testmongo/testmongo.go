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

// server is the one test server of this test binary. Process-wide state is
// the point here: every test in the binary shares one server.
type server struct {
	once   sync.Once
	uri    string
	err    error
	cmd    *exec.Cmd
	stdin  io.Closer
	tmpDir string
	stderr *bytes.Buffer
}

var (
	shared  server
	dbCount atomic.Int64
)

// URI returns the URI of a MongoDB-compatible server for tb, starting the
// shared test server on first use. It fails tb if no server can be had.
func URI(tb testing.TB) string {
	tb.Helper()
	if uri := os.Getenv(EnvURI); uri != "" {
		return uri
	}
	shared.once.Do(func() { shared.uri, shared.err = shared.start() })
	if shared.err != nil {
		tb.Fatalf("testmongo: no MongoDB for tests (set %s to use an existing one): %v", EnvURI, shared.err)
	}
	return shared.uri
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
// its files. It is safe to call more than once.
func Stop() {
	s := &shared
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
	_ = os.RemoveAll(s.tmpDir)
}

// start builds tools/mongotest and runs it until it prints its URI.
func (s *server) start() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	s.tmpDir, err = os.MkdirTemp("", "testmongo-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	bin := filepath.Join(s.tmpDir, "mongotest")
	// go.sh builds it with the test server's patches to FerretDB.
	build := exec.CommandContext(ctx, "bash", "go.sh", "build", "-o", bin, ".")
	build.Dir = filepath.Join(root, "tools", "mongotest")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", build.Dir, err, out)
	}

	s.stderr = &bytes.Buffer{}
	s.cmd = exec.Command(bin, "-exit-on-stdin-eof", "-dir", filepath.Join(s.tmpDir, "data"))
	s.cmd.Stderr = &lockedWriter{w: s.stderr}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	s.stdin = stdin
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := s.cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
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
			return uri, nil
		}
		Stop()
		return "", fmt.Errorf("mongotest exited without a URI (got %q): %s", uri, s.stderr)
	case <-ctx.Done():
		Stop()
		return "", fmt.Errorf("mongotest did not print a URI in %s: %s", startTimeout, s.stderr)
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
