// Package notify is Voronka's notification bus: what one replica must tell
// the others now (a web chat reply for a socket held elsewhere, inbox
// events). Local serves one process (the bolt store); Polled carries
// notifications through a store.Notifications log (MongoDB) that every
// replica polls with one query. Delivery is at most once per subscriber and
// best effort across a crash: the store stays the system of record, the bus
// only makes things show up sooner.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
)

// Message is one notification as a subscriber gets it.
type Message struct {
	Topic   string
	Payload []byte
	// Origin is the Origin of the bus that published it: a subscriber can
	// skip what its own replica published.
	Origin string
}

// Bus publishes notifications to the subscribers of every replica.
type Bus interface {
	// Origin names this bus (this replica) in the messages it publishes.
	Origin() string
	// Publish sends payload under topic to every subscriber whose prefix
	// the topic starts with, on every replica, this one included. Messages
	// one caller publishes one after another reach each subscriber in that
	// order.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe calls fn for each message published after it returns whose
	// topic starts with prefix, until ctx ends. The bus calls its
	// subscribers one message at a time (Local on a publisher's goroutine,
	// Polled on its poller): fn must return quickly and not block on the
	// bus.
	Subscribe(ctx context.Context, prefix string, fn func(Message))
}

// NewOrigin returns a random name for a bus instance.
func NewOrigin() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// subscribers is the subscription list both buses share.
type subscribers struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	ctx    context.Context
	prefix string
	fn     func(Message)
}

func (s *subscribers) add(ctx context.Context, prefix string, fn func(Message)) {
	sub := &subscription{ctx: ctx, prefix: prefix, fn: fn}
	s.mu.Lock()
	if s.subs == nil {
		s.subs = make(map[*subscription]struct{})
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	})
}

// deliver calls every matching subscriber; callers deliver from one
// goroutine at a time so each subscriber sees the bus's order.
func (s *subscribers) deliver(m Message) {
	s.mu.Lock()
	var fns []func(Message)
	for sub := range s.subs {
		// A cancelled subscription gets nothing more even before
		// AfterFunc has removed it.
		if sub.ctx.Err() == nil && strings.HasPrefix(m.Topic, sub.prefix) {
			fns = append(fns, sub.fn)
		}
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(m)
	}
}

// Local is the bus of a single process.
type Local struct {
	origin string
	subs   subscribers

	mu       sync.Mutex
	queue    []Message
	draining bool
}

var _ Bus = (*Local)(nil)

// NewLocal makes an in-process bus.
func NewLocal() *Local { return &Local{origin: NewOrigin()} }

// Origin implements Bus.
func (l *Local) Origin() string { return l.origin }

// Publish implements Bus. The caller that finds the queue idle delivers
// everything queued meanwhile, so order holds without a goroutine, and a
// subscriber that publishes from fn only queues.
func (l *Local) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	l.queue = append(l.queue, Message{Topic: topic, Payload: payload, Origin: l.origin})
	if l.draining {
		l.mu.Unlock()
		return nil
	}
	l.draining = true
	for len(l.queue) > 0 {
		m := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		l.subs.deliver(m)
		l.mu.Lock()
	}
	l.draining = false
	l.mu.Unlock()
	return nil
}

// Subscribe implements Bus.
func (l *Local) Subscribe(ctx context.Context, prefix string, fn func(Message)) {
	l.subs.add(ctx, prefix, fn)
}
