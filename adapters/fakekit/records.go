package fakekit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed: the records were closed while a caller waited.
var ErrClosed = errors.New("fakekit: closed")

// Records are what a bot sent, kept per chat in order, with waiters that
// wake on a change of their own chat only (a load test has thousands of
// chats waiting). Safe for concurrent use; the zero value is not usable,
// use NewRecords (or NewLeanRecords, which only counts).
type Records[T any] struct {
	mu     sync.Mutex
	lean   bool
	total  int
	counts map[string]int           // records per chat, kept or not
	all    []T                      // nil when lean
	byChat map[string][]int         // indexes into all; empty when lean
	notify chan struct{}            // closed at the next change of any chat
	chat   map[string]chan struct{} // closed at the next change of one chat
	closed bool
}

// NewRecords returns empty records.
func NewRecords[T any]() *Records[T] {
	return &Records[T]{counts: map[string]int{}, byChat: map[string][]int{}, chat: map[string]chan struct{}{}}
}

// NewLeanRecords returns records that count what is added, per chat, and
// keep none of it: Chat and All answer nothing, the waits and Len work. A
// load run adds thousands of messages a second for minutes, and keeping
// them grew its heap by megabytes a second, whose collections then took
// the cores from the server being measured.
func NewLeanRecords[T any]() *Records[T] {
	r := NewRecords[T]()
	r.lean = true
	return r
}

// Add appends v to chat's records and wakes its waiters.
func (r *Records[T]) Add(chat string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[chat]++
	r.total++
	if !r.lean {
		r.byChat[chat] = append(r.byChat[chat], len(r.all))
		r.all = append(r.all, v)
	}
	if ch := r.chat[chat]; ch != nil {
		close(ch)
		delete(r.chat, chat)
	}
	r.wakeAllLocked(false)
}

func (r *Records[T]) wakeAllLocked(chats bool) {
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
	if chats {
		for k, ch := range r.chat {
			close(ch)
			delete(r.chat, k)
		}
	}
}

// Chat returns chat's records, oldest first (none when lean).
func (r *Records[T]) Chat(chat string) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chatLocked(chat)
}

func (r *Records[T]) chatLocked(chat string) []T {
	idx := r.byChat[chat]
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = r.all[j]
	}
	return out
}

// All returns every record, oldest first (none when lean).
func (r *Records[T]) All() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.all...)
}

// Len is the number of records.
func (r *Records[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Clear forgets every record and count.
func (r *Records[T]) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all, r.byChat, r.counts, r.total = nil, map[string][]int{}, map[string]int{}, 0
	r.wakeAllLocked(true)
}

// Close wakes every waiter with ErrClosed.
func (r *Records[T]) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.wakeAllLocked(true)
}

// Wait blocks until chat has at least n records (or ctx ends) and returns
// them all (none when lean: use WaitCount).
func (r *Records[T]) Wait(ctx context.Context, chat string, n int) ([]T, error) {
	var out []T
	err := r.wait(ctx, chat, n, func() { out = r.chatLocked(chat) })
	return out, err
}

// WaitCount is Wait returning how many records chat has instead of a copy
// of them: a load run waits once per message, and copying a chat's whole
// history each time made the load tool's garbage grow with the run's
// length until its collections took the cores from the server it measured.
func (r *Records[T]) WaitCount(ctx context.Context, chat string, n int) (int, error) {
	var have int
	err := r.wait(ctx, chat, n, func() { have = r.counts[chat] })
	return have, err
}

// wait blocks until chat has at least n records, then calls got with the
// lock held.
func (r *Records[T]) wait(ctx context.Context, chat string, n int, got func()) error {
	for {
		r.mu.Lock()
		have := r.counts[chat]
		if have >= n {
			got()
			r.mu.Unlock()
			return nil
		}
		if r.closed {
			r.mu.Unlock()
			return ErrClosed
		}
		ch := r.chat[chat]
		if ch == nil {
			ch = make(chan struct{})
			r.chat[chat] = ch
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d messages in chat %s (have %d): %w", n, chat, have, ctx.Err())
		}
	}
}

// WaitAll blocks until there are at least n records in all.
func (r *Records[T]) WaitAll(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		have := r.total
		if have >= n {
			r.mu.Unlock()
			return nil
		}
		if r.closed {
			r.mu.Unlock()
			return ErrClosed
		}
		if r.notify == nil {
			r.notify = make(chan struct{})
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d messages (have %d): %w", n, have, ctx.Err())
		}
	}
}
