package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/engine/channel"
)

// The connection types of fasthttp/websocket (which Fiber's websocket.Conn
// embeds) fit the hub as they are, read limit included.
var (
	_ Conn        = (*websocket.Conn)(nil)
	_ readLimiter = (*websocket.Conn)(nil)
)

// recorder is a channel.Handler that records what it got; hook, when set,
// decides what Handle returns (and may block or Send).
type recorder struct {
	mu   sync.Mutex
	got  []channel.Inbound
	hook func(ctx context.Context, in channel.Inbound) error
}

func (r *recorder) Handle(ctx context.Context, in channel.Inbound) error {
	r.mu.Lock()
	r.got = append(r.got, in)
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		return hook(ctx, in)
	}
	return nil
}

func (r *recorder) inbound() []channel.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channel.Inbound(nil), r.got...)
}

func (r *recorder) setHook(f func(ctx context.Context, in channel.Inbound) error) {
	r.mu.Lock()
	r.hook = f
	r.mu.Unlock()
}

// manualClock is a Clock tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// env is a hub behind a real WebSocket server on loopback.
type env struct {
	t      *testing.T
	hub    *Hub
	rec    *recorder
	clock  *manualClock
	url    string
	served chan error // what each Serve returned
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{t: t, rec: &recorder{}, clock: &manualClock{now: epoch}, served: make(chan error, 100)}
	e.hub = New(e.rec, quietLogger(), e.clock, opts)
	ctx, cancel := context.WithCancel(context.Background())
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		err = e.hub.Serve(ctx, conn, r.URL.Query().Get("bot"))
		select {
		case e.served <- err:
		default:
		}
	}))
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	e.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/chat?bot=demo"
	return e
}

// wsClient is a test client: a reader goroutine turns frames into a
// channel so the test can wait with a timeout without corrupting the
// connection (a timed-out read breaks a gorilla-style conn for good).
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan ServerFrame
	raw    chan []byte
	done   chan struct{}
	err    error // why reading stopped; read after done
}

func (e *env) dial() *wsClient {
	e.t.Helper()
	return dialURL(e.t, e.url)
}

func dialURL(t testing.TB, url string) *wsClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &wsClient{conn: conn, frames: make(chan ServerFrame, 1000), done: make(chan struct{})}
	if tt, ok := t.(*testing.T); ok {
		c.t = tt
	}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var f ServerFrame
			if err := json.Unmarshal(data, &f); err != nil {
				c.err = err
				return
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	var data []byte
	switch v := v.(type) {
	case string:
		data = []byte(v)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame that is not a typing indicator.
func (c *wsClient) next() ServerFrame {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-c.frames:
			if f.Type == TypeTyping {
				continue
			}
			return f
		case <-c.done:
			// Drain what arrived before the end.
			select {
			case f := <-c.frames:
				if f.Type != TypeTyping {
					return f
				}
				continue
			default:
			}
			c.t.Fatalf("connection ended while waiting for a frame: %v", c.err)
		case <-deadline:
			c.t.Fatal("no frame within 5s")
		}
	}
}

func (c *wsClient) expect(typ string) ServerFrame {
	c.t.Helper()
	f := c.next()
	if f.Type != typ {
		c.t.Fatalf("got %+v, want a %s frame", f, typ)
	}
	return f
}

// quiet asserts no frame (other than typing) arrives within d.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f.Type != TypeTyping {
				c.t.Fatalf("unexpected frame %+v", f)
			}
		case <-deadline:
			return
		}
	}
}

// closed waits for the server to end the connection and returns the error
// the client read.
func (c *wsClient) closed() error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(5 * time.Second):
		c.t.Fatal("connection still open after 5s")
		return nil
	}
}

// hello says hello and returns the welcome.
func (c *wsClient) hello(session string, lastSeen uint64) ServerFrame {
	c.t.Helper()
	c.send(ClientFrame{Type: TypeHello, Session: session, Bot: "demo", LastSeen: lastSeen,
		Profile: &Profile{FirstName: "Анна", Language: "ru"}})
	return c.expect(TypeWelcome)
}

func isClose(err error, code int) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == code
}
