package telegram

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// ChannelName is the Inbound.Channel and Contact.Channel of this adapter.
const ChannelName = "telegram"

// DefaultAPIEndpoint is the public Bot API, as a Sprintf format taking the
// token and then the method name.
const DefaultAPIEndpoint = tgbotapi.APIEndpoint

// Defaults for Config.
const (
	DefaultPollTimeout    = 30 * time.Second
	DefaultRequestTimeout = 30 * time.Second
)

// pollMargin is how much longer than the long-poll timeout a getUpdates
// request may take before we give up on it: Telegram answers at the timeout,
// the margin covers the network.
const pollMargin = 15 * time.Second

// Config configures an Adapter.
type Config struct {
	// BotID is the bot's id in Voronka (Inbound.Bot), not Telegram's.
	BotID string
	// Token is the Bot API token from @BotFather.
	Token string
	// APIEndpoint is a Sprintf format with two %s verbs, the token and the
	// method, e.g. "https://api.telegram.org/bot%s/%s" (the default), a
	// self-hosted Bot API server, or a fake in tests.
	APIEndpoint string
	// HTTPClient makes the requests (default: a client without a timeout,
	// keeping up to 64 idle connections; every call is bounded by its
	// context instead, because a long poll legitimately takes PollTimeout).
	HTTPClient *http.Client
	// Logger receives the adapter's logs (default slog.Default()).
	Logger *slog.Logger

	// WebhookSecret is the X-Telegram-Bot-Api-Secret-Token that
	// HandleWebhook demands. Every replica behind the webhook URL needs the
	// same value; SetWebhook also replaces it on the instance it runs on.
	// While it is empty HandleWebhook rejects every request (fail closed).
	WebhookSecret string

	// PollTimeout is the getUpdates long-poll timeout (default 30 s,
	// Telegram allows up to 50 s).
	PollTimeout time.Duration
	// DeleteWebhookOnPoll makes Poll delete an active webhook before it
	// starts. Off by default: silently turning off a production webhook
	// because a developer started a poller is worse than a clear error.
	DeleteWebhookOnPoll bool
	// RequestTimeout bounds every other Bot API call (default 30 s), on top
	// of the caller's context.
	RequestTimeout time.Duration

	// SignOperators puts the operator's name above each message an
	// operator writes (Outbound.Author), so the person knows who answers:
	// Telegram shows every message as the bot's.
	SignOperators bool
}

// Adapter is one Telegram bot. It is safe for concurrent use: Send and
// HandleWebhook may run from many goroutines; Poll runs at most once at a
// time per Adapter.
type Adapter struct {
	cfg      Config
	bot      *tgbotapi.BotAPI
	client   *http.Client
	log      *slog.Logger
	redactor *strings.Replacer

	secret  atomic.Pointer[[sha256.Size]byte] // sha256 of the webhook secret; nil = none set
	polling atomic.Bool
	self    atomic.Pointer[tgbotapi.User] // getMe's answer; nil until Connect succeeds
	status  *channel.StatusTracker

	// sleep waits d or until ctx ends; tests replace it to observe
	// back-off and retry_after without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	// now stamps inbound updates that carry no date (callback queries)
	// and status changes.
	now func() time.Time
	// jitter returns a number in [0, 1) that spreads Run's retries.
	jitter func() float64

	// progress remembers, per Outbound.ID, how many parts of a split text
	// were already delivered, so a retry after a failure on part k does not
	// send parts 1…k-1 again. Entries exist only while a message is partly
	// sent.
	progressMu sync.Mutex
	progress   map[string]int
}

// New checks the token with getMe and returns a ready Adapter: Open, then
// Connect. A server should rather Open and Run, which keeps retrying while
// Telegram is unreachable.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	a, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	if err := a.Connect(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Open checks cfg and returns an Adapter without talking to Telegram: it
// can send (a failed send is retryable) and take webhook requests at once;
// Connect or Run learn who the bot is.
func Open(cfg Config) (*Adapter, error) {
	if cfg.BotID == "" {
		return nil, errors.New("telegram: Config.BotID is empty")
	}
	if cfg.Token == "" {
		return nil, errors.New("telegram: Config.Token is empty")
	}
	if cfg.APIEndpoint == "" {
		cfg.APIEndpoint = DefaultAPIEndpoint
	}
	redactor := strings.NewReplacer(cfg.Token, "<token>", url.PathEscape(cfg.Token), "<token>")
	if n := strings.Count(cfg.APIEndpoint, "%s"); n != 2 || strings.Count(cfg.APIEndpoint, "%") != 2 {
		return nil, fmt.Errorf("telegram: Config.APIEndpoint %q must be a format with exactly two %%s verbs (token, method), like %q",
			redactor.Replace(cfg.APIEndpoint), DefaultAPIEndpoint)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = msgkit.Client()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	// Telegram takes whole seconds, 0–50; 0 would be short polling.
	cfg.PollTimeout = min(max(cfg.PollTimeout.Truncate(time.Second), time.Second), 50*time.Second)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.WebhookSecret != "" {
		if err := ValidateSecret(cfg.WebhookSecret); err != nil {
			return nil, fmt.Errorf("telegram: Config.WebhookSecret: %w", err)
		}
	}
	a := &Adapter{
		cfg:      cfg,
		client:   cfg.HTTPClient,
		log:      cfg.Logger.With("component", "telegram", "bot", cfg.BotID),
		redactor: redactor,
		sleep:    sleepCtx,
		now:      time.Now,
		jitter:   rand.Float64,
		progress: map[string]int{},
	}
	a.status = channel.NewStatusTracker(cfg.BotID, ChannelName, "", func() time.Time { return a.now() })
	a.setSecret(cfg.WebhookSecret)
	// The library's constructor calls getMe; a BotAPI built by hand does
	// not, and every call gets its own context-bound client (see api).
	a.bot = &tgbotapi.BotAPI{Token: cfg.Token, Buffer: 100}
	a.bot.SetAPIEndpoint(cfg.APIEndpoint)
	return a, nil
}

// Connect checks the token with getMe and remembers who the bot is. An
// error wrapping ErrTokenRejected is permanent; any other may pass.
func (a *Adapter) Connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	me, err := a.api(ctx).GetMe()
	if err != nil {
		return a.getMeError(err)
	}
	a.self.Store(&me)
	a.log.Debug("connected", "username", me.UserName, "telegram_id", me.ID)
	return nil
}

// getMeError explains why the constructor's getMe failed.
func (a *Adapter) getMeError(err error) error {
	err = a.redact(err)
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		switch te.Code {
		case http.StatusUnauthorized:
			return fmt.Errorf("telegram: getMe: %w (check Config.Token): %w", ErrTokenRejected, err)
		case http.StatusNotFound:
			return fmt.Errorf("telegram: getMe: not found: the token is unknown or Config.APIEndpoint %q is wrong: %w: %w",
				a.redactString(a.cfg.APIEndpoint), ErrTokenRejected, err)
		}
		return fmt.Errorf("telegram: getMe: Bot API error %d: %w", te.Code, err)
	}
	return fmt.Errorf("telegram: getMe: cannot reach the Bot API at %q: %w", a.redactString(a.cfg.APIEndpoint), err)
}

// Username is the bot's Telegram username (without "@"), as getMe reported
// it; deep links are https://t.me/<username>?start=<payload>.
// It is "" until Connect succeeded.
func (a *Adapter) Username() string {
	if me := a.self.Load(); me != nil {
		return me.UserName
	}
	return ""
}

// Status is the channel's state: connecting, connected, degraded (Run
// retries) or failed (the token was rejected).
func (a *Adapter) Status() channel.Status { return a.status.Status() }

// Limits are Telegram's rate limits, for the runtime's token buckets.
func (a *Adapter) Limits() channel.Limits { return channel.TelegramLimits }

// api returns a copy of the library's client whose requests carry ctx:
// go-telegram-bot-api builds requests with http.NewRequest, so without this
// neither cancellation nor deadlines would reach the network.
func (a *Adapter) api(ctx context.Context) *tgbotapi.BotAPI {
	b := *a.bot
	b.Client = a.doer(ctx)
	return &b
}

func (a *Adapter) doer(ctx context.Context) ctxDoer {
	return ctxDoer{ctx: ctx, client: a.client, redactor: a.redactor}
}

// ctxDoer is a tgbotapi.HTTPClient that binds requests to a context and
// keeps the token out of transport errors.
type ctxDoer struct {
	ctx      context.Context
	client   *http.Client
	redactor *strings.Replacer
}

func (d ctxDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req.WithContext(d.ctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = d.redactor.Replace(ue.URL)
		}
		return nil, err
	}
	return resp, nil
}

// redact makes sure err's text does not contain the token.
func (a *Adapter) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := a.redactString(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

func (a *Adapter) redactString(s string) string { return a.redactor.Replace(s) }

// redactedError keeps the chain of an error for errors.Is/As while hiding
// the token from its text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// call makes one Bot API request bounded by RequestTimeout.
func (a *Adapter) call(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	resp, err := a.api(ctx).MakeRequest(method, params)
	return resp, a.redact(err)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
