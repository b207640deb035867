package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

var errKilled = errors.New("process killed")

// killable is a process's view of the shared store: after kill every call
// fails, as for a process killed with SIGKILL (its goroutines may still
// run in the test, but nothing they do reaches the store).
type killable struct {
	store.Store
	dead *atomic.Bool
	// noLines, when set, fails transcript appends only (the store refused
	// that one insert).
	noLines *atomic.Bool
	// lost holds, per conversation, the ids of sent events the kill kept
	// out of the store (a set: the dead process may try again): messages
	// the platform got whose delivery was not yet recorded, i.e. in flight
	// at the kill.
	lost *sync.Map
}

func (k killable) err() error {
	if k.dead.Load() {
		return errKilled
	}
	return nil
}

func (k killable) GetConversation(ctx context.Context, id string) (*store.Conversation, error) {
	if err := k.err(); err != nil {
		return nil, err
	}
	return k.Store.GetConversation(ctx, id)
}

func (k killable) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	if err := k.err(); err != nil {
		return err
	}
	return k.Store.CommitConversation(ctx, ch)
}

func (k killable) AppendMessages(ctx context.Context, msgs ...store.Message) error {
	if err := k.err(); err != nil {
		return err
	}
	if k.noLines.Load() {
		return errors.New("transcript insert refused")
	}
	return k.Store.AppendMessages(ctx, msgs...)
}

func (k killable) AppendEvents(ctx context.Context, events ...store.Event) error {
	if err := k.err(); err != nil {
		for _, e := range events {
			if e.Type == "sent" {
				ids, _ := k.lost.LoadOrStore(e.Conversation, new(sync.Map))
				ids.(*sync.Map).Store(e.ID, true)
			}
		}
		return err
	}
	return k.Store.AppendEvents(ctx, events...)
}

func (k killable) StoredEvents(ctx context.Context, keys []store.EventKey) ([]string, error) {
	if err := k.err(); err != nil {
		return nil, err
	}
	return k.Store.StoredEvents(ctx, keys)
}

func (k killable) ScheduleJob(ctx context.Context, j store.Job) error {
	if err := k.err(); err != nil {
		return err
	}
	return k.Store.ScheduleJob(ctx, j)
}

func (k killable) ClaimJobs(ctx context.Context, owner string, now time.Time, limit int, lease time.Duration) ([]store.Job, error) {
	if err := k.err(); err != nil {
		return nil, err
	}
	return k.Store.ClaimJobs(ctx, owner, now, limit, lease)
}

func (k killable) CancelJob(ctx context.Context, id string) error {
	if err := k.err(); err != nil {
		return err
	}
	return k.Store.CancelJob(ctx, id)
}

func (k killable) RenewLease(ctx context.Context, owner string, until time.Time) error {
	if err := k.err(); err != nil {
		return err
	}
	return k.Store.RenewLease(ctx, owner, until)
}

func (k killable) GetLease(ctx context.Context, owner string) (store.Lease, error) {
	if err := k.err(); err != nil {
		return store.Lease{}, err
	}
	return k.Store.GetLease(ctx, owner)
}

func (k killable) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]store.Lease, error) {
	if err := k.err(); err != nil {
		return nil, err
	}
	return k.Store.ExpiredLeases(ctx, now, limit)
}

func (k killable) FindOutboxes(ctx context.Context, owner, after string, limit int) ([]store.Conversation, string, error) {
	if err := k.err(); err != nil {
		return nil, "", err
	}
	return k.Store.FindOutboxes(ctx, owner, after, limit)
}

// killSender is a process's connection to the platform: after kill it
// reaches nothing. A send that began before the kill completes (it was in
// flight: the platform got it).
type killSender struct {
	inner channel.Sender
	dead  *atomic.Bool
	clock *runtime.ManualClock
	mu    sync.Mutex
	first time.Time // clock time of this process's first send
	// hold, when set, stops the next send to chat holdChat until it is
	// closed (held is closed once a send waits there): a send in flight.
	holdChat   string
	hold, held chan struct{}
}

func (k *killSender) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	if k.dead.Load() {
		return channel.Sent{}, errKilled
	}
	k.mu.Lock()
	if k.first.IsZero() {
		k.first = k.clock.Now()
	}
	var hold chan struct{}
	if k.hold != nil && msg.Chat == k.holdChat {
		hold = k.hold
		k.hold = nil
		close(k.held)
	}
	k.mu.Unlock()
	if hold != nil {
		<-hold
	}
	time.Sleep(time.Millisecond) // the request travels
	return k.inner.Send(ctx, msg)
}

// process is one runtime with its own view of the store and the platform.
type process struct {
	rt      *runtime.Runtime
	dead    *atomic.Bool
	noLines *atomic.Bool
	snd     *killSender
	lost    *sync.Map
}

func (h *harness) process(opts ...option) *process {
	p := &process{dead: new(atomic.Bool), noLines: new(atomic.Bool), lost: new(sync.Map)}
	p.snd = &killSender{inner: h.snd, dead: p.dead, clock: h.clock}
	st := killable{Store: h.st, dead: p.dead, noLines: p.noLines, lost: p.lost}
	opts = append([]option{withStore(st), func(c *runtime.Config) {
		ch := c.Channels["telegram"]
		ch.Sender = p.snd
		c.Channels["telegram"] = ch
	}}, opts...)
	p.rt = h.newRuntime(opts...)
	return p
}

// Two processes share a store; one is killed in the middle of delivering
// while its chats keep writing (to the other). The other adopts what the
// dead one left within its lease, every chat gets every reply in order,
// and only a send in flight at the kill goes out twice.
func TestKilledProcessOutboxIsAdoptedPromptlyWithoutResendStorm(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		slow := withLimits(channel.Limits{PerChatSecond: 1, PerChatBurst: 1})
		a, b := h.process(slow), h.process(slow)
		h.run(a.rt)
		h.run(b.rt)
		const chats = 12
		chat := func(i int) string { return fmt.Sprint(100 + i) }
		for i := range chats {
			c := chat(i)
			h.text(a.rt, c, c+"-1", "hello")
			h.press(a.rt, c, c+"-2", "Ask")
			h.text(a.rt, c, c+"-3", "Bob")
		}
		// A delivers about two replies per chat (one a second), then dies.
		eventually(t, "a to deliver some", func() {
			time.Sleep(2 * time.Millisecond)
			h.clock.Advance(100 * time.Millisecond)
		}, func() bool { return h.snd.total() >= chats*3/2 })
		// The kill comes while one send is on its way.
		release := make(chan struct{})
		a.snd.mu.Lock()
		a.snd.holdChat, a.snd.hold, a.snd.held = chat(0), release, make(chan struct{})
		held := a.snd.held
		a.snd.mu.Unlock()
		eventually(t, "a send to be on its way", func() {
			time.Sleep(2 * time.Millisecond)
			h.clock.Advance(100 * time.Millisecond)
		}, func() bool {
			select {
			case <-held:
				return true
			default:
				return false
			}
		})
		a.dead.Store(true)
		close(release)
		killed := h.clock.Now()
		// The chats keep writing, now through B.
		for i := range chats {
			c := chat(i)
			h.text(b.rt, c, c+"-4", "Ann")
		}
		want := []string{"Hi Anna", "Your name?", "Echo Bob", "Your name?", "Echo Ann", "Your name?"}
		// Slow steps: the clock measures how soon B takes over, so B must
		// keep up with it (the Mongo test server is slow).
		eventuallyWithin(t, 2*time.Minute, "every reply", func() {
			time.Sleep(10 * time.Millisecond)
			h.clock.Advance(100 * time.Millisecond)
		}, func() bool {
			for i := range chats {
				if len(dedupeAdjacent(h.snd.sentTo(chat(i)))) < len(want) {
					return false
				}
			}
			return true
		})
		h.settle(b.rt)
		inflight := map[string]int{}
		a.lost.Range(func(k, v any) bool {
			c, _ := h.st.GetConversation(context.Background(), k.(string))
			v.(*sync.Map).Range(func(any, any) bool {
				inflight[c.Chat]++
				return true
			})
			return true
		})
		dups := 0
		for i := range chats {
			c := chat(i)
			// A reply sent twice in a row is the in-flight duplicate; any
			// other repetition is out of order.
			if got := dedupeAdjacent(h.snd.sentTo(c)); !slices.Equal(got, want) {
				t.Errorf("chat %s got %q, want %q in order", c, h.snd.texts(c), want)
			}
			n := len(h.snd.texts(c)) - len(want)
			if n > inflight[c] || n > 1 {
				t.Errorf("chat %s got %d duplicates with %d sends in flight at the kill", c, n, inflight[c])
			}
			dups += n
		}
		// The transcript lost nothing either: on MongoDB a step's lines
		// ride in the outbox until the reply's delivery is recorded, so
		// those of A's undelivered items were written by B.
		for i := range chats {
			c := chat(i)
			lines, _, err := h.st.ListMessages(context.Background(), store.ConversationID(bot, "telegram", c), "", store.MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			var in, out []string
			for _, l := range lines {
				if l.Direction == store.DirectionIn {
					in = append(in, l.Text)
				} else {
					out = append(out, l.Text)
				}
			}
			slices.Sort(out)
			wantOut := slices.Sorted(slices.Values(want))
			if !slices.Equal(in, []string{"hello", "Ask", "Bob", "Ann"}) || !slices.Equal(out, wantOut) {
				t.Errorf("chat %s transcript: in %q, out %q; want every message and reply once", c, in, out)
			}
		}
		t.Logf("%d duplicates, %d sends in flight at the kill", dups, total(inflight))
		if total(inflight) == 0 {
			t.Error("no send was in flight at the kill")
		}
		b.snd.mu.Lock()
		first := b.snd.first
		b.snd.mu.Unlock()
		if d := first.Sub(killed); d > 6*time.Second {
			t.Errorf("B's first send came %s after the kill; want within the 3 s lease and a heartbeat or two", d)
		}
		if d := h.snd.duplicates(); len(d) > total(inflight) {
			t.Errorf("%d messages delivered twice (%v), more than the %d in flight", len(d), d, total(inflight))
		}
	})
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// dedupeAdjacent drops a message delivered again right after itself (same
// id): the in-flight duplicate.
func dedupeAdjacent(ms []channel.Outbound) []string {
	var out []string
	for i, m := range ms {
		if i > 0 && ms[i-1].ID == m.ID {
			continue
		}
		out = append(out, m.Text)
	}
	return out
}

// A process sent a reply and stored its sent event, but the store refused
// the transcript lines that go with it (on MongoDB the step's lines ride in
// the outbox until that moment), and then the process died: the process
// that takes over the dead one's outboxes writes the lines. Until its
// death the process kept the lines to write again, and sent nothing twice.
func TestTranscriptOfADeadProcessDeliveryIsWrittenByTheAdopter(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		a, b := h.process(), h.process()
		h.run(a.rt)
		h.run(b.rt)
		const c = "300"
		a.noLines.Store(true)
		h.text(a.rt, c, "u1", "hello")
		eventually(t, "the reply to go out", nil, func() bool { return h.snd.total() == 1 })
		// A tries again to write what the store refused, a few times.
		for range 5 {
			time.Sleep(5 * time.Millisecond)
			h.clock.Advance(500 * time.Millisecond)
		}
		a.dead.Store(true)
		id := store.ConversationID(bot, "telegram", c)
		eventually(t, "the adopter to write the transcript", func() {
			time.Sleep(5 * time.Millisecond)
			h.clock.Advance(200 * time.Millisecond)
		}, func() bool {
			lines, _, err := h.st.ListMessages(context.Background(), id, "", store.MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			return len(lines) == 2
		})
		lines, _, _ := h.st.ListMessages(context.Background(), id, "", store.MaxLimit)
		if lines[0].Text != "hello" || lines[1].Text != "Hi Anna" {
			t.Errorf("transcript %q, %q; want the message and its reply", lines[0].Text, lines[1].Text)
		}
		h.settle(b.rt)
		if got := h.snd.texts(c); len(got) != 1 {
			t.Errorf("sent %q, want the reply once", got)
		}
	})
}
