package webchat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/channel"
)

// syncBuffer is a log sink the hub's goroutines may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// botsEnv is a hub whose CheckBot knows the bots in known; down makes the
// check fail as a store outage would.
func botsEnv(t *testing.T, known *sync.Map, down *atomic.Bool) (*env, *syncBuffer) {
	t.Helper()
	e := newEnv(t, Options{CheckBot: func(_ context.Context, bot string) error {
		if down.Load() {
			return errors.New("store unreachable")
		}
		if _, ok := known.Load(bot); !ok {
			return fmt.Errorf("%w: no bot %q", ErrUnknownBot, bot)
		}
		return nil
	}})
	logs := &syncBuffer{}
	e.hub.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return e, logs
}

// TestHelloChecksBotAndVersion: a hello naming a bot this server does not
// run, or a protocol version it does not speak, gets a clear error frame
// and a close, not a session whose every message fails.
func TestHelloChecksBotAndVersion(t *testing.T) {
	known := &sync.Map{}
	known.Store("demo", true)
	down := &atomic.Bool{}
	e, logs := botsEnv(t, known, down)
	base := strings.TrimSuffix(e.url, "?bot=demo")
	cases := []struct {
		name, url, hello string
		code             string
		close            int
		reason           string
	}{
		{"unknown bot", base, `{"type":"hello","bot":"ghost"}`, CodeUnknownBot, 1008, "unknown bot"},
		{"forged preview", base, `{"type":"hello","bot":"preview~demo~f~x"}`, CodeUnknownBot, 1008, "unknown bot"},
		{"newer protocol", base, `{"type":"hello","v":2,"bot":"demo"}`, CodeUnsupportedVersion, 1008, "unsupported protocol version"},
		{"store down", base, `{"type":"hello","bot":"demo"}`, CodeFailed, 1013, "try again later"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			down.Store(c.code == CodeFailed)
			defer down.Store(false)
			cl := dialURL(t, c.url)
			cl.t = t
			cl.send(c.hello)
			f := cl.expect(TypeError)
			if f.Code != c.code || f.Message == "" || strings.Contains(f.Message, "unreachable") {
				t.Fatalf("error frame %+v, want code %s with a message and no internals", f, c.code)
			}
			if err := cl.closed(); !isClose(err, c.close) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("close = %v, want %d %q", err, c.close, c.reason)
			}
			<-e.served
		})
	}
	// A known bot is welcome, at version 1 or without a version.
	for _, hello := range []string{`{"type":"hello","bot":"demo"}`, `{"type":"hello","v":1,"bot":"demo"}`} {
		cl := dialURL(t, base)
		cl.send(hello)
		cl.expect(TypeWelcome)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("refused hellos logged errors:\n%s", logs)
	}
}

// TestBotGoneMidConnectionCloses: when the handler fails because the bot
// went away (a preview revoked while its chat is open), the message is
// refused for good and the connection ends, instead of an ERROR line and a
// retryable failure for every message the widget resends.
func TestBotGoneMidConnectionCloses(t *testing.T) {
	known := &sync.Map{}
	known.Store("demo", true)
	down := &atomic.Bool{}
	e, logs := botsEnv(t, known, down)
	e.rec.setHook(func(_ context.Context, in channel.Inbound) error {
		if _, ok := known.Load(in.Bot); !ok {
			return errors.New("no flow for " + in.Bot)
		}
		return nil
	})
	c := e.dial()
	c.hello("", 0)
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "hi"})
	c.expect(TypeAck)
	known.Delete("demo")
	c.send(ClientFrame{Type: TypeText, ID: "m2", Text: "still there?"})
	if f := c.expect(TypeError); f.Code != CodeUnknownBot || f.ID != "m2" {
		t.Fatalf("error frame %+v, want unknown_bot for m2", f)
	}
	if err := c.closed(); !isClose(err, 1008) {
		t.Fatalf("close = %v, want 1008", err)
	}
	if err := <-e.served; !errors.Is(err, ErrUnknownBot) {
		t.Fatalf("Serve returned %v, want ErrUnknownBot", err)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a gone bot logged an error:\n%s", logs)
	}
}
