package telegram

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/engine/channel"
)

// Errors HandleWebhook returns next to its status code.
var (
	// ErrBadSecret: the X-Telegram-Bot-Api-Secret-Token header is missing
	// or wrong, or no secret is configured (status 401).
	ErrBadSecret = errors.New("telegram: webhook secret token missing or wrong")
	// ErrMalformedUpdate: the body is not a Bot API Update (status 400).
	ErrMalformedUpdate = errors.New("telegram: malformed update")
)

// ErrTokenRejected: Telegram does not know the bot token (getMe answered
// 401 Unauthorized or 404 Not Found). Retrying cannot fix it: the channel
// stays failed until the configuration changes.
var ErrTokenRejected = errors.New("the Bot API rejected the token")

// ErrPolling: Poll was called while another Poll of the same Adapter runs.
var ErrPolling = errors.New("telegram: Poll is already running on this adapter")

// ConflictError is getUpdates' 409: Telegram delivers updates to one
// consumer only, so polling cannot go on while a webhook is set or another
// process polls with the same token.
type ConflictError struct {
	// Webhook is true when a webhook is active, false when another
	// getUpdates request (another instance of the bot) took over.
	Webhook bool
	// Description is Telegram's text.
	Description string
}

func (e *ConflictError) Error() string {
	if e.Webhook {
		return fmt.Sprintf("telegram: cannot poll, a webhook is set for this bot (%q): "+
			"run in webhook mode, or delete the webhook (DeleteWebhook, or Config.DeleteWebhookOnPoll) to poll",
			e.Description)
	}
	return fmt.Sprintf("telegram: another getUpdates poller is running with this bot token (%q): "+
		"run exactly one polling instance per bot, or switch to webhook mode to run several", e.Description)
}

// classifySend turns a failed Bot API call into a *channel.SendError.
// Telegram's codes (PLATFORMS.md §1): 429 carries retry_after; 5xx, network
// failures and undecodable bodies (an HTML 502 from a proxy) are transient;
// 403 means the person blocked the bot, deleted the account or kicked it;
// 400 "chat not found" means the chat is gone; any other 400 is a bug in
// what we sent and will fail the same way again.
func classifySend(method string, err error) *channel.SendError {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		// Network, context, JSON decode: the request may not have reached
		// Telegram, or its answer did not reach us. Retry.
		return &channel.SendError{Retryable: true, Err: fmt.Errorf("telegram: %s: %w", method, err)}
	}
	se := &channel.SendError{Code: te.Code, Err: &wrappedAPIError{
		msg: fmt.Sprintf("telegram: %s: %d %s", method, te.Code, te.Message), err: te,
	}}
	switch {
	case te.Code == http.StatusTooManyRequests:
		se.Retryable = true
		se.RetryAfter = retryAfter(te)
	case te.Code >= 500:
		se.Retryable = true
		se.RetryAfter = retryAfter(te)
	case te.Code == http.StatusForbidden:
		se.Blocked = true
	case te.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(te.Message), "chat not found"):
		se.Blocked = true
	}
	return se
}

// wrappedAPIError gives a Bot API error a message with context while
// errors.As still finds the *tgbotapi.Error.
type wrappedAPIError struct {
	msg string
	err *tgbotapi.Error
}

func (e *wrappedAPIError) Error() string { return e.msg }
func (e *wrappedAPIError) Unwrap() error { return e.err }

// retryAfter reads the wait Telegram asked for: parameters.retry_after,
// else the "retry after N" in the description, else 0. A 429 always gets
// at least a second, so a runtime that trusts RetryAfter never spins.
func retryAfter(te *tgbotapi.Error) time.Duration {
	if te.RetryAfter > 0 {
		return time.Duration(te.RetryAfter) * time.Second
	}
	if _, after, ok := strings.Cut(strings.ToLower(te.Message), "retry after "); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(after)); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	if te.Code == http.StatusTooManyRequests {
		return time.Second
	}
	return 0
}
