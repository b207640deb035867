// Package notifytest is the conformance test every notify.Bus passes: what
// one replica publishes reaches the subscribers of every replica, in order
// per publisher, and nothing is lost or doubled when replicas publish at
// once.
package notifytest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/notify"
)

// Replicas returns two buses that behave as two replicas of one
// deployment (for a single-process bus, the same bus twice), running until
// t ends.
type Replicas func(t *testing.T) (a, b notify.Bus)

// deadline is generous on purpose: the machine is shared and the test
// server slow. The latency goal (1 s) is reported, not asserted.
const deadline = 30 * time.Second

// Run runs the conformance tests.
func Run(t *testing.T, replicas Replicas) {
	t.Run("ReachesEveryReplica", func(t *testing.T) { testReachesEveryReplica(t, replicas) })
	t.Run("OrderPerPublisher", func(t *testing.T) { testOrder(t, replicas) })
	t.Run("ConcurrentPublishersLoseNothing", func(t *testing.T) { testConcurrent(t, replicas) })
	t.Run("UnsubscribeStops", func(t *testing.T) { testUnsubscribe(t, replicas) })
}

// collector records what one subscription got.
type collector struct {
	mu   sync.Mutex
	got  []notify.Message
	at   []time.Time
	cond chan struct{}
}

func newCollector() *collector { return &collector{cond: make(chan struct{}, 1)} }

func (c *collector) fn(m notify.Message) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
	select {
	case c.cond <- struct{}{}:
	default:
	}
}

// wait waits until the collector holds n messages and returns them.
func (c *collector) wait(t *testing.T, n int) []notify.Message {
	t.Helper()
	timeout := time.After(deadline)
	for {
		c.mu.Lock()
		got := append([]notify.Message(nil), c.got...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.cond:
		case <-timeout:
			t.Fatalf("got %d of %d messages within %s", len(got), n, deadline)
		}
	}
}

func (c *collector) arrived(i int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[i]
}

func testReachesEveryReplica(t *testing.T, replicas Replicas) {
	a, b := replicas(t)
	ctx := t.Context()
	onA, onB, other := newCollector(), newCollector(), newCollector()
	a.Subscribe(ctx, "chat/", onA.fn)
	b.Subscribe(ctx, "chat/", onB.fn)
	b.Subscribe(ctx, "inbox/", other.fn)

	start := time.Now()
	if err := a.Publish(ctx, "chat/s1", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "inbox/bot1", []byte("event")); err != nil {
		t.Fatal(err)
	}
	gotB := onB.wait(t, 1)
	t.Logf("published on replica a, delivered on replica b after %s", onB.arrived(0).Sub(start))
	gotA := onA.wait(t, 1)
	gotOther := other.wait(t, 1)
	for name, got := range map[string][]notify.Message{"a": gotA, "b": gotB} {
		if len(got) != 1 || got[0].Topic != "chat/s1" || string(got[0].Payload) != "from a" || got[0].Origin != a.Origin() {
			t.Errorf("replica %s's chat/ subscriber got %+v, want the one chat/s1 message from %s", name, got, a.Origin())
		}
	}
	if len(gotOther) != 1 || gotOther[0].Topic != "inbox/bot1" {
		t.Errorf("the inbox/ subscriber got %+v, want only inbox/bot1", gotOther)
	}
	// The chat/ subscribers must not get inbox/: publish a marker after it
	// and check nothing came before the marker.
	if err := b.Publish(ctx, "chat/marker", nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*collector{"a": onA, "b": onB} {
		got := c.wait(t, 2)
		if got[1].Topic != "chat/marker" {
			t.Errorf("replica %s's chat/ subscriber got %q, which its prefix does not match", name, got[1].Topic)
		}
	}
}

func testOrder(t *testing.T, replicas Replicas) {
	a, b := replicas(t)
	ctx := t.Context()
	onB := newCollector()
	b.Subscribe(ctx, "order/", onB.fn)
	const n = 40
	for i := range n {
		if err := a.Publish(ctx, "order/one", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := onB.wait(t, n)
	for i, m := range got {
		if string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: order lost (%s)", i, m.Payload, payloads(got))
		}
	}
}

func testConcurrent(t *testing.T, replicas Replicas) {
	a, b := replicas(t)
	ctx := t.Context()
	onA, onB := newCollector(), newCollector()
	a.Subscribe(ctx, "load/", onA.fn)
	b.Subscribe(ctx, "load/", onB.fn)
	const writers, each = 3, 15 // per replica
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for r, bus := range []notify.Bus{a, b} {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				topic := fmt.Sprintf("load/%d-%d", r, w)
				for i := range each {
					if err := bus.Publish(ctx, topic, []byte(strconv.Itoa(i))); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	published := time.Now()
	total := 2 * writers * each
	for name, c := range map[string]*collector{"a": onA, "b": onB} {
		got := c.wait(t, total)
		t.Logf("replica %s: %d messages, the last %s after the last publish returned (%s from the first)",
			name, len(got), c.arrived(total-1).Sub(published), c.arrived(total-1).Sub(start))
		next := map[string]int{}
		for _, m := range got {
			i, _ := strconv.Atoi(string(m.Payload))
			if i != next[m.Topic] {
				t.Fatalf("replica %s: %s message %d came when %d was due", name, m.Topic, i, next[m.Topic])
			}
			next[m.Topic]++
		}
		for topic, n := range next {
			if n != each {
				t.Errorf("replica %s: %s got %d messages, want %d", name, topic, n, each)
			}
		}
		if len(next) != 2*writers {
			t.Errorf("replica %s: messages on %d topics, want %d", name, len(next), 2*writers)
		}
	}
	// Nothing more may come: a marker published after everything arrives
	// right after the total.
	if err := a.Publish(ctx, "load/marker", nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*collector{"a": onA, "b": onB} {
		got := c.wait(t, total+1)
		if len(got) != total+1 || got[total].Topic != "load/marker" {
			t.Errorf("replica %s got %d messages after the marker, want %d then the marker", name, len(got), total)
		}
	}
}

func testUnsubscribe(t *testing.T, replicas Replicas) {
	a, b := replicas(t)
	ctx := t.Context()
	sctx, cancel := context.WithCancel(ctx)
	gone, stays := newCollector(), newCollector()
	b.Subscribe(sctx, "u/", gone.fn)
	b.Subscribe(ctx, "u/", stays.fn)
	if err := a.Publish(ctx, "u/1", nil); err != nil {
		t.Fatal(err)
	}
	gone.wait(t, 1)
	cancel()
	if err := a.Publish(ctx, "u/2", nil); err != nil {
		t.Fatal(err)
	}
	stays.wait(t, 2)
	// Delivery is serial: once a later message reached stays, u/2 has
	// been offered to every subscriber.
	if err := a.Publish(ctx, "u/3", nil); err != nil {
		t.Fatal(err)
	}
	stays.wait(t, 3)
	if got := gone.wait(t, 1); len(got) != 1 {
		t.Errorf("a cancelled subscription got %s", payloadsTopics(got))
	}
}

func payloads(ms []notify.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Payload))
	}
	return strings.Join(s, ",")
}

func payloadsTopics(ms []notify.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Topic)
	}
	return strings.Join(s, ",")
}
