package runtime_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/egress"
	"github.com/voronka/voronka/internal/testmongo"
)

func TestMain(m *testing.M) { testmongo.Main(m) }

// testFlow exercises every kind of work the runtime does: buttons with a
// reply timeout, a question loop, a delay, a webhook and a handoff.
const testFlow = `
voronka: 1
id: t
start: hello
expire: 1d
vars:
  name: string
  crm: object
triggers:
  - command: /start
    goto: hello
    reset: true
  - keywords: [manager]
    goto: human
nodes:
  hello:
    type: buttons
    text: "Hi {{ contact.first_name }}"
    buttons:
      - { label: "Ask", next: ask }
      - { label: "Wait", next: pause }
      - { label: "Hook", next: hook }
    timeout: { after: 1h, next: nudge }
  nudge:
    type: message
    text: "Still there?"
    next: hello
  ask:
    type: question
    text: "Your name?"
    save: name
    next: echo
  echo:
    type: message
    text: "Echo {{ name }}"
    next: ask
  pause:
    type: delay
    for: 10m
    next: later
  later:
    type: end
    text: "Later!"
  hook:
    type: webhook
    method: POST
    url: "{{ env.HOOK_URL }}/lead"
    body: { name: "{{ contact.first_name }}" }
    save: crm
    next: hooked
    on_error: hook_failed
  hooked:
    type: end
    text: "Hooked"
  hook_failed:
    type: end
    text: "Hook failed"
  human:
    type: handoff
    text: "Connecting"
    queue: sales
    resume: back
  back:
    type: message
    text: "Bot again"
    next: ask
`

const bot = "b1"

func compile(tb testing.TB, name string, src []byte) *engine.Program {
	tb.Helper()
	f, ps := flow.Load(name, src)
	if ps.HasErrors() {
		tb.Fatalf("flow %s: %v", name, ps.Errors())
	}
	p, err := engine.Compile(f, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// backend opens a fresh store of one kind.
type backend struct {
	name string
	open func(tb testing.TB) store.Store
}

func openBolt(tb testing.TB) store.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "v.db"), &bolt.Options{MaxBatchDelay: time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// openMongoDB opens db on the test server; two calls with one name give two
// clients of one database, like two replicas.
func openMongoDB(tb testing.TB, db string) store.Store { return openMongoDBWith(tb, db, nil) }

// smallPool is the pool the FerretDB test server copes with (see the mongo
// package doc): many concurrent requests slow it down sharply.
var smallPool = &mongo.Options{MaxPoolSize: 4, OpTimeout: time.Minute}

// openMongoDBWith is openMongoDB with store options.
func openMongoDBWith(tb testing.TB, db string, o *mongo.Options) store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := mongo.Open(ctx, testmongo.URI(tb), db, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func openMongo(tb testing.TB) store.Store { return openMongoDB(tb, testmongo.DBName(tb)) }

var backends = []backend{{"bolt", openBolt}, {"mongo", openMongo}}

// eachBackend runs f against every store implementation.
func eachBackend(t *testing.T, f func(t *testing.T, open func(testing.TB) store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.open) })
	}
}

// fakeSender records what it is asked to send, per chat, and fails sends
// as a test scripts it.
type fakeSender struct {
	mu   sync.Mutex
	sent map[string][]channel.Outbound
	ids  map[string]int // message id → times delivered
	n    int
	// fail, when set, decides the outcome of each call (nil = success).
	fail func(msg channel.Outbound, call int) error
	// gate, when set, is waited on before sending to its chat.
	gate map[string]chan struct{}
}

func newFakeSender() *fakeSender {
	return &fakeSender{sent: map[string][]channel.Outbound{}, ids: map[string]int{}, gate: map[string]chan struct{}{}}
}

func (f *fakeSender) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	f.mu.Lock()
	g := f.gate[msg.Chat]
	f.mu.Unlock()
	if g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return channel.Sent{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.fail != nil {
		if err := f.fail(msg, f.n); err != nil {
			return channel.Sent{}, err
		}
	}
	f.sent[msg.Chat] = append(f.sent[msg.Chat], msg)
	f.ids[msg.ID]++
	return channel.Sent{PlatformID: fmt.Sprint(f.n)}, nil
}

func (f *fakeSender) texts(chat string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent[chat] {
		out = append(out, m.Text)
	}
	return out
}

func (f *fakeSender) sentTo(chat string) []channel.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent[chat])
}

func (f *fakeSender) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ms := range f.sent {
		n += len(ms)
	}
	return n
}

// duplicates lists message ids delivered more than once.
func (f *fakeSender) duplicates() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, n := range f.ids {
		if n > 1 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type harness struct {
	t     testing.TB
	st    store.Store
	clock *runtime.ManualClock
	snd   *fakeSender
	rt    *runtime.Runtime
	prog  *engine.Program
	env   map[string]string
}

type option func(*runtime.Config)

func withStore(st store.Store) option { return func(c *runtime.Config) { c.Store = st } }

func withFlows(f runtime.Flows) option { return func(c *runtime.Config) { c.Flows = f } }

func withLimits(l channel.Limits) option {
	return func(c *runtime.Config) {
		ch := c.Channels["telegram"]
		ch.Limits = l
		c.Channels["telegram"] = ch
	}
}

func newHarness(tb testing.TB, st store.Store, opts ...option) *harness {
	tb.Helper()
	h := &harness{t: tb, st: st, clock: runtime.NewManualClock(t0), snd: newFakeSender(), env: map[string]string{}}
	h.prog = compile(tb, "t.yaml", []byte(testFlow))
	h.rt = h.newRuntime(opts...)
	return h
}

// newRuntime builds another runtime on the same store, clock and sender: a
// second replica, or the process that starts after a crash.
func (h *harness) newRuntime(opts ...option) *runtime.Runtime {
	cfg := runtime.Config{
		Store: h.st, Flows: runtime.StaticFlows{bot: h.prog}, Clock: h.clock,
		Logger:   testLogger(),
		Channels: map[string]runtime.Channel{"telegram": {Sender: h.snd}},
		Options: runtime.Options{
			SendBackoff: time.Second,
			// The tests' CRMs listen on loopback, which the default client refuses.
			HTTPClient: egress.NewClient(egress.Options{Allow: egress.MustParseAllowlist("127.0.0.1")}),
			LookupEnv: func(k string) (string, bool) {
				v, ok := h.env[k]
				return v, ok
			},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	rt, err := runtime.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Shutdown(ctx)
	})
	return rt
}

// testLogger discards the runtime's logs unless VORONKA_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("VORONKA_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (h *harness) run(rt *runtime.Runtime) {
	h.t.Helper()
	if err := rt.Run(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func inbound(chat, update, text string) channel.Inbound {
	return channel.Inbound{Bot: bot, Channel: "telegram", Chat: chat, UpdateID: update, Kind: channel.KindText,
		Text: text, Contact: engine.Contact{FirstName: "Anna"}, Time: t0}
}

func (h *harness) text(rt *runtime.Runtime, chat, update, text string) {
	h.t.Helper()
	if err := rt.Handle(context.Background(), inbound(chat, update, text)); err != nil {
		h.t.Fatalf("handle %s %q: %v", update, text, err)
	}
}

func (h *harness) press(rt *runtime.Runtime, chat, update, label string) {
	h.t.Helper()
	var payload string
	for _, n := range h.prog.Flow.Nodes {
		if p, ok := h.prog.PayloadFor(n.ID, label); ok {
			payload = p
			break
		}
	}
	if payload == "" {
		h.t.Fatalf("no button %q", label)
	}
	in := inbound(chat, update, "")
	in.Kind, in.Payload = channel.KindPress, payload
	if err := rt.Handle(context.Background(), in); err != nil {
		h.t.Fatalf("press %q: %v", label, err)
	}
}

func (h *harness) conv(chat string) *store.Conversation {
	h.t.Helper()
	c, err := h.st.GetConversation(context.Background(), store.ConversationID(bot, "telegram", chat))
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// eventually polls cond for up to 20 s of real time, calling step (which may
// advance the manual clock) between polls. It never asserts on timing.
func eventually(tb testing.TB, what string, step func(), cond func() bool) {
	tb.Helper()
	eventuallyWithin(tb, 20*time.Second, what, step, cond)
}

// eventuallyWithin is eventually with a longer patience, for the slow
// FerretDB test server.
func eventuallyWithin(tb testing.TB, patience time.Duration, what string, step func(), cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting: %s", what)
		}
		if step != nil {
			step()
		}
		time.Sleep(time.Millisecond)
	}
}

// waitTexts waits until chat received exactly want (and fails on more).
func (h *harness) waitTexts(chat string, want ...string) {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("chat %s to receive %q", chat, want), nil, func() bool {
		return len(h.snd.texts(chat)) >= len(want)
	})
	if got := h.snd.texts(chat); !slices.Equal(got, want) {
		h.t.Fatalf("chat %s got\n%q\nwant\n%q", chat, got, want)
	}
}

// settle waits until the runtime has nothing in flight: no outbox being
// sent and no job due now.
func (h *harness) settle(rt *runtime.Runtime) {
	h.t.Helper()
	h.settleWithin(rt, 20*time.Second)
}

func (h *harness) settleWithin(rt *runtime.Runtime, patience time.Duration) {
	h.t.Helper()
	eventuallyWithin(h.t, patience, "runtime to settle", nil, func() bool {
		s, err := rt.Stats(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if s.Sending > 0 || s.JobsActive > 0 {
			return false
		}
		n, err := rt.RunDueJobs(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if n > 0 {
			return false
		}
		s, _ = rt.Stats(context.Background())
		return s.Sending == 0 && s.JobsActive == 0
	})
}

func (h *harness) events(typ string) []store.Event {
	h.t.Helper()
	evs, _, err := h.st.QueryEvents(context.Background(), store.EventQuery{Bot: bot, Types: []string{typ}, Limit: store.MaxLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// delayFlow starts with a ten-minute delay, so a conversation's first update
// sets one timer: the scale test and the timer benchmark use it.
const delayFlow = `
voronka: 1
id: d
start: pause
nodes:
  pause:
    type: delay
    for: 10m
    next: later
  later:
    type: end
    text: "Later!"
`
