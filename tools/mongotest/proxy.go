package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
)

// writeProxy sits between the clients and FerretDB and lets one write
// command at a time per collection through. FerretDB v1 applies a filtered
// update, replace, findAndModify or delete by reading the matching
// documents and then writing them back by _id, with nothing in between to
// stop another write: two conditional updates of the same version can both
// match and both "win". MongoDB applies each such write atomically per
// document, and the code Voronka runs in production relies on that. Holding
// a lock per collection from a write's request until FerretDB's reply
// gives the same guarantee (stronger, in fact: the whole command is
// isolated from other writes to its collection). Reads pass without the
// lock: each document a write changes is stored by one SQLite statement,
// so a read sees it before or after, as on MongoDB.
//
// The proxy speaks the wire protocol only as far as it needs to: it frames
// messages by their header and reads the command name, collection and
// database from an OP_MSG body. Everything else is forwarded as is. Each
// client connection gets its own connection to FerretDB, used strictly
// request then reply (FerretDB offers neither exhaust cursors nor
// streaming hello, so the driver never expects a reply it did not ask for).
// A write sent with moreToCome (unacknowledged, w:0) gets no reply to wait
// for; its lock is released once it is forwarded, so such writes are not
// isolated. Voronka never sends them.
type writeProxy struct {
	backend func(ctx context.Context) (net.Conn, error)
	log     *slog.Logger
	locks   keyedMutex
}

// Wire protocol constants (MongoDB's "Wire Protocol" specification).
const (
	headerLen      = 16
	opMsg          = 2013
	maxMessageLen  = 48 << 20 // maxMessageSizeBytes
	flagChecksum   = 1 << 0
	flagMoreToCome = 1 << 1
)

// writeCommands are the commands whose filter FerretDB evaluates apart
// from its write (lower case: MongoDB matches command names that way too,
// e.g. findandmodify).
var writeCommands = map[string]bool{
	"insert":        true,
	"update":        true,
	"delete":        true,
	"findandmodify": true,
}

// serve accepts connections until l is closed or ctx ends.
func (p *writeProxy) serve(ctx context.Context, l net.Listener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.handle(ctx, c)
		}()
	}
}

// handle relays one client connection until either side closes it.
func (p *writeProxy) handle(ctx context.Context, client net.Conn) {
	defer client.Close()
	server, err := p.backend(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "connect to ferretdb", "err", err)
		return
	}
	defer server.Close()
	stop := context.AfterFunc(ctx, func() {
		client.Close()
		server.Close()
	})
	defer stop()
	if err := p.relay(client, server); err != nil && ctx.Err() == nil {
		p.log.DebugContext(ctx, "connection ends", "remote", client.RemoteAddr(), "err", err)
	}
}

// relay forwards requests from client to server and replies back, taking
// the collection's write lock around each write command.
func (p *writeProxy) relay(client, server net.Conn) error {
	cr := bufio.NewReaderSize(client, 64<<10)
	sr := bufio.NewReaderSize(server, 64<<10)
	var req, reply []byte
	for {
		var err error
		req, err = readMessage(cr, req)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		if id, ok := isTestServerQuestion(req); ok {
			if _, err := client.Write(testServerAnswer(id)); err != nil {
				return fmt.Errorf("answer %s: %w", testServerCommand, err)
			}
			continue
		}
		unlock := func() {}
		if key, ok := writeTarget(req); ok {
			unlock = p.locks.lock(key)
		}
		err = p.exchange(client, server, sr, req, &reply)
		unlock()
		if err != nil {
			return err
		}
	}
}

// exchange sends req to server and, unless req expects no reply, relays
// the reply (and any that follow it with moreToCome) to client. The reply
// is read in full before it is passed on, so a write's lock is released
// only once FerretDB has applied it.
func (p *writeProxy) exchange(client, server net.Conn, sr *bufio.Reader, req []byte, reply *[]byte) error {
	if _, err := server.Write(req); err != nil {
		return fmt.Errorf("forward request: %w", err)
	}
	if msgFlags(req)&flagMoreToCome != 0 {
		return nil
	}
	for {
		var err error
		*reply, err = readMessage(sr, *reply)
		if err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		if _, err := client.Write(*reply); err != nil {
			return fmt.Errorf("return reply: %w", err)
		}
		if msgFlags(*reply)&flagMoreToCome == 0 {
			return nil
		}
	}
}

// readMessage reads one whole message (header included) into buf's storage.
func readMessage(r *bufio.Reader, buf []byte) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return buf, err
	}
	n := int(int32(binary.LittleEndian.Uint32(h[:])))
	if n < headerLen || n > maxMessageLen {
		return buf, fmt.Errorf("message length %d out of range", n)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, h[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return buf, fmt.Errorf("message body: %w", noEOF(err))
	}
	return buf, nil
}

// noEOF turns an EOF inside a message into an unexpected one.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// msgFlags returns an OP_MSG's flag bits, 0 for other messages.
func msgFlags(m []byte) uint32 {
	if len(m) < headerLen+4 || binary.LittleEndian.Uint32(m[12:16]) != opMsg {
		return 0
	}
	return binary.LittleEndian.Uint32(m[16:20])
}

// testServerCommand asks whether the server is this test server (the
// MongoDB store refuses a FerretDB v1 that does not serialize writes). The
// proxy answers it with {serializedWrites: true}; FerretDB and MongoDB
// would answer "no such command".
const testServerCommand = "voronkaTestServer"

// isTestServerQuestion reports whether m is testServerCommand and returns
// its request id.
func isTestServerQuestion(m []byte) (int32, bool) {
	doc, ok := commandBody(m)
	if !ok {
		return 0, false
	}
	first, err := doc.IndexErr(0)
	if err != nil || first.Key() != testServerCommand {
		return 0, false
	}
	return int32(binary.LittleEndian.Uint32(m[4:8])), true
}

// testServerAnswer is the OP_MSG reply to testServerCommand request id.
func testServerAnswer(id int32) []byte {
	doc, err := bson.Marshal(bson.D{{Key: "serializedWrites", Value: true}, {Key: "ok", Value: 1.0}})
	if err != nil {
		panic(err) // a constant document
	}
	m := binary.LittleEndian.AppendUint32(make([]byte, 0, headerLen+5+len(doc)), uint32(headerLen+5+len(doc)))
	m = binary.LittleEndian.AppendUint32(m, 0) // requestID
	m = binary.LittleEndian.AppendUint32(m, uint32(id))
	m = binary.LittleEndian.AppendUint32(m, opMsg)
	m = binary.LittleEndian.AppendUint32(m, 0) // flags
	m = append(m, 0)                           // section kind: body
	return append(m, doc...)
}

// writeTarget reports whether m is a write command and, if so, the
// namespace ("db.collection") it writes to: the command document's first
// element names the command and holds the collection, and $db names the
// database.
func writeTarget(m []byte) (string, bool) {
	doc, ok := commandBody(m)
	if !ok {
		return "", false
	}
	first, err := doc.IndexErr(0)
	if err != nil || !writeCommands[strings.ToLower(first.Key())] {
		return "", false
	}
	coll, _ := first.Value().StringValueOK()
	db, _ := doc.Lookup("$db").StringValueOK()
	return db + "." + coll, true
}

// commandBody returns the command document of OP_MSG m: its body section
// (kind 0). The body is the first section in every message the drivers
// send; if it comes later (the specification allows any order), it is
// still found.
func commandBody(m []byte) (bson.Raw, bool) {
	if len(m) < headerLen+5 || binary.LittleEndian.Uint32(m[12:16]) != opMsg {
		return nil, false
	}
	end := len(m)
	if msgFlags(m)&flagChecksum != 0 {
		end -= 4
	}
	for i := headerLen + 4; i < end; {
		kind := m[i]
		i++
		if i+4 > end {
			return nil, false
		}
		size := int(int32(binary.LittleEndian.Uint32(m[i : i+4])))
		if size < 4 || i+size > end {
			return nil, false
		}
		if kind != 0 {
			i += size // a document sequence (kind 1)
			continue
		}
		return bson.Raw(m[i : i+size]), true
	}
	return nil, false
}

// keyedMutex is a mutex per key, kept only while someone holds or waits
// for it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int // holding or waiting
}

// lock takes key's mutex and returns its release.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
