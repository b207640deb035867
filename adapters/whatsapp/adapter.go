// Package whatsapp is Voronka's WhatsApp Business Cloud API channel
// (PLATFORMS.md §3): it verifies and reads the webhook (GET with
// hub.challenge, POSTs signed with X-Hub-Signature-256), turns messages,
// button and list replies into channel.Inbound and statuses into
// channel.Receipt, and sends texts, reply buttons, lists and templates.
//
// # Inbound
//
//   - text: KindText. button_reply / list_reply: KindPress with Payload =
//     the button's id (Voronka puts the payload there) and Text = its title.
//     A template's quick-reply button ("button"): KindPress with its payload.
//     Media, locations, contacts: KindText with empty Text, so a question
//     re-prompts instead of the message vanishing.
//   - statuses (sent, delivered, read, failed with errors): receipts, for a
//     Handler that is also a channel.ReceiptHandler. WhatsApp sends them
//     out of order and sometimes skips delivered; each carries its own time.
//     WhatsApp has no block signal: a failed status with 131026
//     (undeliverable, which a block gives) or 131021 is marked Unreachable,
//     one with 131050 (marketing opt-out) OptedOut, for the runtime to mark
//     the contact blocked or its consent off.
//   - UpdateID is "wa:<wamid>"; WhatsApp retries a webhook for days, and the
//     runtime drops the repeats.
//
// # Sending
//
// Texts are split at 4,096 characters (paragraph, line, then word
// boundaries). Up to 3 buttons whose labels fit 20 characters go as reply
// buttons (body ≤ 1,024, so the text before them is split to fit); more
// buttons, or longer labels, go as a list message (≤ 10 rows, titles ≤ 24,
// a longer label cut there and given whole as the row's description).
// More than 10 buttons cannot be sent (the flow validator warns).
//
// The 24-hour window: a free-form message is allowed only within 24 h of
// the person's last message (Outbound.LastInbound). Outside it a message
// with a Template is sent as that template; one without is not attempted,
// and Send fails with channel.ErrNeedsTemplate (code 131047) so the
// runtime records why.
package whatsapp

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
	"time"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine/channel"
)

// ChannelName is the Inbound.Channel of this adapter.
const ChannelName = "whatsapp"

// DefaultAPIURL is the Graph API; APIVersion the version in its paths.
const (
	DefaultAPIURL = "https://graph.facebook.com"
	APIVersion    = "v21.0"
)

// WhatsApp's limits (PLATFORMS.md §3).
const (
	MaxText        = 4096
	MaxButtonBody  = 1024
	MaxButtons     = 3
	MaxButtonTitle = 20
	MaxButtonID    = 256
	MaxRows        = 10
	MaxRowTitle    = 24
	MaxRowDesc     = 72
	MaxRowID       = 200
	MaxListButton  = 20
	// Window is how long after the person's last message free-form
	// messages are allowed.
	Window = 24 * time.Hour
)

// Limits are WhatsApp's default throughput (80 msg/s) and the pair rate
// to one user (about one message per 6 s after a short burst).
var Limits = channel.Limits{PerSecond: 80, Burst: 80, PerChatSecond: 1.0 / 6, PerChatBurst: 10}

// Config configures an Adapter.
type Config struct {
	BotID         string
	PhoneNumberID string
	// Token is the access token (a system user's permanent token).
	Token string
	// AppSecret signs the webhook's POSTs (X-Hub-Signature-256).
	AppSecret string
	// VerifyToken is what Meta's console sends with the GET verification.
	VerifyToken string
	// APIURL is the Graph API base (default DefaultAPIURL): a fake or a
	// proxy in tests.
	APIURL     string
	HTTPClient *http.Client
	Logger     *slog.Logger
	// RequestTimeout bounds one API call (default 30 s).
	RequestTimeout time.Duration
	// ListButton is the label of the button that opens a list message
	// (default "Выбрать").
	ListButton string
}

// Adapter is one WhatsApp business phone number. Safe for concurrent use.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	redact   msgkit.Redactor
	progress msgkit.Progress
	status   *channel.StatusTracker
	now      func() time.Time
}

// New checks cfg and returns an Adapter; it makes no request.
func New(cfg Config) (*Adapter, error) {
	switch {
	case cfg.BotID == "":
		return nil, errors.New("whatsapp: Config.BotID is empty")
	case cfg.PhoneNumberID == "":
		return nil, errors.New("whatsapp: phone_number_id is empty")
	case cfg.Token == "":
		return nil, errors.New("whatsapp: token is empty")
	case cfg.AppSecret == "":
		return nil, errors.New("whatsapp: app_secret is empty (webhook signatures cannot be checked without it)")
	case cfg.VerifyToken == "":
		return nil, errors.New("whatsapp: verify_token is empty")
	}
	for _, c := range cfg.PhoneNumberID {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("whatsapp: phone_number_id %q is not a number (it is the id Meta shows, not the phone number)", cfg.PhoneNumberID)
		}
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
	if cfg.ListButton == "" {
		cfg.ListButton = "Выбрать"
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger.With("component", "whatsapp", "bot", cfg.BotID),
		redact: msgkit.NewRedactor(cfg.Token, cfg.AppSecret), now: time.Now}
	a.status = channel.NewStatusTracker(cfg.BotID, ChannelName, "webhook", func() time.Time { return a.now() })
	return a, nil
}

// Limits are WhatsApp's rate limits.
func (a *Adapter) Limits() channel.Limits { return Limits }

// Status is the channel's state: connected once a webhook request or a
// send got through, degraded after failures.
func (a *Adapter) Status() channel.Status { return a.status.Status() }

// apiError is a Graph API error answer.
type apiError struct {
	Status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Data    struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("whatsapp: %d: %s", e.Code, e.Message)
	if e.Data.Details != "" {
		s += " (" + e.Data.Details + ")"
	}
	return s
}

// post sends one message body and returns the new message's wamid.
func (a *Adapter) post(ctx context.Context, body any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("whatsapp: encode message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	u := a.cfg.APIURL + "/" + APIVersion + "/" + a.cfg.PhoneNumberID + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return "", a.redact.Err(fmt.Errorf("whatsapp: build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", a.redact.Err(fmt.Errorf("whatsapp: send: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", a.redact.Err(fmt.Errorf("whatsapp: read answer: %w", err))
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
		Error *apiError `json:"error"`
	}
	if jerr := json.Unmarshal(raw, &out); jerr != nil || (resp.StatusCode != 200 && out.Error == nil) {
		return "", &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("HTTP %d with a body that is not a Graph answer", resp.StatusCode)}
	}
	if out.Error != nil {
		out.Error.Status = resp.StatusCode
		out.Error.Message = a.redact.String(out.Error.Message)
		return "", out.Error
	}
	if len(out.Messages) == 0 {
		return "", nil
	}
	return out.Messages[0].ID, nil
}

// classify turns a failed call into a *channel.SendError (PLATFORMS.md §3).
func classify(err error) *channel.SendError {
	var ae *apiError
	if !errors.As(err, &ae) {
		return &channel.SendError{Retryable: true, Err: err}
	}
	se := &channel.SendError{Code: ae.Code, Err: err}
	switch {
	case ae.Code == 130429: // throughput: back off
		se.Retryable, se.RetryAfter = true, 2*time.Second
	case ae.Code == 131056: // pair rate to this user
		se.Retryable, se.RetryAfter = true, 6*time.Second
	case ae.Code == 131047: // outside the 24-hour window
		se.Err = fmt.Errorf("%w: %w", channel.ErrNeedsTemplate, err)
	case ae.Code == CodeUndeliverable, ae.Code == CodeRecipientIsSender: // not reachable
		se.Blocked = true
	case ae.Code == 0 && ae.Status >= 500, ae.Status >= 500,
		ae.Code == 1, ae.Code == 2, ae.Code == 4, ae.Code == 80007, ae.Code == 131000, ae.Code == 133004:
		se.Retryable, se.RetryAfter = true, time.Second
	case ae.Code == 0 && ae.Status == 0:
		se.Retryable = true
	}
	return se
}
