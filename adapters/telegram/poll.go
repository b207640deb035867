package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/engine/channel"
)

// Back-off after failed polls and failed handler calls: 0.5 s doubling to
// 30 s, reset by the next success.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

func backoff(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := backoffMin
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// Poll receives updates by getUpdates long polling and hands them to h one
// at a time, in update order, until ctx is done (it then returns
// ctx.Err()) or polling cannot go on.
//
// An update is confirmed to Telegram (the next request's offset moves past
// it) only after h.Handle returned nil for it, so a crash or a failing
// handler means redelivery, never loss; the runtime drops the repeats.
// When Handle fails, Poll backs off and asks for the same update again.
// A 429 waits retry_after; network errors, undecodable answers and 5xx
// back off and retry. It returns a *ConflictError on 409 (a webhook is set,
// or another process polls with the same token), and an error on any other
// 4xx (a revoked token, a wrong endpoint), which retrying cannot fix.
//
// Updates are handled sequentially, which keeps each chat's order; a bot
// that outgrows one handler at a time should use the webhook, where
// Telegram sends different chats in parallel.
func (a *Adapter) Poll(ctx context.Context, h channel.Handler) error {
	if !a.polling.CompareAndSwap(false, true) {
		return ErrPolling
	}
	defer a.polling.Store(false)

	if a.cfg.DeleteWebhookOnPoll {
		if err := a.DeleteWebhook(ctx, false); err != nil {
			return fmt.Errorf("telegram: poll: %w", err)
		}
	}
	timeout := a.pollTimeout()
	a.log.Info("polling", "timeout", timeout)

	var (
		offset         int64 // 0: start from the oldest unconfirmed update
		pollFailures   int
		handleFailures int
		answered       bool // Telegram answered a getUpdates of this Poll
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The first request does not wait for updates: its answer shows at
		// once (in Status) that polling works.
		t := timeout
		if !answered {
			t = 0
		}
		batch, err := a.getUpdates(ctx, offset, t)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			wait, fatal := a.pollFailure(err, &pollFailures)
			if fatal != nil {
				return fatal
			}
			a.markPolling(err, wait)
			if err := a.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if !answered || pollFailures > 0 {
			a.markPolling(nil, 0)
		}
		answered = true
		pollFailures = 0
		if len(batch) == 0 && t == 0 && timeout == 0 {
			// Short polling (see pollTimeout): do not hammer the API.
			if err := a.sleep(ctx, time.Second); err != nil {
				return err
			}
			continue
		}
		for _, raw := range batch {
			u, err := decodeUpdate(raw)
			if err != nil {
				// Telegram never sends this; log loudly, step over it if we
				// can tell its id, so one bad update cannot wedge the bot.
				id := peekUpdateID(raw)
				if id < 0 {
					handleFailures++
					a.log.Error("update without an update_id, polling again", "err", err, "update", truncate(string(raw), 512))
					if err := a.sleep(ctx, backoff(handleFailures)); err != nil {
						return err
					}
					break
				}
				a.log.Error("undecodable update skipped", "update_id", id, "err", err, "update", truncate(string(raw), 512))
				offset = max(offset, id+1)
				continue
			}
			if u.UpdateID < offset {
				continue // already handled: Telegram repeated it
			}
			if err := a.dispatch(ctx, h, u); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				handleFailures++
				wait := backoff(handleFailures)
				a.log.Warn("handler failed, the update will be redelivered", "update_id", u.UpdateID, "retry_in", wait, "err", err)
				if err := a.sleep(ctx, wait); err != nil {
					return err
				}
				break // poll again from offset: this update comes back first
			}
			handleFailures = 0
			offset = u.UpdateID + 1
		}
	}
}

// pollTimeout is the long-poll timeout, shortened to fit an HTTP client
// timeout if the caller set one (a poll must end before the client gives
// up on it, or every poll would look like a network error).
func (a *Adapter) pollTimeout() time.Duration {
	t := a.cfg.PollTimeout
	if ct := a.client.Timeout; ct > 0 && ct < t+5*time.Second {
		t = max(0, (ct - 5*time.Second).Truncate(time.Second))
		a.log.Warn("HTTPClient.Timeout is shorter than the long-poll timeout; polling with a shorter timeout",
			"client_timeout", ct, "poll_timeout", t)
	}
	return t
}

// getUpdates makes one long poll and returns the raw updates; each is
// decoded on its own so one bad update does not sink the batch.
func (a *Adapter) getUpdates(ctx context.Context, offset int64, timeout time.Duration) ([]json.RawMessage, error) {
	params := tgbotapi.Params{
		"limit":           "100",
		"timeout":         strconv.Itoa(int(timeout / time.Second)),
		"allowed_updates": allowedUpdates,
	}
	if offset > 0 {
		params["offset"] = strconv.FormatInt(offset, 10)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+pollMargin)
	defer cancel()
	resp, err := a.api(ctx).MakeRequest("getUpdates", params)
	if err != nil {
		return nil, a.redact(err)
	}
	var batch []json.RawMessage
	if err := json.Unmarshal(resp.Result, &batch); err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: decode result: %w", err)
	}
	return batch, nil
}

// pollFailure decides what a failed getUpdates means: how long to wait
// before the next one, or a fatal error to return.
func (a *Adapter) pollFailure(err error, failures *int) (wait time.Duration, fatal error) {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		*failures++
		wait = backoff(*failures)
		a.log.Warn("getUpdates failed, retrying", "retry_in", wait, "err", err)
		return wait, nil
	}
	switch {
	case te.Code == http.StatusConflict:
		return 0, &ConflictError{
			Webhook:     strings.Contains(strings.ToLower(te.Message), "webhook"),
			Description: te.Message,
		}
	case te.Code == http.StatusTooManyRequests:
		wait = retryAfter(te)
		a.log.Warn("getUpdates rate limited", "retry_after", wait)
		return wait, nil
	case te.Code >= 500:
		*failures++
		wait = max(backoff(*failures), retryAfter(te))
		a.log.Warn("getUpdates failed, retrying", "retry_in", wait, "err", err)
		return wait, nil
	case te.Code == http.StatusUnauthorized:
		return 0, fmt.Errorf("telegram: getUpdates: %w (revoked?): %w", ErrTokenRejected, err)
	}
	return 0, fmt.Errorf("telegram: getUpdates: %d %s: %w", te.Code, te.Message, err)
}

// peekUpdateID reads update_id from an update that failed to decode as a
// whole; -1 if even that is impossible.
func peekUpdateID(raw []byte) int64 {
	var u struct {
		UpdateID int64 `json:"update_id"`
	}
	if json.Unmarshal(raw, &u) != nil || u.UpdateID <= 0 {
		return -1
	}
	return u.UpdateID
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
