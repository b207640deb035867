package server

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Accept backoff, as net/http's Server: 5 ms doubling up to 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// retryListener keeps a server accepting through errors that pass: a full
// file table ("too many open files"), a connection aborted before it was
// accepted, out of buffers. fasthttp stops serving on any of them, which
// let a flood of connections end the process; this waits and tries again,
// 5 ms doubling to 1 s, as net/http does, and logs at most once a second.
// Only a closed listener ends Accept.
type retryListener struct {
	net.Listener
	log   *slog.Logger
	sleep func(time.Duration)
	now   func() time.Time

	mu      sync.Mutex
	logged  time.Time // when the last error was logged
	skipped int       // errors since then that were not
}

func newRetryListener(ln net.Listener, log *slog.Logger) *retryListener {
	return &retryListener{Listener: ln, log: log, sleep: time.Sleep, now: time.Now}
}

func (l *retryListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if delay == 0 {
			delay = acceptBackoffMin
		} else {
			delay = min(2*delay, acceptBackoffMax)
		}
		l.report(err, delay)
		l.sleep(delay)
	}
}

// report logs an accept error unless one was logged less than a second ago;
// those are counted into the next line.
func (l *retryListener) report(err error, delay time.Duration) {
	l.mu.Lock()
	now := l.now()
	if !l.logged.IsZero() && now.Sub(l.logged) < time.Second {
		l.skipped++
		l.mu.Unlock()
		return
	}
	skipped := l.skipped
	l.logged, l.skipped = now, 0
	l.mu.Unlock()
	l.log.Error("accept failed; retrying (new connections wait meanwhile)", "err", err, "retry_in", delay,
		"more_errors_since_last_log", skipped)
}
