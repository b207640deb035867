package live_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/live"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/internal/sealed"
)

// fakeType is a channel type whose channels record what happens to them:
// Run polls (blocks) until its context ends.
type fakeType struct {
	mu      sync.Mutex
	built   []channel.Config
	running map[string]int // owner tag -> channels running a receiver
	runs    atomic.Int32
	env     channel.Env
}

func (f *fakeType) typ() channel.Type {
	return channel.Type{Name: "fake", Caps: channel.Capabilities{ButtonsPerMessage: 3}, NeedsToken: true,
		Open: func(env channel.Env) (channel.Adapter, error) { f.env = env; return f, nil }}
}

func (f *fakeType) Build(cfg channel.Config) (channel.Channel, error) {
	if cfg.Token == "bad" {
		return nil, channel.ErrBadConfig
	}
	f.mu.Lock()
	f.built = append(f.built, cfg)
	f.mu.Unlock()
	return &fakeChannel{f: f, cfg: cfg}, nil
}

type fakeChannel struct {
	f   *fakeType
	cfg channel.Config
}

func (c *fakeChannel) Send(ctx context.Context, m channel.Outbound) (channel.Sent, error) {
	return channel.Sent{PlatformID: c.cfg.Token + ":" + m.Text}, nil
}

func (c *fakeChannel) Status() channel.Status {
	return channel.Status{State: channel.StateConnected, Account: c.cfg.Token}
}

func (c *fakeChannel) Run(ctx context.Context) error {
	c.f.runs.Add(1)
	<-ctx.Done()
	c.f.runs.Add(-1)
	return ctx.Err()
}

type nopHandler struct{}

func (nopHandler) Handle(context.Context, channel.Inbound) error { return nil }

func newSet(t *testing.T, st live.Store, ft *fakeType, owner string, box *sealed.Box, now func() time.Time) *live.Set {
	t.Helper()
	reg, err := channel.NewRegistry(ft.typ())
	if err != nil {
		t.Fatal(err)
	}
	s, err := live.New(live.Config{Store: st, Registry: reg, Owner: owner, Box: box, LeaseTTL: 3 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Now: now, Env: channel.Env{PublicURL: "https://bots.example.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetHandler(nopHandler{})
	return s
}

func openStore(t *testing.T) store.Store {
	st, err := bolt.Open(t.TempDir()+"/v.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

func TestSetFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	box, _ := sealed.New("key")
	sealedTok, _ := box.Seal("tok-1")
	must(t, st.PutBot(ctx, store.Bot{ID: "shop", Channels: []store.Channel{{Type: "fake", Token: sealedTok}, {Type: "gone-type"}}}))
	ft := &fakeType{}
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	s := newSet(t, st, ft, "r1", box, func() time.Time { return now })
	must(t, s.Reconcile(ctx))
	ch, ok := s.Channel("fake", "shop")
	if !ok || len(ft.built) != 1 || ft.built[0].Token != "tok-1" || ft.built[0].WebhookURL != "https://bots.example.com/fake/shop" {
		t.Fatalf("built %+v (%v), want the token opened and the webhook URL set", ft.built, ok)
	}
	if sent, err := s.Sender("fake").Send(ctx, channel.Outbound{Bot: "shop", Text: "hi"}); err != nil || sent.PlatformID != "tok-1:hi" {
		t.Fatalf("send: %+v %v", sent, err)
	}
	if _, err := s.Sender("fake").Send(ctx, channel.Outbound{Bot: "nobody", Text: "hi"}); channel.AsSendError(err).Retryable {
		t.Fatalf("a send for a bot without the channel: %v, want a final error", err)
	}
	waitFor(t, func() bool { return ft.runs.Load() == 1 }, "the receiver runs")

	// Nothing changed: nothing is rebuilt.
	must(t, s.Reconcile(ctx))
	if again, _ := s.Channel("fake", "shop"); again != ch || len(ft.built) != 1 {
		t.Fatal("an unchanged channel was rebuilt")
	}
	// The updates it records show as its last update.
	must(t, ft.env.Handler.Handle(ctx, channel.Inbound{Bot: "shop", Channel: "fake", Chat: "1"}))
	if st, _ := s.Status("fake", "shop"); !st.LastUpdate.Equal(now) || st.Account != "tok-1" {
		t.Fatalf("status %+v, want last update %s", st, now)
	}

	// A new token rebuilds it; the old receiver stops.
	must(t, st.PutBot(ctx, store.Bot{ID: "shop", Channels: []store.Channel{{Type: "fake", Token: "tok-2"}}}))
	must(t, s.Reconcile(ctx))
	if len(ft.built) != 2 || ft.built[1].Token != "tok-2" {
		t.Fatalf("built %+v, want a rebuild with tok-2", ft.built)
	}
	waitFor(t, func() bool { return ft.runs.Load() == 1 }, "one receiver runs after the rebuild")

	// A token the type refuses: the channel shows failed, nothing runs.
	must(t, st.PutBot(ctx, store.Bot{ID: "shop", Channels: []store.Channel{{Type: "fake", Token: "bad"}}}))
	must(t, s.Reconcile(ctx))
	if stt, _ := s.Status("fake", "shop"); stt.State != channel.StateFailed {
		t.Fatalf("status %+v, want failed", stt)
	}
	waitFor(t, func() bool { return ft.runs.Load() == 0 }, "no receiver runs")

	// The bot goes: so does its channel.
	must(t, st.DeleteBot(ctx, "shop"))
	must(t, s.Reconcile(ctx))
	if _, ok := s.Channel("fake", "shop"); ok || len(s.Statuses()) != 0 {
		t.Fatal("a deleted bot's channel is still running")
	}
}

func TestOneReplicaRunsTheReceiver(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	must(t, st.PutBot(ctx, store.Bot{ID: "shop", Channels: []store.Channel{{Type: "fake", Token: "tok"}}}))
	var mu sync.Mutex
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	f1, f2 := &fakeType{}, &fakeType{}
	s1 := newSet(t, st, f1, "r1", nil, clock)
	s2 := newSet(t, st, f2, "r2", nil, clock)
	for range 3 {
		must(t, s1.Reconcile(ctx))
		must(t, s2.Reconcile(ctx))
		advance(time.Second)
	}
	waitFor(t, func() bool { return f1.runs.Load()+f2.runs.Load() == 1 }, "one receiver in all")
	if f1.runs.Load() != 1 {
		t.Fatalf("r1 took the lease first but runs %d receivers, r2 %d", f1.runs.Load(), f2.runs.Load())
	}
	// Both can send; r2 reports r1's view of the channel.
	if _, ok := s2.Channel("fake", "shop"); !ok {
		t.Fatal("the replica without the lease has no channel to send with")
	}
	// r1 stops (its context ends): it gives the lease back and r2 takes over.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s1.Run(rctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	waitFor(t, func() bool { return f1.runs.Load() == 0 }, "r1 stopped its receiver")
	advance(2 * time.Second)
	must(t, s2.Reconcile(ctx))
	waitFor(t, func() bool { return f2.runs.Load() == 1 }, "r2 runs the receiver after r1 left")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
