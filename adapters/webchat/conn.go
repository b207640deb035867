package webchat

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Conn is the part of a WebSocket connection the hub uses. It is the method
// set shared by gorilla/websocket, fasthttp/websocket and Fiber's
// websocket.Conn (which embeds the latter), so the server passes its
// connection as it is and tests can use a real client/server pair without
// this package knowing any framework.
//
// The hub calls ReadMessage from one goroutine and WriteMessage and the
// deadline setters from another (its writer); Close may come from any
// goroutine, which is what those libraries allow.
type Conn interface {
	ReadMessage() (messageType int, data []byte, err error)
	WriteMessage(messageType int, data []byte) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// readLimiter is implemented by the gorilla-style connections: with it the
// library itself refuses an oversized frame before buffering it.
type readLimiter interface {
	SetReadLimit(limit int64)
}

// WebSocket message types and close codes (RFC 6455), the same numbers the
// websocket libraries export.
const (
	textMessage  = 1
	closeMessage = 8

	closeNormal          = 1000
	closeGoingAway       = 1001
	closePolicyViolation = 1008
	closeTooBig          = 1009
	closeTryAgainLater   = 1013
)

// Reasons the hub ends a connection itself.
var (
	// ErrSlowClient: the client did not read its frames fast enough and its
	// write queue overflowed. It may reconnect and catch up from the backlog.
	ErrSlowClient = errors.New("webchat: client too slow, write queue full")
	// ErrFlood: the client kept sending past its frame rate.
	ErrFlood = errors.New("webchat: client exceeded the frame rate")
	// ErrBadHello: the hello was missing, late or refused.
	ErrBadHello = errors.New("webchat: bad hello")
	// errWrite: a write failed or timed out; the connection is gone.
	errWrite = errors.New("webchat: write failed")
)

// outFrame is one queued write; a non-zero closeCode ends the connection
// with a close frame after everything queued before it.
type outFrame struct {
	data      []byte
	closeCode int
}

// client is one open connection. Everything written to it goes through its
// queue and one writer goroutine, so a slow reader costs a bounded queue and
// never blocks Send for anybody else. The writer runs only while there is
// something to write and the queue is dropped when it empties: an idle
// connection (most of them, most of the time) holds neither a goroutine
// stack nor a queue, which halved what a crowd of open chats costs.
type client struct {
	conn    Conn
	limit   int           // frames the queue may hold
	timeout time.Duration // per write

	mu      sync.Mutex
	queue   []outFrame
	writing bool // a writer goroutine is running
	closing bool // a close frame is queued: nothing goes after it
	writers sync.WaitGroup

	dead     chan struct{} // closed by kill
	flushed  chan struct{} // closed once the close frame was written
	killOnce sync.Once
	reason   error // why kill was called; read after dead is closed
}

func newClient(conn Conn, queue int, writeTimeout time.Duration) *client {
	return &client{
		conn:    conn,
		limit:   queue,
		timeout: writeTimeout,
		dead:    make(chan struct{}),
		flushed: make(chan struct{}),
	}
}

// push queues a frame without blocking. A full queue means the client does
// not keep up: it is dropped (and may come back for the backlog) rather
// than let memory grow or make the sender wait.
func (c *client) push(b []byte) bool {
	return c.enqueue(outFrame{data: b})
}

func (c *client) enqueue(f outFrame) bool {
	select {
	case <-c.dead:
		return false
	default:
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.limit {
		c.mu.Unlock()
		// Called under the hub's lock: close the socket in the background,
		// since closing a TLS connection may itself wait for a write.
		c.killOnce.Do(func() {
			c.reason = ErrSlowClient
			close(c.dead)
			go c.conn.Close()
		})
		return false
	}
	c.queue = append(c.queue, f)
	c.closing = f.closeCode != 0
	start := !c.writing
	if start {
		c.writing = true
		c.writers.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

// kill ends the connection now, dropping whatever is queued. The first
// reason wins.
func (c *client) kill(reason error) {
	c.killOnce.Do(func() {
		c.reason = reason
		close(c.dead)
		_ = c.conn.Close()
	})
}

// killed reports why the client was killed, or nil.
func (c *client) killed() error {
	select {
	case <-c.dead:
		return c.reason
	default:
		return nil
	}
}

// finish ends the connection politely: the frames queued so far, then a
// close frame with code and reason, then the socket closes. It waits for the
// writer at most one write timeout before cutting it off.
func (c *client) finish(code int, reason string) {
	payload := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	payload = append(payload, clip(reason, 120)...)
	if c.enqueue(outFrame{data: payload, closeCode: code}) {
		t := time.NewTimer(c.timeout)
		select {
		case <-c.flushed:
		case <-c.dead:
		case <-t.C:
		}
		t.Stop()
	} else if c.killed() == nil {
		c.kill(ErrSlowClient)
	}
	c.kill(nil)
	// Nothing is queued after this, so no writer starts once Wait began.
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.writers.Wait()
}

// writeLoop writes queued frames until the queue is empty, then ends.
func (c *client) writeLoop() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.killed() != nil {
			c.writing = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		// Network deadlines are on the wall clock, whatever Clock the
		// hub was given.
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if f.closeCode != 0 {
			_ = c.conn.WriteMessage(closeMessage, f.data)
			close(c.flushed)
			c.mu.Lock()
			c.writing, c.queue = false, nil
			c.mu.Unlock()
			return
		}
		if err := c.conn.WriteMessage(textMessage, f.data); err != nil {
			c.kill(errWrite)
			c.mu.Lock()
			c.writing, c.queue = false, nil
			c.mu.Unlock()
			return
		}
	}
}
