// Package runtime runs flows against the world: it takes inbound updates from
// channel adapters, steps the engine under a per-conversation lock, persists
// the new state together with the outbox in one conditional write, delivers
// the outbox under each platform's rate limits, and runs the durable jobs
// (timers, webhook calls, resends, expiry) that steps ask for.
//
// Everything that must survive a crash is in the store before anyone is told
// it happened: Handle returns only after the conversation write, side effects
// (messages, timers, webhook calls) wait in the conversation's outbox until
// they are done, and a leased "resend" job picks up an outbox whose sender
// died. Any number of processes may share one store.
package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/egress"
)

// Typed errors callers branch on.
var (
	// ErrStopped is returned by Handle after Shutdown began: the adapter must
	// not acknowledge the update, so the platform delivers it again later.
	ErrStopped = errors.New("runtime is shutting down")
	// ErrBadInbound means the adapter handed in an update without bot,
	// channel or chat; retrying it cannot help.
	ErrBadInbound = errors.New("bad inbound update")
	// ErrBusy means a conversation kept changing under us (another replica
	// writing the same conversation) past the retry bound; retry later.
	ErrBusy = errors.New("conversation busy: too many concurrent writes")
	// ErrRunning is returned by a second Run.
	ErrRunning = errors.New("runtime already running")
)

// Random supplies the randomness steps use for A/B splits and the jitter of
// retries. It must be safe for concurrent use.
type Random interface {
	Uint64() uint64
}

// Channel is one messenger the runtime delivers through.
type Channel struct {
	Sender channel.Sender
	Limits channel.Limits
	// IsGroup tells group chats, which get the per-group limit, from private
	// ones. Nil means Telegram's rule: group chat ids start with "-".
	IsGroup func(chat string) bool
	// Window, when set, is the platform's free-form window after the
	// person's last message (channel.Capabilities.FreeFormWindow): a
	// broadcast reaches someone outside it only with its template.
	Window time.Duration
}

// Config is everything a Runtime depends on; Store, Flows and Channels are
// required, the rest has defaults.
type Config struct {
	Store    store.Store
	Flows    Flows
	Channels map[string]Channel
	Clock    Clock        // default SystemClock
	Logger   *slog.Logger // default slog.Default()
	Rand     Random       // default math/rand/v2
	Options  Options
}

// Options tune the runtime; zero values mean the defaults in brackets.
type Options struct {
	// Owner names this process in job leases [hostname-pid-random].
	Owner string
	// Stripes is the number of conversation lock stripes [1024].
	Stripes int
	// CachePerStripe bounds cached conversation documents per stripe [64].
	CachePerStripe int
	// RecentUpdates is how many inbound update ids a conversation remembers
	// for exactly-once [32].
	RecentUpdates int
	// ConflictRetries bounds reload-and-step-again on a version conflict [16].
	ConflictRetries int

	// SendHorizon is how long a message is retried after its first
	// retryable failure (429, 5xx, timeout, connection reset) before it is
	// recorded as failed [1h]. The chat's later messages wait behind it.
	SendHorizon time.Duration
	// SendBackoff is the wait before a failing platform is probed again
	// [500ms], doubled each time up to SendMaxBackoff [3s]: while a bot's
	// sends fail, one send at a time probes the platform and the bot's other
	// chats wait for it, so they all go on within SendMaxBackoff of its
	// return. A platform's RetryAfter overrides it.
	SendBackoff    time.Duration
	SendMaxBackoff time.Duration
	// SendTimeout bounds one Sender.Send call [10s]: a Bot API call answers
	// in well under a second, and a hung one holds the bot's probe.
	SendTimeout time.Duration

	// ForeignPoll is how often a sender re-reads a conversation whose outbox
	// starts with another process's messages [500ms].
	ForeignPoll time.Duration

	// LeaseTTL is how long this process counts as alive after a heartbeat
	// [3s]; past it, others adopt the outbox items it was delivering.
	LeaseTTL time.Duration
	// Heartbeat is how often the lease is renewed and expired leases are
	// looked for [1s]; keep it well under LeaseTTL.
	Heartbeat time.Duration

	// JobPoll is how often the scheduler looks for due jobs [1s].
	JobPoll time.Duration
	// JobBatch is how many jobs one claim takes [100].
	JobBatch int
	// JobLease is how long a claimed job is ours before another process may
	// take it [2m]; it must exceed WebhookTimeout by a margin.
	JobLease time.Duration
	// JobWorkers is how many jobs run at once [16].
	JobWorkers int
	// JobAttempts bounds retries of a failing job before FailJob [8].
	JobAttempts int
	// JobBackoff is the first job retry delay, doubled each time [2s], up to 10m.
	JobBackoff time.Duration

	// WebhookTimeout bounds one webhook call [10s].
	WebhookTimeout time.Duration
	// WebhookMaxBody is the largest response body accepted [1 MiB].
	WebhookMaxBody int64
	// HTTPClient makes webhook calls [an egress client with WebhookTimeout
	// and WebhookMaxBody that reaches no internal address]. Pass one built
	// with egress.NewClient and an allow-list to reach internal services.
	HTTPClient *http.Client

	// BroadcastPoll is how often each process looks for broadcasts to start
	// or resume (a dead runner's included) [1s].
	BroadcastPoll time.Duration

	// Retention is what the periodic purge deletes, and when (retention.go).
	Retention Retention

	// BotCacheTTL is how long bot settings are reused before re-reading [10s].
	BotCacheTTL time.Duration
	// LookupEnv reads the environment variables a bot's AllowedEnv names
	// [os.LookupEnv].
	LookupEnv func(string) (string, bool)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	def(&o.Stripes, 1024)
	def(&o.CachePerStripe, 64)
	def(&o.RecentUpdates, 32)
	def(&o.ConflictRetries, 16)
	dur(&o.SendHorizon, time.Hour)
	dur(&o.SendBackoff, 500*time.Millisecond)
	dur(&o.SendMaxBackoff, 3*time.Second)
	dur(&o.SendTimeout, 10*time.Second)
	dur(&o.LeaseTTL, 3*time.Second)
	dur(&o.Heartbeat, time.Second)
	dur(&o.ForeignPoll, 500*time.Millisecond)
	dur(&o.JobPoll, time.Second)
	def(&o.JobBatch, 100)
	dur(&o.JobLease, 2*time.Minute)
	def(&o.JobWorkers, 16)
	def(&o.JobAttempts, 8)
	dur(&o.JobBackoff, 2*time.Second)
	dur(&o.WebhookTimeout, 10*time.Second)
	if o.WebhookMaxBody <= 0 {
		o.WebhookMaxBody = 1 << 20
	}
	if o.HTTPClient == nil {
		o.HTTPClient = egress.NewClient(egress.Options{Timeout: o.WebhookTimeout, MaxBody: o.WebhookMaxBody})
	}
	dur(&o.BotCacheTTL, 10*time.Second)
	dur(&o.BroadcastPoll, time.Second)
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
}

// Runtime is the message pipeline of one process. It implements
// channel.Handler. Create it with New, start delivery and jobs with Run,
// stop with Shutdown.
type Runtime struct {
	st    store.Store
	flows Flows
	clock Clock
	log   *slog.Logger
	rnd   Random
	opts  Options

	channels map[string]*outChannel
	locks    *stripes
	bots     *botCache
	out      *drainers
	stats    counters

	mu        sync.Mutex
	accepting bool
	running   bool
	handles   sync.WaitGroup
	// bg carries delivery and job work; cancelled when Shutdown runs out of time.
	bg       context.Context
	bgCancel context.CancelFunc
	// loops stops the scheduler loop (no new claims) at the start of Shutdown.
	loopsCancel context.CancelFunc
	loops       sync.WaitGroup
	leaseLoop   sync.WaitGroup
	wake        chan struct{}
	jobsActive  atomic.Int64

	lease leaseState
	bc    broadcasts
	inboxState
	// recordsAge is the retention's Retention.recordsAge.
	recordsAge time.Duration
	// logsApart: the store appends logs apart from the conversation, so a
	// step's logs ride in its first message's outbox item and go with that
	// message's delivery event (carry.go).
	logsApart bool
}

type lockedRand struct {
	mu sync.Mutex
	r  Random
}

func (l *lockedRand) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

type globalRand struct{}

func (globalRand) Uint64() uint64 { return mrand.Uint64() }

// New checks the configuration and builds a Runtime. It starts nothing:
// Handle works at once (recording updates), delivery and jobs start with Run.
func New(cfg Config) (*Runtime, error) {
	if cfg.Store == nil || cfg.Flows == nil {
		return nil, errors.New("runtime: Store and Flows are required")
	}
	o := cfg.Options
	o.defaults()
	r := &Runtime{
		st: cfg.Store, flows: cfg.Flows, clock: cfg.Clock, log: cfg.Logger, opts: o,
		channels: map[string]*outChannel{}, accepting: true, wake: make(chan struct{}, 1),
	}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("owner", o.Owner)
	if cfg.Rand == nil {
		r.rnd = globalRand{}
	} else {
		r.rnd = &lockedRand{r: cfg.Rand}
	}
	for name, ch := range cfg.Channels {
		if ch.Sender == nil {
			return nil, fmt.Errorf("runtime: channel %s has no sender", name)
		}
		r.channels[name] = newOutChannel(name, ch)
	}
	r.locks = newStripes(o.Stripes, o.CachePerStripe)
	r.bots = newBotCache(r)
	r.bg, r.bgCancel = context.WithCancel(context.Background())
	r.out = newDrainers(r)
	r.lease.init()
	r.bc.init()
	r.kickc = make(chan struct{}, 1)
	r.logsApart = cfg.Store.LogsApart()
	r.recordsAge = o.Retention.recordsAge()
	return r, nil
}

// Owner is the lease owner id of this process's job scheduler.
func (r *Runtime) Owner() string { return r.opts.Owner }

// Run starts delivering outboxes and running due jobs in the background and
// returns. The loops stop when ctx ends or Shutdown is called. The first
// job claim runs at once, so outboxes and timers left by a crashed process
// are picked up at start-up.
func (r *Runtime) Run(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return ErrRunning
	}
	if !r.accepting {
		return ErrStopped
	}
	r.running = true
	lctx, cancel := context.WithCancel(ctx)
	r.loopsCancel = cancel
	r.out.start()
	// What Handle recorded before Run waits in outboxes this process knows.
	for _, id := range r.locks.withOutbox() {
		r.out.kick(id)
	}
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		r.scheduleRetention(lctx)
		r.jobLoop(lctx)
	}()
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		r.broadcastLoop(lctx)
	}()
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		r.assignLoop(lctx)
	}()
	// The lease outlives the loops: it must stay fresh while Shutdown
	// drains, or others would adopt what this process is still sending.
	r.leaseLoop.Add(1)
	go func() {
		defer r.leaseLoop.Done()
		r.heartbeat(r.bg)
	}()
	return nil
}

// Shutdown stops accepting updates (Handle returns ErrStopped), waits for
// steps in progress, stops claiming jobs, lets running jobs finish and drains
// the outboxes being sent — all within ctx. When ctx ends first, delivery is
// cancelled; what is left stays in the outboxes and the resend jobs, for the
// next process. It returns ctx's error in that case.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.accepting = false
	cancelLoops := r.loopsCancel
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		r.handles.Wait()
		if cancelLoops != nil {
			cancelLoops()
		}
		r.loops.Wait()
		r.out.stopAndWait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("runtime shutdown: %w", ctx.Err())
	}
	r.bgCancel()
	<-done
	r.leaseLoop.Wait()
	// Whatever is left in outboxes is for the next process now, not in
	// LeaseTTL.
	r.releaseLease(ctx)
	return err
}

// enter admits one Handle (or operator call) unless shutting down.
func (r *Runtime) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.accepting {
		return false
	}
	r.handles.Add(1)
	return true
}

func (r *Runtime) isRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// wakeJobs nudges the scheduler to look for due jobs now (a webhook job was
// just scheduled), instead of at the next poll.
func (r *Runtime) wakeJobs() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
