package webchat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// nodeCmd finds a Node.js with a global WebSocket (built in from Node 22,
// behind a flag in Node 20). Node is a requirement of the project (the
// builder is built with npm by make run and make test), so its absence
// fails the test rather than skipping it.
func nodeCmd(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not installed: the widget's JavaScript tests need Node.js 20 or newer")
	}
	for _, args := range [][]string{{node}, {node, "--experimental-websocket"}} {
		probe := append(append([]string{}, args...), "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)")
		if exec.Command(probe[0], probe[1:]...).Run() == nil {
			return args
		}
	}
	t.Fatal("node has no WebSocket, even with --experimental-websocket: use Node.js 20 or newer")
	return nil
}

func TestWidgetProtocolUnits(t *testing.T) {
	node := nodeCmd(t)
	out, err := exec.Command(node[0], "--test", "jstest/protocol.test.js").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

// echoRuntime stands in for the runtime: it drops duplicate update ids as
// the runtime does, and answers through the hub.
type echoRuntime struct {
	hub *Hub

	mu      sync.Mutex
	done    map[string]bool // update ids recorded
	tries   map[string]int  // Handle calls per update id
	flakyOK bool
	chats   map[string]bool
}

func (r *echoRuntime) Handle(ctx context.Context, in channel.Inbound) error {
	r.mu.Lock()
	r.tries[in.UpdateID]++
	r.chats[in.Chat] = true
	if in.Text == "flaky" && !r.flakyOK {
		r.flakyOK = true
		r.mu.Unlock()
		return errors.New("store busy")
	}
	dup := r.done[in.UpdateID]
	r.done[in.UpdateID] = true
	r.mu.Unlock()
	if dup {
		return nil
	}
	out := channel.Outbound{ID: "out:" + in.UpdateID, Chat: in.Chat}
	switch {
	case in.Kind == channel.KindPress:
		out.Text = "pressed: " + in.Payload
	case in.Text == "later":
		go func() {
			time.Sleep(300 * time.Millisecond)
			out.Text = "late reply"
			r.hub.Send(context.Background(), out)
		}()
		return nil
	default:
		out.Text = "echo: " + in.Text
		out.Buttons = []engine.Button{{Label: "Да", Payload: "yes"}, {Label: "Нет", Payload: "no"}}
	}
	_, err := r.hub.Send(ctx, out)
	return err
}

func TestWidgetAgainstHub(t *testing.T) {
	node := nodeCmd(t)
	rt := &echoRuntime{done: map[string]bool{}, tries: map[string]int{}, chats: map[string]bool{}}
	opts := DefaultOptions
	opts.Handoff = func(context.Context, string) string { return "оператор" }
	rt.hub = New(rt, quietLogger(), nil, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		rt.hub.Serve(ctx, conn, "demo")
	}))
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/chat"
	cmd := exec.Command(node[0], append(node[1:], "jstest/e2e.js", url)...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("e2e.js: %v\n%s", err, out)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	// hi, press yes, the handoff text, flaky, later, while offline, hi
	// again; not the press on the answered keyboard.
	if len(rt.done) != 7 || len(rt.chats) != 2 {
		t.Fatalf("recorded %d updates in %d chats, want 7 in 2: %v", len(rt.done), len(rt.chats), rt.tries)
	}
	retried := 0
	for _, n := range rt.tries {
		if n > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatalf("the refused \"flaky\" was never resent with the same update id: %v", rt.tries)
	}
}
