package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/engine/channel"
)

// Default back-off between Run's attempts to reach Telegram: 1 s doubling
// to 1 min, each wait shortened by up to a quarter at random so that many
// bots (or replicas) that lost Telegram together do not retry in step.
const (
	DefaultRetryMin = time.Second
	DefaultRetryMax = time.Minute
)

// Modes of receiving updates, as Status().Mode reports them.
const (
	ModeWebhook = "webhook"
	ModePolling = "polling"
)

// RunOptions say how Run receives updates.
type RunOptions struct {
	// WebhookURL, when set, is registered with setWebhook (secret:
	// Config.WebhookSecret); empty means long polling.
	WebhookURL string
	// RetryMin and RetryMax bound the back-off between attempts
	// (DefaultRetryMin, DefaultRetryMax when zero).
	RetryMin, RetryMax time.Duration
}

// Run brings the bot's channel up and keeps it up until ctx ends: getMe,
// then setWebhook or long polling (updates go to h). While Telegram is
// unreachable, slow or answering errors, Status is degraded with the last
// error and Run tries again after a back-off (RunOptions); it never gives
// up on such errors, so the bot connects by itself when Telegram is back.
// A token Telegram rejects (401, or 404 from getMe) is permanent: Status
// becomes failed and Run returns an error wrapping ErrTokenRejected.
//
// In webhook mode Run returns nil once the webhook is registered; in
// polling mode it polls until ctx ends and then returns ctx.Err(). Start
// the HTTP server first: Run may take a long time to connect, and the
// adapter sends and takes webhook requests meanwhile.
func (a *Adapter) Run(ctx context.Context, h channel.Handler, o RunOptions) error {
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	mode := ModePolling
	if o.WebhookURL != "" {
		mode = ModeWebhook
		if a.cfg.WebhookSecret == "" {
			err := errors.New("telegram: webhook mode needs Config.WebhookSecret")
			a.status.Failed(err.Error())
			return err
		}
	}
	a.status.SetMode(mode)
	failures := 0
	// again records a failed attempt and waits before the next one; it
	// returns an error when there is no next one.
	again := func(step string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := a.redactString(err.Error())
		if permanent(err) {
			a.status.Failed(msg)
			a.log.Error("telegram refused the bot token; the channel stays down until the configuration is fixed", "step", step, "err", msg)
			return err
		}
		failures++
		wait := a.retryDelay(failures, o)
		var te *tgbotapi.Error
		if errors.As(err, &te) {
			wait = max(wait, retryAfter(te)) // a 429 says how long to stay away
		}
		a.status.Degraded(msg, a.now().Add(wait))
		a.log.Warn("telegram unreachable, retrying", "step", step, "attempt", failures, "retry_in", wait.Round(time.Millisecond), "err", msg)
		return a.sleep(ctx, wait)
	}

	for a.self.Load() == nil {
		if err := a.Connect(ctx); err != nil {
			if stop := again("getMe", err); stop != nil {
				return stop
			}
		}
	}
	a.log.Info("connected", "username", a.Username(), "attempts", failures+1)
	failures = 0
	if mode == ModeWebhook {
		for {
			err := a.SetWebhook(ctx, o.WebhookURL, a.cfg.WebhookSecret)
			if err == nil {
				a.status.Connected(a.Username())
				return nil
			}
			if stop := again("setWebhook", err); stop != nil {
				return stop
			}
		}
	}
	for {
		err := a.Poll(ctx, h)
		if errors.Is(err, ErrPolling) {
			return err
		}
		if err == nil { // Poll only ends with an error; be safe anyway
			err = errors.New("telegram: polling ended")
		}
		if stop := again("getUpdates", err); stop != nil {
			return stop
		}
	}
}

// retryDelay is the wait after the n-th failure in a row: RetryMin doubling
// up to RetryMax, minus up to a quarter of jitter.
func (a *Adapter) retryDelay(n int, o RunOptions) time.Duration {
	d := o.RetryMin
	for i := 1; i < n && d < o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, o.RetryMax)
	return d - time.Duration(float64(d/4)*a.jitter())
}

// permanent tells errors retrying cannot fix: Telegram does not know the token.
func permanent(err error) bool {
	if errors.Is(err, ErrTokenRejected) {
		return true
	}
	var te *tgbotapi.Error
	return errors.As(err, &te) && te.Code == http.StatusUnauthorized
}

// markPolling records a getUpdates outcome in Status: any answer means
// connected, a failure degraded until the retry at wait from now.
func (a *Adapter) markPolling(err error, wait time.Duration) {
	if err == nil {
		a.status.Connected(a.Username())
		return
	}
	a.status.Degraded(a.redactString(fmt.Sprint(err)), a.now().Add(wait))
}
