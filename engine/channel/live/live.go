// Package live keeps a process's channels in step with the bots in the
// store: every registered channel type is opened once, each stored
// channel of each bot is built, rebuilt when its configuration changes and
// stopped when it goes, on every replica, without a restart. A channel's
// receiver (a Telegram long poll, a webhook registration) runs on one
// replica at a time, under a lease in the store that also carries the
// holder's view of the channel to the others.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/sealed"
)

// Store is what the set reads and writes.
type Store interface {
	store.Bots
	store.ChannelLeases
}

// Config is what a Set needs; Store, Registry and Owner are required.
type Config struct {
	Store    Store
	Registry *channel.Registry
	// Env is given to every type's Open; its Handler is replaced by the
	// set's (which records when each channel last received an update and
	// passes on to SetHandler's).
	Env channel.Env
	// Box opens sealed tokens (nil: tokens are stored as they are).
	Box *sealed.Box
	// Owner names this process in leases.
	Owner string
	// Poll is how often the store is read for changed bots [2s]; the API
	// calls Reconcile after its own changes, so this is what other
	// replicas wait at most.
	Poll time.Duration
	// LeaseTTL is how long a receiver lease lasts unrenewed [15s]; it is
	// renewed every Poll.
	LeaseTTL time.Duration
	// Limits override a type's rate limits by type name (configuration).
	Limits map[string]channel.Limits
	// Borrows says which bots are not stored bots but send through another
	// bot's running channel of the same type (the builder's preview chats
	// ride the web chat): any running channel of the type serves them.
	Borrows func(bot string) bool
	// APIURLs set Env.APIURL by type name (configuration).
	APIURLs map[string]string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Set is the live channels of one process. Its methods are safe for
// concurrent use.
type Set struct {
	cfg      Config
	log      *slog.Logger
	handler  atomic.Pointer[handlerBox]
	adapters map[string]channel.Adapter

	mu      sync.Mutex
	running map[key]*running
	// leasedAt is when the leases were last taken or renewed.
	leasedAt time.Time

	last sync.Map // key -> *atomic.Int64 (unix nanoseconds of the last update)
}

type handlerBox struct{ h channel.Handler }

// key names a channel of a bot; a bot has at most one channel of a type.
type key struct{ typ, bot string }

func (k key) lease() string { return k.typ + ":" + k.bot }

// running is one built channel.
type running struct {
	k      key
	conf   string // the stored channel's configuration, to tell a change
	ch     channel.Channel
	stored store.Channel
	err    error // why it could not be built (ch is nil then)

	// receiver: set while this process runs the channel's Runner.
	stop    context.CancelFunc
	done    chan struct{}
	settled bool                           // Run returned: not run again until the configuration changes
	holder  atomic.Pointer[channel.Status] // the lease holder's view when another process holds the lease
	held    bool                           // this process holds the lease
}

// New opens every type of the registry. Nothing talks to a platform yet.
func New(cfg Config) (*Set, error) {
	if cfg.Store == nil || cfg.Registry == nil || cfg.Owner == "" {
		return nil, errors.New("live: Store, Registry and Owner are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Set{cfg: cfg, log: cfg.Logger, adapters: map[string]channel.Adapter{}, running: map[key]*running{}}
	env := cfg.Env
	env.Handler = recorder{s}
	if env.Logger == nil {
		env.Logger = cfg.Logger
	}
	if env.Now == nil {
		env.Now = cfg.Now
	}
	for _, t := range cfg.Registry.Types() {
		env := env
		if u, ok := cfg.APIURLs[t.Name]; ok {
			env.APIURL = u
		}
		a, err := t.Open(env)
		if err != nil {
			return nil, fmt.Errorf("open channel type %s: %w", t.Name, err)
		}
		s.adapters[t.Name] = a
	}
	return s, nil
}

// SetHandler sets where inbound updates go (the runtime), breaking the
// cycle set → runtime → set. Until then updates fail retryably.
func (s *Set) SetHandler(h channel.Handler) { s.handler.Store(&handlerBox{h: h}) }

// recorder is the Handler adapters get: it passes updates on and notes
// when each channel last received one.
type recorder struct{ s *Set }

var errNoHandler = errors.New("live: no handler yet")

func (r recorder) Handle(ctx context.Context, in channel.Inbound) error {
	b := r.s.handler.Load()
	if b == nil {
		return errNoHandler
	}
	if err := b.h.Handle(ctx, in); err != nil {
		return err
	}
	v, _ := r.s.last.LoadOrStore(key{in.Channel, in.Bot}, new(atomic.Int64))
	v.(*atomic.Int64).Store(r.s.cfg.Now().UnixNano())
	return nil
}

// Receipt passes a platform's delivery status on to the handler, when it
// takes them (the runtime does); otherwise it is dropped.
func (r recorder) Receipt(ctx context.Context, rc channel.Receipt) error {
	b := r.s.handler.Load()
	if b == nil {
		return errNoHandler
	}
	if rh, ok := b.h.(channel.ReceiptHandler); ok {
		return rh.Receipt(ctx, rc)
	}
	return nil
}

var _ channel.ReceiptHandler = recorder{}

// Types returns the registry's types.
func (s *Set) Types() []channel.Type { return s.cfg.Registry.Types() }

// Type returns the type named name.
func (s *Set) Type(name string) (channel.Type, bool) { return s.cfg.Registry.Lookup(name) }

// Adapters returns the opened adapter of every type, by type name.
func (s *Set) Adapters() map[string]channel.Adapter { return maps.Clone(s.adapters) }

// Channel returns the running channel of bot of type typ.
func (s *Set) Channel(typ, bot string) (channel.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.running[key{typ, bot}]
	if r == nil || r.ch == nil {
		return nil, false
	}
	return r.ch, true
}

// anyChannel returns some running channel of type typ.
func (s *Set) anyChannel(typ string) (channel.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.running {
		if k.typ == typ && r != nil && r.ch != nil {
			return r.ch, true
		}
	}
	return nil, false
}

// Limits returns the rate limits of a type, with the configured override.
func (s *Set) Limits(t channel.Type) channel.Limits {
	if l, ok := s.cfg.Limits[t.Name]; ok {
		return l
	}
	return t.Limits
}

// Sender returns the Sender of every channel of type typ: it sends
// through the bot's running channel.
func (s *Set) Sender(typ string) channel.Sender { return sender{s: s, typ: typ} }

type sender struct {
	s   *Set
	typ string
}

// Joined passes an operator's joining on to a channel that shows it (the
// web chat); the others have nothing to do.
func (d sender) Joined(ctx context.Context, bot, chat, name string) error {
	ch, ok := d.s.Channel(d.typ, bot)
	if !ok {
		return nil
	}
	if n, ok := ch.(channel.Noticer); ok {
		return n.Joined(ctx, bot, chat, name)
	}
	return nil
}

func (d sender) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	ch, ok := d.s.Channel(d.typ, msg.Bot)
	if !ok && d.s.cfg.Borrows != nil && d.s.cfg.Borrows(msg.Bot) {
		ch, ok = d.s.anyChannel(d.typ)
	}
	if !ok {
		return channel.Sent{}, &channel.SendError{Err: fmt.Errorf("bot %s has no %s channel", msg.Bot, d.typ)}
	}
	return ch.Send(ctx, msg)
}

// Config returns the channel configuration of a stored channel: its
// secrets opened, its webhook URL set.
func (s *Set) Config(bot string, c store.Channel) (channel.Config, error) {
	token, err := s.cfg.Box.Open(c.Token)
	if err != nil {
		return channel.Config{}, fmt.Errorf("%s channel of bot %s: token: %w", c.Type, bot, err)
	}
	secret, err := s.cfg.Box.Open(c.Secret)
	if err != nil {
		return channel.Config{}, fmt.Errorf("%s channel of bot %s: secret: %w", c.Type, bot, err)
	}
	cfg := channel.Config{ID: c.ChannelID(), Bot: bot, Token: token, Secret: secret, APIURL: c.APIURL, Settings: maps.Clone(c.Settings)}
	if u := strings.TrimRight(s.cfg.Env.PublicURL, "/"); u != "" {
		cfg.WebhookURL = u + "/" + c.Type + "/" + bot
	}
	return cfg, nil
}

// Build builds a channel from a stored configuration without starting it,
// for a check before it is saved (Checker).
func (s *Set) Build(bot string, c store.Channel) (channel.Channel, error) {
	a := s.adapters[c.Type]
	if a == nil {
		return nil, fmt.Errorf("%w: unknown channel type %q", channel.ErrBadConfig, c.Type)
	}
	cfg, err := s.Config(bot, c)
	if err != nil {
		return nil, err
	}
	return a.Build(cfg)
}

// confKey is what makes a stored channel different for the set: a change
// to any of it rebuilds the channel.
func confKey(c store.Channel) string {
	b, _ := json.Marshal(struct {
		T, Tok, Sec, API string
		S                map[string]string
	}{c.Type, c.Token, c.Secret, c.APIURL, c.Settings})
	return string(b)
}

// Reconcile reads every bot and brings the running channels in line:
// builds new ones, rebuilds changed ones, stops those that are gone, and
// takes or renews the receiver leases. Run calls it every Poll; the API
// calls it after a change so that the replica that made it applies it at
// once.
func (s *Set) Reconcile(ctx context.Context) error {
	bots, err := s.cfg.Store.ListBots(ctx)
	if err != nil {
		return fmt.Errorf("live: list bots: %w", err)
	}
	want := map[key]store.Channel{}
	for _, b := range bots {
		for _, c := range b.Channels {
			if _, ok := s.adapters[c.Type]; !ok {
				continue // a type this binary does not have
			}
			want[key{c.Type, b.ID}] = c
		}
	}
	var stopped []*running
	built := false
	s.mu.Lock()
	for k, r := range s.running {
		if c, ok := want[k]; !ok || confKey(c) != r.conf {
			delete(s.running, k)
			stopped = append(stopped, r)
		}
	}
	for k, c := range want {
		if s.running[k] != nil {
			s.running[k].stored = c
			continue
		}
		r := &running{k: k, conf: confKey(c), stored: c}
		r.ch, r.err = s.Build(k.bot, c)
		if r.err != nil {
			s.log.Error("channel not started: its configuration is unusable", "bot", k.bot, "type", k.typ, "err", r.err)
		}
		s.running[k] = r
		built = true
	}
	// Leases are renewed a few times per LeaseTTL, and at once for a
	// channel that just appeared.
	due := built || s.cfg.Now().Sub(s.leasedAt) >= s.cfg.LeaseTTL/3
	s.mu.Unlock()
	for _, r := range stopped {
		s.stopReceiver(ctx, r, true)
	}
	if due {
		s.leases(ctx)
	}
	return nil
}

// Run reconciles every Poll until ctx ends, then stops every receiver and
// gives its lease back.
func (s *Set) Run(ctx context.Context) error {
	for _, a := range s.adapters {
		if r, ok := a.(channel.Runner); ok {
			go func() {
				if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					s.log.Error("channel adapter stopped", "err", err)
				}
			}()
		}
	}
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("channels not brought up to date; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			s.shutdown()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// shutdown stops every receiver and ends its leases, so another replica
// takes over at once.
func (s *Set) shutdown() {
	s.mu.Lock()
	all := slices.Collect(maps.Values(s.running))
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, r := range all {
		s.stopReceiver(ctx, r, true)
	}
}

// leases takes or renews the lease of every channel with a receiver and
// starts or stops receivers accordingly.
func (s *Set) leases(ctx context.Context) {
	s.mu.Lock()
	all := slices.Collect(maps.Values(s.running))
	s.mu.Unlock()
	now := s.cfg.Now()
	s.mu.Lock()
	s.leasedAt = now
	s.mu.Unlock()
	for _, r := range all {
		runner, ok := r.ch.(channel.Runner)
		if !ok || r.ch == nil {
			continue
		}
		status, _ := json.Marshal(s.status(r, true))
		l, held, err := s.cfg.Store.TakeChannelLease(ctx, store.ChannelLease{ID: r.k.lease(), Owner: s.cfg.Owner,
			Until: now.Add(s.cfg.LeaseTTL), Status: status}, now)
		if err != nil {
			s.log.Warn("channel lease not renewed", "bot", r.k.bot, "type", r.k.typ, "err", err)
			continue
		}
		if !held {
			s.stopReceiver(ctx, r, false)
			var cs channel.Status
			if json.Unmarshal(l.Status, &cs) == nil {
				r.holder.Store(&cs)
			}
			continue
		}
		r.holder.Store(nil)
		s.startReceiver(r, runner)
	}
}

func (s *Set) startReceiver(r *running, runner channel.Runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.stop != nil || r.settled || s.running[r.k] != r {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done, r.held = cancel, make(chan struct{}), true
	go func() {
		defer close(r.done)
		err := runner.Run(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case ctx.Err() != nil:
		case err == nil:
			r.settled = true
			s.log.Info("channel receiving", "bot", r.k.bot, "type", r.k.typ)
		default:
			// Permanent: keep the lease (another replica would fail the
			// same way) until the configuration changes.
			r.settled = true
			s.log.Error(r.k.typ+" channel is down until its configuration changes; the bot's other channels go on", "bot", r.k.bot, "type", r.k.typ, "err", err)
		}
	}()
}

// stopReceiver stops r's receiver if it runs here and, with drop, gives
// its lease back.
func (s *Set) stopReceiver(ctx context.Context, r *running, drop bool) {
	s.mu.Lock()
	stop, done, held := r.stop, r.done, r.held
	r.stop, r.done, r.held = nil, nil, false
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if drop && held {
		if err := s.cfg.Store.DropChannelLease(ctx, r.k.lease(), s.cfg.Owner); err != nil {
			s.log.Warn("channel lease not given back; it ends by itself", "bot", r.k.bot, "type", r.k.typ, "err", err)
		}
	}
}

// Remove undoes at the platform what a channel of bot left there (its
// webhook), before the channel is deleted from the store.
func (s *Set) Remove(ctx context.Context, typ, bot string) error {
	ch, ok := s.Channel(typ, bot)
	if !ok {
		return nil
	}
	if rm, ok := ch.(channel.Remover); ok {
		if err := rm.Remove(ctx); err != nil {
			return fmt.Errorf("remove %s channel of bot %s: %w", typ, bot, err)
		}
	}
	return nil
}

// Statuses returns the state of every channel.
func (s *Set) Statuses() []channel.Status {
	s.mu.Lock()
	all := slices.Collect(maps.Values(s.running))
	s.mu.Unlock()
	out := make([]channel.Status, 0, len(all))
	for _, r := range all {
		out = append(out, s.status(r, false))
	}
	return out
}

// Status returns the state of bot's channel of type typ.
func (s *Set) Status(typ, bot string) (channel.Status, bool) {
	s.mu.Lock()
	r := s.running[key{typ, bot}]
	s.mu.Unlock()
	if r == nil {
		return channel.Status{}, false
	}
	return s.status(r, false), true
}

// status is r's state: its own, or, when another replica runs its
// receiver, that replica's, with the latest update either saw.
func (s *Set) status(r *running, own bool) channel.Status {
	var st channel.Status
	switch {
	case r.ch == nil:
		st = channel.Status{Bot: r.k.bot, Type: r.k.typ, State: channel.StateFailed, LastError: r.err.Error()}
	default:
		st = r.ch.Status()
		if h := r.holder.Load(); !own && h != nil {
			last := st.LastUpdate
			st = *h
			if last.After(st.LastUpdate) {
				st.LastUpdate = last
			}
		}
	}
	if v, ok := s.last.Load(r.k); ok {
		if t := time.Unix(0, v.(*atomic.Int64).Load()).UTC(); t.After(st.LastUpdate) {
			st.LastUpdate = t
		}
	}
	st.Bot, st.Type = r.k.bot, r.k.typ
	return st
}
