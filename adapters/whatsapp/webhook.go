package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// SignatureHeader carries hex(HMAC-SHA256(body, app secret)) after "sha256=".
const SignatureHeader = "X-Hub-Signature-256"

// Errors the webhook reports.
var (
	ErrBadSignature = errors.New("whatsapp: X-Hub-Signature-256 missing or wrong")
	ErrBadVerify    = errors.New("whatsapp: webhook verification with a wrong verify_token")
	ErrMalformed    = errors.New("whatsapp: malformed webhook body")
)

// Webhook serves GET (Meta's verification: hub.challenge echoed only with
// the right hub.verify_token, else 403) and POST (401 without a valid
// signature, nothing handed on; 400 for a body that is not a webhook; 500
// when h failed, so WhatsApp retries; 200 once every message is recorded).
func (a *Adapter) Webhook(ctx context.Context, h channel.Handler, req channel.WebhookRequest) channel.WebhookResponse {
	if req.Method == http.MethodGet {
		q := req.Query
		if q.Get("hub.mode") == "subscribe" && equal(q.Get("hub.verify_token"), a.cfg.VerifyToken) && q.Get("hub.challenge") != "" {
			return channel.Text(http.StatusOK, q.Get("hub.challenge"))
		}
		a.log.Warn("webhook verification refused", "err", ErrBadVerify)
		return channel.Text(http.StatusForbidden, "verification failed")
	}
	if req.Method != http.MethodPost {
		return channel.Text(http.StatusMethodNotAllowed, "")
	}
	if !a.signed(req.Header.Get(SignatureHeader), req.Body) {
		return channel.Text(http.StatusUnauthorized, "bad signature")
	}
	ins, receipts, err := a.Parse(req.Body)
	if err != nil {
		return channel.Text(http.StatusBadRequest, err.Error())
	}
	a.status.Connected("")
	for _, in := range ins {
		if err := h.Handle(ctx, in); err != nil {
			a.log.Warn("handle message", "update", in.UpdateID, "err", err)
			return channel.Text(http.StatusInternalServerError, "not stored")
		}
	}
	if rh, ok := h.(channel.ReceiptHandler); ok {
		for _, r := range receipts {
			if err := rh.Receipt(ctx, r); err != nil {
				a.log.Warn("record status", "message", r.PlatformID, "status", r.Status, "err", err)
				return channel.Text(http.StatusInternalServerError, "not stored")
			}
		}
	}
	return channel.Text(http.StatusOK, "")
}

func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return b != "" && subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// signed checks X-Hub-Signature-256 in constant time.
func (a *Adapter) signed(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(a.cfg.AppSecret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

type webhookBody struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
					WaID string `json:"wa_id"`
				} `json:"contacts"`
				Messages []struct {
					From      string `json:"from"`
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
					Type      string `json:"type"`
					Text      struct {
						Body string `json:"body"`
					} `json:"text"`
					Interactive struct {
						Type        string `json:"type"`
						ButtonReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"button_reply"`
						ListReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"list_reply"`
					} `json:"interactive"`
					Button struct {
						Payload string `json:"payload"`
						Text    string `json:"text"`
					} `json:"button"`
				} `json:"messages"`
				Statuses []struct {
					ID          string `json:"id"`
					Status      string `json:"status"`
					Timestamp   string `json:"timestamp"`
					RecipientID string `json:"recipient_id"`
					Errors      []struct {
						Code    int    `json:"code"`
						Title   string `json:"title"`
						Message string `json:"message"`
					} `json:"errors"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// Parse reads a webhook body into inbound messages and receipts. Changes
// for another phone number than this adapter's are skipped (one app may
// serve several numbers).
func (a *Adapter) Parse(body []byte) ([]channel.Inbound, []channel.Receipt, error) {
	var b webhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b.Object != "whatsapp_business_account" {
		return nil, nil, fmt.Errorf("%w: object %q", ErrMalformed, b.Object)
	}
	var ins []channel.Inbound
	var rs []channel.Receipt
	for _, e := range b.Entry {
		for _, c := range e.Changes {
			v := c.Value
			if c.Field != "messages" || (v.Metadata.PhoneNumberID != "" && v.Metadata.PhoneNumberID != a.cfg.PhoneNumberID) {
				continue
			}
			names := map[string]string{}
			for _, ct := range v.Contacts {
				names[ct.WaID] = ct.Profile.Name
			}
			for _, m := range v.Messages {
				if m.From == "" || m.ID == "" {
					continue
				}
				in := channel.Inbound{
					Bot: a.cfg.BotID, Channel: ChannelName, Chat: m.From, UpdateID: "wa:" + m.ID,
					Kind: channel.KindText, Time: unix(m.Timestamp, a.now),
					Contact: engine.Contact{FirstName: names[m.From], Channel: ChannelName, Phone: "+" + m.From},
				}
				switch m.Type {
				case "text":
					in.Text = m.Text.Body
				case "interactive":
					switch m.Interactive.Type {
					case "button_reply":
						in.Kind, in.Payload, in.Text = channel.KindPress, m.Interactive.ButtonReply.ID, m.Interactive.ButtonReply.Title
					case "list_reply":
						in.Kind, in.Payload, in.Text = channel.KindPress, m.Interactive.ListReply.ID, m.Interactive.ListReply.Title
					}
				case "button":
					in.Kind, in.Payload, in.Text = channel.KindPress, m.Button.Payload, m.Button.Text
					if in.Payload == "" {
						in.Kind, in.Payload = channel.KindText, ""
					}
				}
				ins = append(ins, in)
			}
			for _, s := range v.Statuses {
				r := channel.Receipt{Bot: a.cfg.BotID, Channel: ChannelName, Chat: s.RecipientID, PlatformID: s.ID,
					Time: unix(s.Timestamp, a.now)}
				switch s.Status {
				case "sent":
					r.Status = channel.ReceiptSent
				case "delivered":
					r.Status = channel.ReceiptDelivered
				case "read":
					r.Status = channel.ReceiptRead
				case "failed":
					r.Status = channel.ReceiptFailed
					if len(s.Errors) > 0 {
						r.Code, r.Error = s.Errors[0].Code, s.Errors[0].Title
						if r.Error == "" {
							r.Error = s.Errors[0].Message
						}
						r.Unreachable, r.OptedOut = reach(r.Code)
					}
				default:
					continue // "deleted", "warning": nothing to record
				}
				if s.ID != "" {
					rs = append(rs, r)
				}
			}
		}
	}
	return ins, rs, nil
}

func unix(ts string, now func() time.Time) time.Time {
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC()
	}
	return now().UTC()
}

// Error codes that are about the person rather than the message
// (PLATFORMS.md §3 and §6: WhatsApp has no explicit block signal; these
// come by a failed status, or as the send's answer).
const (
	// CodeUndeliverable: the number is not on WhatsApp, its owner has not
	// accepted the terms, runs a too-old app, or blocked the business.
	CodeUndeliverable = 131026
	// CodeRecipientIsSender: the recipient is the business number itself.
	CodeRecipientIsSender = 131021
	// CodeMarketingOptOut: the person stopped the business's marketing
	// messages in WhatsApp.
	CodeMarketingOptOut = 131050
)

// reach says whether a failure code means the person cannot be reached
// (mark the contact blocked, like Telegram's 403) or opted out of
// marketing (consent off). 131047 (re-engagement: outside the 24-hour
// window) is neither: the person may write again, and a template still
// goes; it stays a failed event with its reason.
func reach(code int) (unreachable, optedOut bool) {
	switch code {
	case CodeUndeliverable, CodeRecipientIsSender:
		return true, false
	case CodeMarketingOptOut:
		return false, true
	}
	return false, false
}
