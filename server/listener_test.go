package server

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails with its errors, one per Accept, then accepts.
type flakyListener struct {
	net.Listener
	errs []error
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func TestAcceptErrorsAreRetriedWithBackoffAndLoggedOncePerSecond(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	errs := make([]error, 12)
	for i := range errs {
		errs[i] = emfile
	}
	errs[5] = &net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED}
	var logs bytes.Buffer
	l := newRetryListener(&flakyListener{Listener: ln, errs: errs}, slog.New(slog.NewTextHandler(&logs, nil)))
	// A fake clock that each sleep moves on, so the test takes no time.
	now := time.Unix(1_700_000_000, 0)
	var slept []time.Duration
	l.now = func() time.Time { return now }
	l.sleep = func(d time.Duration) { slept = append(slept, d); now = now.Add(d) }

	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept gave up: %v", err)
	}
	c.Close()
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000}
	if len(slept) != len(want) {
		t.Fatalf("slept %v, want %v ms", slept, want)
	}
	for i, d := range slept {
		if d != want[i]*time.Millisecond {
			t.Fatalf("slept %v, want %v ms", slept, want)
		}
	}
	// 12 errors over 5.275 s of backoff: logged at 0, 1.275, 2.275, 3.275,
	// 4.275 s, each line counting the ones it stood for.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "too many open files") ||
		!strings.Contains(lines[1], "more_errors_since_last_log=7") {
		t.Errorf("log:\n%s", logs.String())
	}

	ln.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener: %v, want net.ErrClosed", err)
	}
}
