package webchat

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// pipeConn is an in-memory Conn for tests that need no network: what the
// test puts in in, the hub reads; what the hub writes arrives on out.
type pipeConn struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newPipeConn() *pipeConn {
	return &pipeConn{in: make(chan []byte, 16), out: make(chan []byte, 256), closed: make(chan struct{})}
}

var errPipeClosed = errors.New("pipe closed")

func (p *pipeConn) ReadMessage() (int, []byte, error) {
	select {
	case b := <-p.in:
		return textMessage, b, nil
	case <-p.closed:
		return 0, nil, errPipeClosed
	}
}

func (p *pipeConn) WriteMessage(typ int, b []byte) error {
	if typ != textMessage {
		return nil
	}
	select {
	case p.out <- b:
		return nil
	case <-p.closed:
		return errPipeClosed
	}
}

func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }
func (p *pipeConn) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *pipeConn) next(t *testing.T) ServerFrame {
	t.Helper()
	select {
	case b := <-p.out:
		var f ServerFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame within 5s")
		return ServerFrame{}
	}
}
