// Package viber is Voronka's Viber channel (REST Bot API, PLATFORMS.md §4).
//
// Connect checks the token (get_account_info) and registers the webhook
// (set_webhook); Viber confirms it with a signed "webhook" callback, which
// Webhook answers. Every callback must carry X-Viber-Content-Signature,
// hex(HMAC-SHA256(body, token)); anything else gets 401 and is not handed
// on.
//
// # Callbacks
//
//   - message: KindText, or KindPress when the text is the ActionBody of a
//     button of the message it answers (Voronka puts the buttons' payloads
//     in tracking_data, which Viber returns with the reply).
//   - subscribed: KindUnblocked; unsubscribed: KindBlocked (consent off, so
//     broadcasts skip the person).
//   - conversation_started (the person opened the chat; they cannot be
//     written to until they write or subscribe): answered in the response
//     body with the configured welcome message, as Viber allows; not handed
//     on.
//   - delivered, seen, failed: receipts (delivered, read, failed).
//   - message_token is read as an int64 (it exceeds 2^53, where a float
//     loses digits); UpdateID is "vb:<message_token>".
//
// # Sending
//
// send_message with the sender name, the text split at 7,000 characters,
// and buttons as a Viber keyboard (ActionType reply, silent, ActionBody =
// payload; two per row when labels are short). Viber answers HTTP 200 with
// a status: 12 (tooManyRequests) is retryable after a pause; 5
// (receiverNotRegistered), 6 (receiverNotSubscribed) and 11
// (receiverNoSuitableDevice) mark the contact blocked; 7 (account blocked)
// and 2 (bad token) fail the channel.
package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// ChannelName is the Inbound.Channel of this adapter.
const ChannelName = "viber"

// DefaultAPIURL is the Viber Bot API base.
const DefaultAPIURL = "https://chatapi.viber.com/pa"

// Viber's limits (text and keyboard sizes unverified, see PLATFORMS.md §4).
const (
	MaxText       = 7000
	MaxSenderName = 28
	MaxTracking   = 4000
	MaxButtons    = 24
	shortLabel    = 16
)

// Limits: broadcasts allow 500 requests per 10 s; one chat is kept to a
// message a second after a short burst.
var Limits = channel.Limits{PerSecond: 50, Burst: 50, PerChatSecond: 1, PerChatBurst: 5}

// Config configures an Adapter.
type Config struct {
	BotID string
	Token string
	// SenderName is shown as the sender (≤ 28 characters; default the
	// account's name from get_account_info, else "Voronka").
	SenderName string
	// Welcome is the message answered to conversation_started ("" sends
	// none).
	Welcome string
	// APIURL is the Bot API base (default DefaultAPIURL).
	APIURL         string
	HTTPClient     *http.Client
	Logger         *slog.Logger
	RequestTimeout time.Duration
}

// Adapter is one Viber bot account. Safe for concurrent use.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	redact   msgkit.Redactor
	progress msgkit.Progress
	status   *channel.StatusTracker
	now      func() time.Time
	// account is the account's name from get_account_info, the sender
	// name when none is configured.
	account atomic.Pointer[string]
}

// New checks cfg; it makes no request.
func New(cfg Config) (*Adapter, error) {
	if cfg.BotID == "" {
		return nil, errors.New("viber: Config.BotID is empty")
	}
	if cfg.Token == "" {
		return nil, errors.New("viber: token is empty")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = msgkit.Client()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	cfg.SenderName = msgkit.Truncate(cfg.SenderName, MaxSenderName)
	a := &Adapter{cfg: cfg, log: cfg.Logger.With("component", "viber", "bot", cfg.BotID),
		redact: msgkit.NewRedactor(cfg.Token), now: time.Now}
	a.status = channel.NewStatusTracker(cfg.BotID, ChannelName, "webhook", func() time.Time { return a.now() })
	return a, nil
}

// Limits are Viber's rate limits.
func (a *Adapter) Limits() channel.Limits { return Limits }

// Status is the channel's state.
func (a *Adapter) Status() channel.Status { return a.status.Status() }

// StatusError is a non-zero Viber status.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("viber: status %d: %s", e.Status, e.Message) }

// ErrTokenRejected: Viber answered invalidAuthToken.
var ErrTokenRejected = errors.New("viber: the token was rejected (invalidAuthToken)")

// call POSTs a method and decodes the answer into out (which must have
// room for status and status_message); a non-zero status is a
// *StatusError.
func (a *Adapter) call(ctx context.Context, method string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("viber: encode %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIURL+"/"+method, bytes.NewReader(b))
	if err != nil {
		return a.redact.Err(fmt.Errorf("viber: %s: %w", method, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Viber-Auth-Token", a.cfg.Token)
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return a.redact.Err(fmt.Errorf("viber: %s: %w", method, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return a.redact.Err(fmt.Errorf("viber: %s: read answer: %w", method, err))
	}
	if resp.StatusCode != http.StatusOK {
		return &httpError{status: resp.StatusCode, method: method}
	}
	var st struct {
		Status        int    `json:"status"`
		StatusMessage string `json:"status_message"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return &httpError{status: resp.StatusCode, method: method, undecodable: true}
	}
	if st.Status != 0 {
		se := &StatusError{Status: st.Status, Message: a.redact.String(st.StatusMessage)}
		if st.Status == 2 {
			return fmt.Errorf("%w: %w", ErrTokenRejected, se)
		}
		return se
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("viber: %s: decode answer: %w", method, err)
		}
	}
	return nil
}

type httpError struct {
	status      int
	method      string
	undecodable bool
}

func (e *httpError) Error() string {
	if e.undecodable {
		return fmt.Sprintf("viber: %s: HTTP %d with a body that is not JSON", e.method, e.status)
	}
	return fmt.Sprintf("viber: %s: HTTP %d", e.method, e.status)
}

// Connect checks the token (get_account_info), takes the account's name
// as the sender name unless one was configured, and registers webhookURL
// (set_webhook; Viber calls it back at once, so the route must already be
// served). An error wrapping ErrTokenRejected is permanent.
func (a *Adapter) Connect(ctx context.Context, webhookURL string) (account string, err error) {
	var info struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	if err := a.call(ctx, "get_account_info", struct{}{}, &info); err != nil {
		a.noteConnectError(err)
		return "", err
	}
	if webhookURL != "" {
		body := map[string]any{"url": webhookURL, "send_name": true, "send_photo": false,
			"event_types": []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}}
		if err := a.call(ctx, "set_webhook", body, nil); err != nil {
			a.noteConnectError(err)
			return "", fmt.Errorf("viber: set_webhook %s: %w", webhookURL, err)
		}
	}
	if info.Name != "" {
		a.account.Store(&info.Name)
	}
	a.status.Connected(info.Name)
	a.log.Info("connected", "account", info.Name, "webhook", webhookURL)
	return info.Name, nil
}

func (a *Adapter) noteConnectError(err error) {
	if errors.Is(err, ErrTokenRejected) {
		a.status.Failed(err.Error())
		return
	}
	a.status.Degraded(err.Error(), time.Time{})
}

// Disconnect removes the webhook (set_webhook with an empty URL).
func (a *Adapter) Disconnect(ctx context.Context) error {
	return a.call(ctx, "set_webhook", map[string]string{"url": ""}, nil)
}

// Layout checks that Viber can show buttons; the flow validator uses it.
func Layout(n int) error {
	if n > MaxButtons {
		return fmt.Errorf("%d buttons: a Viber keyboard holds at most %d", n, MaxButtons)
	}
	return nil
}

func labelsShort(labels []string) bool {
	for _, l := range labels {
		if utf8.RuneCountInString(l) > shortLabel {
			return false
		}
	}
	return true
}

// senderName is the configured sender name, else the account's, else
// "Voronka".
func (a *Adapter) senderName() string {
	if a.cfg.SenderName != "" {
		return a.cfg.SenderName
	}
	if n := a.account.Load(); n != nil {
		return msgkit.Truncate(*n, MaxSenderName)
	}
	return "Voronka"
}
