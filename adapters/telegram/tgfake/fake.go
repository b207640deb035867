package tgfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
)

// Options configure a Fake. The zero value is usable.
type Options struct {
	// Token is the bot token; requests with another token get 401.
	// Default "123456789:TEST-fake-token". The digits before ':' are the
	// bot's user id.
	Token string
	// Username is the bot's username (default "voronka_test_bot").
	Username string
	// FirstName is the bot's display name (default "Voronka Test Bot").
	FirstName string
	// Addr is where Start listens (default "127.0.0.1:0").
	Addr string
	// Clock drives dates, rate limits, validity and retries (default the
	// wall clock).
	Clock Clock
	// Limits are the flood limits; the zero value means the real ones.
	Limits Limits
	// RetryScale multiplies the webhook retry back-off (2, 4, 8… s) and its
	// cap, so tests can run fast. 0 means 1 (real timing).
	RetryScale float64
	// MaxRetryDelay caps the unscaled back-off (default 60 s; the real
	// server picks 60–120 s at random).
	MaxRetryDelay time.Duration
	// WebhookTimeout bounds one webhook POST in wall time (default 60 s,
	// as the real server waits).
	WebhookTimeout time.Duration
	// CallbackQueryTTL is how long a callback query can be answered and
	// stays deliverable (default 150 s).
	CallbackQueryTTL time.Duration
	// UpdateTTL is how long an undelivered update is kept (default 24 h).
	UpdateTTL time.Duration
	// HTTPClient posts webhook updates (default a fresh client).
	HTTPClient *http.Client
	// Logger receives the fake's logs (default slog.Default()).
	Logger *slog.Logger
	// Lean keeps counts, not contents, of sends and created updates and
	// only each chat's latest bot message (older ones answer "message
	// can't be edited"): a load run's memory then stays flat instead of
	// growing megabytes a second. Sent, AllSent and Updates answer
	// nothing; the waits and Stats count.
	Lean bool
}

// Fake is a fake Telegram Bot API server for one bot. It is an
// http.Handler; Start also serves it on a loopback port.
type Fake struct {
	opts    Options
	clock   Clock
	log     *slog.Logger
	limits  Limits
	bot     User
	token   string
	methods map[string]methodFunc
	client  *http.Client

	reqCount   map[string]*atomic.Int64 // canonical method name → count, read-only map
	unknownReq atomic.Int64
	tooMany    atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	srvMu sync.Mutex
	srv   *http.Server
	base  string

	mu           sync.Mutex
	users        map[int64]*userState
	chats        map[int64]*chatState
	msgs         map[msgKey]*botMessage
	queries      map[string]*queryState
	nextUpdateID int64
	nextQueryID  int64
	allowed      []string
	pending      []*updateRec // unconfirmed updates in id order (done ones are compacted lazily)
	pendingN     int          // not-done entries of pending
	history      []*updateRec
	poll         *poller
	hook         *hookState
	global       bucket
	sent         *fakekit.Records[SentMessage] // sends and edits, by chat
	answers      []CallbackAnswer
	notify       chan struct{}
	closed       bool

	faults fakekit.Faults // outages and injected failures, see SetOutage
}

type methodFunc func(ctx context.Context, p params) (result []byte, desc string, err *apiError)

// New returns a Fake configured by opts. Serve it with Start, or mount it
// as an http.Handler.
func New(opts Options) *Fake {
	if opts.Token == "" {
		opts.Token = "123456789:TEST-fake-token"
	}
	if opts.Username == "" {
		opts.Username = "voronka_test_bot"
	}
	if opts.FirstName == "" {
		opts.FirstName = "Voronka Test Bot"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.RetryScale <= 0 {
		opts.RetryScale = 1
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 60 * time.Second
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 60 * time.Second
	}
	if opts.CallbackQueryTTL <= 0 {
		opts.CallbackQueryTTL = 150 * time.Second
	}
	if opts.UpdateTTL <= 0 {
		opts.UpdateTTL = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	client := opts.HTTPClient
	if client == nil {
		// Telegram keeps up to max_connections (at most 100) connections
		// open to a webhook; Go's default keeps two idle per host, which
		// would open a new connection for almost every update under load.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 0, 100
		client = &http.Client{Timeout: opts.WebhookTimeout, Transport: t}
	}
	botID := int64(123456789)
	if head, _, ok := strings.Cut(opts.Token, ":"); ok {
		if n, err := strconv.ParseInt(head, 10, 64); err == nil && n > 0 {
			botID = n
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fake{
		opts:   opts,
		clock:  opts.Clock,
		log:    opts.Logger.With("component", "tgfake"),
		limits: opts.Limits.withDefaults(),
		bot: User{
			ID: botID, IsBot: true, FirstName: opts.FirstName, Username: opts.Username,
			CanJoinGroups: true,
		},
		token:        opts.Token,
		client:       client,
		ctx:          ctx,
		cancel:       cancel,
		users:        map[int64]*userState{},
		chats:        map[int64]*chatState{},
		msgs:         map[msgKey]*botMessage{},
		queries:      map[string]*queryState{},
		nextUpdateID: 1,
		sent:         fakekit.NewRecords[SentMessage](),
	}
	if opts.Lean {
		f.sent = fakekit.NewLeanRecords[SentMessage]()
	}
	f.limits.Unlimited = opts.Limits.Unlimited
	f.methods = map[string]methodFunc{
		"getMe":                  f.getMe,
		"getUpdates":             f.getUpdates,
		"setWebhook":             f.setWebhook,
		"deleteWebhook":          f.deleteWebhook,
		"getWebhookInfo":         f.getWebhookInfo,
		"sendMessage":            f.sendMessage,
		"answerCallbackQuery":    f.answerCallbackQuery,
		"editMessageReplyMarkup": f.editMessageReplyMarkup,
	}
	f.reqCount = make(map[string]*atomic.Int64, len(f.methods))
	lower := make(map[string]methodFunc, len(f.methods))
	for name, m := range f.methods {
		f.reqCount[name] = new(atomic.Int64)
		lower[strings.ToLower(name)] = m
	}
	f.methods = lower
	return f
}

// Token returns the bot token the fake accepts.
func (f *Fake) Token() string { return f.token }

// Bot returns the bot's own User, as getMe reports it.
func (f *Fake) Bot() User { return f.bot }

// Clock returns the clock the fake reads.
func (f *Fake) Clock() Clock { return f.clock }

// Start serves the fake on Options.Addr and returns its base URL, e.g.
// "http://127.0.0.1:43567". Point go-telegram-bot-api at base+"/bot%s/%s".
func (f *Fake) Start() (string, error) {
	f.srvMu.Lock()
	defer f.srvMu.Unlock()
	if f.srv != nil {
		return f.base, nil
	}
	ln, err := net.Listen("tcp", f.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("tgfake: listen on %s: %w", f.opts.Addr, err)
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	f.base = "http://" + ln.Addr().String()
	srv := f.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.log.Error("serve", "err", err)
		}
	}()
	f.log.Debug("started", "url", f.base)
	return f.base, nil
}

// URL returns the base URL after Start, else "".
func (f *Fake) URL() string {
	f.srvMu.Lock()
	defer f.srvMu.Unlock()
	return f.base
}

// APIEndpoint returns the Sprintf endpoint format for
// tgbotapi.NewBotAPIWithAPIEndpoint: base + "/bot%s/%s".
func (f *Fake) APIEndpoint() string { return f.URL() + "/bot%s/%s" }

// Close stops the server, ends pending long polls and webhook deliveries,
// and waits for delivery goroutines to finish.
func (f *Fake) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	if f.poll != nil {
		f.poll.wakeLocked()
	}
	f.hook = nil
	f.changedLocked()
	f.mu.Unlock()
	f.sent.Close()
	f.cancel()

	f.srvMu.Lock()
	srv := f.srv
	f.srvMu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := srv.Shutdown(ctx); e != nil {
			err = fmt.Errorf("tgfake: shutdown: %w", e)
			_ = srv.Close()
		}
	}
	f.wg.Wait()
	return err
}

// ServeHTTP serves the Bot API under /bot<token>/<method> and the control
// API under /_fake/.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/_fake/") {
		f.serveControl(w, r)
		return
	}
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		writeError(w, &apiError{code: http.StatusNotFound, desc: DescNotFound})
		return
	}
	if f.serveOutage(w, r) {
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok || method == "" {
		writeError(w, &apiError{code: http.StatusNotFound, desc: DescNotFound})
		return
	}
	if token != f.token {
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: DescUnauthorized})
		return
	}
	m, ok := f.methods[strings.ToLower(method)]
	if !ok {
		f.unknownReq.Add(1)
		writeError(w, &apiError{code: http.StatusNotFound, desc: DescNotFound})
		return
	}
	f.countRequest(method)
	p, err := readParams(r)
	if err != nil {
		f.log.Debug("bad request body", "method", method, "err", err)
		writeError(w, badRequest("Bad Request: "+err.Error()))
		return
	}
	result, desc, apiErr := m(r.Context(), p)
	if apiErr != nil {
		if apiErr.code == http.StatusTooManyRequests {
			f.tooMany.Add(1)
		}
		writeError(w, apiErr)
		return
	}
	writeResult(w, result, desc)
}

func (f *Fake) countRequest(method string) {
	if c, ok := f.reqCount[method]; ok {
		c.Add(1)
		return
	}
	for name, c := range f.reqCount {
		if strings.EqualFold(name, method) {
			c.Add(1)
			return
		}
	}
}

var (
	okPrefix = []byte(`{"ok":true,"result":`)
	trueJSON = []byte("true")
)

func writeResult(w http.ResponseWriter, result []byte, desc string) {
	buf := make([]byte, 0, len(okPrefix)+len(result)+len(desc)+20)
	buf = append(buf, okPrefix...)
	buf = append(buf, result...)
	if desc != "" {
		buf = append(buf, `,"description":`...)
		buf = strconv.AppendQuote(buf, desc)
	}
	buf = append(buf, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}

type errorBody struct {
	OK          bool             `json:"ok"`
	ErrorCode   int              `json:"error_code"`
	Description string           `json:"description"`
	Parameters  *errorParameters `json:"parameters,omitempty"`
}

type errorParameters struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := errorBody{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 {
		body.Parameters = &errorParameters{RetryAfter: e.retryAfter}
	}
	buf, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(e.code)
	_, _ = w.Write(buf)
}

// drain discards what is left of a response body so the connection can be
// reused.
func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	_ = r.Close()
}

// changedLocked wakes everyone waiting in waitFor (WaitUpdate, WaitPoll).
func (f *Fake) changedLocked() {
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

// changedChanLocked returns a channel closed at the next change.
func (f *Fake) changedChanLocked() <-chan struct{} {
	if f.notify == nil {
		f.notify = make(chan struct{})
	}
	return f.notify
}

// waitFor blocks until cond (evaluated under f.mu) holds or ctx ends.
func (f *Fake) waitFor(ctx context.Context, cond func() bool) error {
	for {
		f.mu.Lock()
		if cond() {
			f.mu.Unlock()
			return nil
		}
		if f.closed {
			f.mu.Unlock()
			return errors.New("tgfake: closed")
		}
		ch := f.changedChanLocked()
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("tgfake: wait: %w", ctx.Err())
		}
	}
}
