// Package vk is Voronka's VK channel: community bots on the Callback API
// (PLATFORMS.md §5).
//
// # Callback API
//
// The community's callback server is set in VK's settings (the builder
// shows the URL): VK first sends {"type":"confirmation"} and must get the
// community's confirmation string back as plain text; every other event is
// answered "ok" once recorded. The secret in each event is checked (401 and
// nothing handed on otherwise); event_id is unique per event, and repeats
// (VK retries what was not answered "ok") are dropped here and by the
// runtime (UpdateID "vk:<event_id>").
//
//   - message_new: KindText, or KindPress when it carries a payload of a
//     Voronka button ({"b":"<payload>"}).
//   - message_event (a callback button): KindPress, answered with
//     messages.sendMessageEventAnswer once recorded, so the spinner stops.
//   - message_allow: KindUnblocked; message_deny: KindBlocked (consent).
//   - message_read: a read receipt up to read_message_id.
//
// # Sending
//
// messages.send, form-encoded, with random_id derived from
// Outbound.IdempotencyKey and the part's number, so VK itself drops a
// message resent after a crash. Texts are split at 4,096 characters.
// Buttons go as an inline keyboard of callback buttons (≤ 10, ≤ 5 a row,
// two a row when labels are short), more as a standard one-time keyboard
// (≤ 40); labels are cut at 40 characters. Errors 6 and 9 are retryable
// after a pause, 10 and HTTP 5xx retryable; 900, 901 and 902 mark the
// contact unreachable (blocked); 5 (bad token) fails the channel.
package vk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// ChannelName is the Inbound.Channel of this adapter.
const ChannelName = "vk"

// DefaultAPIURL is the VK API base; APIVersion the version sent.
const (
	DefaultAPIURL = "https://api.vk.com/method"
	APIVersion    = "5.199"
)

// VK's limits.
const (
	// MaxText is where Voronka splits texts: messages.send takes more
	// (PLATFORMS.md says 9,000), but long messages read badly in the app
	// and clients differ; 4,096 is safe everywhere.
	MaxText        = 4096
	MaxLabel       = 40
	MaxPayload     = 255
	MaxInlineKeys  = 10
	MaxKeys        = 40
	MaxPerRow      = 5
	MaxInlineRows  = 6
	MaxRows        = 10
	shortLabel     = 16
	dedupeCapacity = 50_000
)

// Limits: about 20 requests a second with a community token.
var Limits = channel.Limits{PerSecond: 20, Burst: 20, PerChatSecond: 1, PerChatBurst: 3}

// Config configures an Adapter.
type Config struct {
	BotID   string
	GroupID int64
	Token   string // the community's access token
	// Secret is the callback server's secret key; events without it are
	// refused.
	Secret string
	// Confirmation is the string VK expects back for the confirmation event.
	Confirmation   string
	APIURL         string // default DefaultAPIURL
	HTTPClient     *http.Client
	Logger         *slog.Logger
	RequestTimeout time.Duration
}

// Adapter is one VK community. Safe for concurrent use.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	redact   msgkit.Redactor
	progress msgkit.Progress
	status   *channel.StatusTracker
	now      func() time.Time

	// seen holds recently recorded event ids (first in, first out), so a
	// repeated event is answered "ok" without being handled again.
	seenMu  sync.Mutex
	seen    map[string]struct{}
	seenLog []string
}

// New checks cfg; it makes no request.
func New(cfg Config) (*Adapter, error) {
	switch {
	case cfg.BotID == "":
		return nil, errors.New("vk: Config.BotID is empty")
	case cfg.GroupID <= 0:
		return nil, errors.New("vk: group id must be a positive number")
	case cfg.Token == "":
		return nil, errors.New("vk: token is empty")
	case cfg.Secret == "":
		return nil, errors.New("vk: secret is empty (set a secret key for the callback server in VK)")
	case cfg.Confirmation == "":
		return nil, errors.New("vk: confirmation string is empty (VK shows it in the callback server settings)")
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
	a := &Adapter{cfg: cfg, log: cfg.Logger.With("component", "vk", "bot", cfg.BotID),
		redact: msgkit.NewRedactor(cfg.Token, cfg.Secret, url.QueryEscape(cfg.Token)), now: time.Now, seen: map[string]struct{}{}}
	a.status = channel.NewStatusTracker(cfg.BotID, ChannelName, "webhook", func() time.Time { return a.now() })
	return a, nil
}

// Limits are VK's rate limits.
func (a *Adapter) Limits() channel.Limits { return Limits }

// Status is the channel's state.
func (a *Adapter) Status() channel.Status { return a.status.Status() }

// APIError is a VK API error.
type APIError struct {
	Code int    `json:"error_code"`
	Msg  string `json:"error_msg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("vk: error %d: %s", e.Code, e.Msg) }

type httpError struct{ status int }

func (e *httpError) Error() string { return fmt.Sprintf("vk: HTTP %d", e.status) }

// ErrTokenRejected: VK answered error 5.
var ErrTokenRejected = errors.New("vk: the community token was rejected (error 5)")

// call makes one form-encoded API call and decodes response into out.
func (a *Adapter) call(ctx context.Context, method string, params url.Values, out any) error {
	params.Set("access_token", a.cfg.Token)
	params.Set("v", APIVersion)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIURL+"/"+method, strings.NewReader(params.Encode()))
	if err != nil {
		return a.redact.Err(fmt.Errorf("vk: %s: %w", method, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return a.redact.Err(fmt.Errorf("vk: %s: %w", method, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return a.redact.Err(fmt.Errorf("vk: %s: read answer: %w", method, err))
	}
	if resp.StatusCode != http.StatusOK {
		return &httpError{status: resp.StatusCode}
	}
	var body struct {
		Response json.RawMessage `json:"response"`
		Error    *APIError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return &httpError{status: 502}
	}
	if body.Error != nil {
		body.Error.Msg = a.redact.String(body.Error.Msg)
		if body.Error.Code == 5 {
			return fmt.Errorf("%w: %w", ErrTokenRejected, body.Error)
		}
		return body.Error
	}
	if out != nil {
		if err := json.Unmarshal(body.Response, out); err != nil {
			return fmt.Errorf("vk: %s: decode response: %w", method, err)
		}
	}
	return nil
}

// Connect checks the token with groups.getById and returns the
// community's name. An error wrapping ErrTokenRejected is permanent.
func (a *Adapter) Connect(ctx context.Context) (string, error) {
	var res struct {
		Groups []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"groups"`
	}
	err := a.call(ctx, "groups.getById", url.Values{"group_id": {strconv.FormatInt(a.cfg.GroupID, 10)}}, &res)
	if err != nil {
		if errors.Is(err, ErrTokenRejected) {
			a.status.Failed(err.Error())
		} else {
			a.status.Degraded(err.Error(), time.Time{})
		}
		return "", err
	}
	name := ""
	if len(res.Groups) > 0 {
		if res.Groups[0].ID != a.cfg.GroupID {
			err := fmt.Errorf("vk: the token belongs to community %d, not %d", res.Groups[0].ID, a.cfg.GroupID)
			a.status.Failed(err.Error())
			return "", err
		}
		name = res.Groups[0].Name
	}
	a.status.Connected(name)
	return name, nil
}

// classify turns a failed call into a *channel.SendError.
func classify(err error) *channel.SendError {
	var ae *APIError
	if errors.As(err, &ae) {
		se := &channel.SendError{Code: ae.Code, Err: err}
		switch ae.Code {
		case 6: // too many requests per second
			se.Retryable, se.RetryAfter = true, time.Second
		case 9: // flood control
			se.Retryable, se.RetryAfter = true, 10*time.Second
		case 10: // internal server error
			se.Retryable, se.RetryAfter = true, time.Second
		case 900, 901, 902: // blacklist, no permission, privacy
			se.Blocked = true
		}
		return se
	}
	var he *httpError
	if errors.As(err, &he) {
		return &channel.SendError{Retryable: he.status >= 500 || he.status == 429, Code: he.status, RetryAfter: time.Second, Err: err}
	}
	return &channel.SendError{Retryable: true, Err: err}
}

// remember marks event id as recorded; false if it already was.
func (a *Adapter) remember(id string) {
	a.seenMu.Lock()
	defer a.seenMu.Unlock()
	if _, ok := a.seen[id]; ok {
		return
	}
	a.seen[id] = struct{}{}
	a.seenLog = append(a.seenLog, id)
	if len(a.seenLog) > dedupeCapacity {
		delete(a.seen, a.seenLog[0])
		a.seenLog = a.seenLog[1:]
	}
}

func (a *Adapter) seenBefore(id string) bool {
	a.seenMu.Lock()
	defer a.seenMu.Unlock()
	_, ok := a.seen[id]
	return ok
}
