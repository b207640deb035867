// Command wsflood opens many web chat connections from one address against
// a running `voronka serve` and checks that a visitor from another address
// still chats meanwhile. It reports what the flood got (welcomed, refused
// before or after the upgrade, failed) and, given the server's pid, its
// resident memory before, during and after the flood.
//
//	ulimit -n 65536
//	bin/voronka serve -listen 127.0.0.1:18600 &
//	go run ./tools/wsflood -url ws://127.0.0.1:18600/ws/chat -n 20000 -pid $!
//
// Loopback only: the flood comes from -from (127.0.0.1), the visitor from
// -visitor-from (127.0.0.2); both are bound by count (-n) and time
// (-max-time) and stop by themselves.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wsflood:", err)
		os.Exit(1)
	}
}

type tally struct {
	welcomed, refusedHTTP, closedByServer, failed atomic.Int64
	codes                                         sync.Map // close code or HTTP status -> *atomic.Int64
}

func (t *tally) count(key string) {
	v, _ := t.codes.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func run() error {
	target := flag.String("url", "ws://127.0.0.1:18600/ws/chat", "web chat socket (loopback only)")
	bot := flag.String("bot", "demo", "bot the hello names")
	n := flag.Int("n", 20000, "connection attempts from the flooding address")
	parallel := flag.Int("parallel", 500, "attempts in flight at once")
	hold := flag.Duration("hold", 20*time.Second, "how long welcomed connections stay open")
	from := flag.String("from", "127.0.0.1", "source address of the flood")
	visitorFrom := flag.String("visitor-from", "127.0.0.2", "source address of the visitor who must still get answers")
	pid := flag.Int("pid", 0, "the server's pid, to report its resident memory")
	settle := flag.Duration("settle", 150*time.Second, "how long to watch memory after the flood closed")
	maxTime := flag.Duration("max-time", 10*time.Minute, "stop everything after this long")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address: this tool floods only this machine", u.Hostname())
	}
	for _, a := range []string{*from, *visitorFrom} {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("source %s is not a loopback address", a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *maxTime)
	defer cancel()

	rss := func(label string) {
		if *pid > 0 {
			fmt.Printf("%-34s RSS %6.1f MB   (load %s)\n", label, rssMB(*pid), loadavg())
		}
	}
	rss("before")

	// The visitor chats from another address the whole time.
	visitorCtx, stopVisitor := context.WithCancel(ctx)
	var visitorOK, visitorFail atomic.Int64
	visitorDone := make(chan struct{})
	go func() {
		defer close(visitorDone)
		// Like the widget, the visitor keeps its conversation across
		// connections: a new chat every second would be a flood of its own.
		session := ""
		for i := 0; visitorCtx.Err() == nil; i++ {
			if err := chat(visitorCtx, *target, *bot, *visitorFrom, &session, i); err != nil {
				if visitorCtx.Err() == nil {
					visitorFail.Add(1)
					fmt.Printf("visitor: %v\n", err)
				}
			} else {
				visitorOK.Add(1)
			}
			select {
			case <-visitorCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	var t tally
	var held sync.WaitGroup
	release := make(chan struct{})
	sem := make(chan struct{}, *parallel)
	start := time.Now()
	for i := 0; i < *n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		held.Add(1)
		go func() {
			defer held.Done()
			conn := attempt(ctx, *target, *bot, *from, &t)
			<-sem
			if conn == nil {
				return
			}
			select {
			case <-release:
			case <-ctx.Done():
			}
			conn.Close()
		}()
	}
	for i := 0; i < cap(sem); i++ {
		sem <- struct{}{}
	}
	fmt.Printf("%d attempts in %.1f s: %d welcomed, %d refused before the upgrade, %d closed by the server, %d failed\n",
		*n, time.Since(start).Seconds(), t.welcomed.Load(), t.refusedHTTP.Load(), t.closedByServer.Load(), t.failed.Load())
	t.codes.Range(func(k, v any) bool {
		fmt.Printf("  %s: %d\n", k, v.(*atomic.Int64).Load())
		return true
	})
	rss("during (welcomed ones held open)")
	select {
	case <-time.After(*hold):
	case <-ctx.Done():
	}
	rss("end of hold")
	close(release)
	held.Wait()
	closed := time.Now()
	for _, at := range []time.Duration{5 * time.Second, 30 * time.Second, 60 * time.Second, 90 * time.Second, 150 * time.Second} {
		if at > *settle {
			break
		}
		select {
		case <-time.After(time.Until(closed.Add(at))):
		case <-ctx.Done():
		}
		rss(fmt.Sprintf("%v after the flood closed", at))
	}
	stopVisitor()
	<-visitorDone
	fmt.Printf("visitor from %s: %d chats answered, %d failed\n", *visitorFrom, visitorOK.Load(), visitorFail.Load())
	if visitorFail.Load() > 0 || visitorOK.Load() == 0 {
		return errors.New("the visitor was not served")
	}
	return nil
}

func dialer(from string) *websocket.Dialer {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	return &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second,
		ReadBufferSize: 512, WriteBufferSize: 512}
}

// attempt opens one connection and says hello; it returns the connection
// when the server welcomed it.
func attempt(ctx context.Context, target, bot, from string, t *tally) *websocket.Conn {
	conn, resp, err := dialer(from).DialContext(ctx, target, nil)
	if err != nil {
		if resp != nil {
			t.refusedHTTP.Add(1)
			t.count("HTTP " + strconv.Itoa(resp.StatusCode))
		} else {
			t.failed.Add(1)
			t.count("error " + shortErr(err))
		}
		return nil
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if err := conn.WriteJSON(map[string]any{"type": "hello", "bot": bot}); err != nil {
		t.failed.Add(1)
		conn.Close()
		return nil
	}
	for {
		var f map[string]any
		err := conn.ReadJSON(&f)
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			t.closedByServer.Add(1)
			t.count(fmt.Sprintf("close %d %s", ce.Code, ce.Text))
			conn.Close()
			return nil
		case err != nil:
			t.failed.Add(1)
			t.count("error " + shortErr(err))
			conn.Close()
			return nil
		case f["type"] == "welcome":
			t.welcomed.Add(1)
			_ = conn.SetReadDeadline(time.Time{})
			// Keep reading (and so answering pings) in the background.
			go func() {
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						return
					}
				}
			}()
			return conn
		}
	}
}

// chat connects, starts or resumes the conversation *session, sends a text
// and waits for the bot's answer.
func chat(ctx context.Context, target, bot, from string, session *string, n int) error {
	conn, resp, err := dialer(from).DialContext(ctx, target, http.Header{})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial: HTTP %d", resp.StatusCode)
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := conn.WriteJSON(map[string]any{"type": "hello", "bot": bot, "session": *session}); err != nil {
		return err
	}
	sent, welcomeSeq := false, 0.0
	for {
		var f map[string]any
		if err := conn.ReadJSON(&f); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		switch f["type"] {
		case "welcome":
			*session, _ = f["session"].(string)
			welcomeSeq, _ = f["seq"].(float64)
			// /start restarts the demo funnels, so every round gets an answer.
			if err := conn.WriteJSON(map[string]any{"type": "text", "id": fmt.Sprintf("v%d", n), "text": "/start"}); err != nil {
				return err
			}
			sent = true
		case "message":
			// Messages up to the welcome's seq are the replay of earlier ones.
			if seq, _ := f["seq"].(float64); sent && seq > welcomeSeq {
				return nil
			}
		case "error":
			return fmt.Errorf("error frame: %v", f["message"])
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
