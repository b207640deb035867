package viber

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// SignatureHeader carries hex(HMAC-SHA256(body, token)).
const SignatureHeader = "X-Viber-Content-Signature"

// ErrMalformed: the body is not a Viber callback.
var ErrMalformed = errors.New("viber: malformed callback")

type user struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
}

type callback struct {
	Event        string `json:"event"`
	Timestamp    int64  `json:"timestamp"`
	MessageToken int64  `json:"message_token"` // above 2^53: an int64, never a float
	Sender       user   `json:"sender"`
	User         user   `json:"user"`
	UserID       string `json:"user_id"`
	Desc         string `json:"desc"`
	Message      struct {
		Type         string `json:"type"`
		Text         string `json:"text"`
		TrackingData string `json:"tracking_data"`
	} `json:"message"`
}

// Parsed is what one callback means.
type Parsed struct {
	Inbound *channel.Inbound
	Receipt *channel.Receipt
	// Welcome: a conversation_started, answered with the welcome message.
	Welcome bool
}

// Parse reads one callback.
func (a *Adapter) Parse(body []byte) (Parsed, error) {
	var c callback
	if err := json.Unmarshal(body, &c); err != nil {
		return Parsed{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	at := time.UnixMilli(c.Timestamp).UTC()
	if c.Timestamp <= 0 {
		at = a.now().UTC()
	}
	tok := strconv.FormatInt(c.MessageToken, 10)
	in := func(u user, kind channel.Kind) *channel.Inbound {
		return &channel.Inbound{Bot: a.cfg.BotID, Channel: ChannelName, Chat: u.ID, UpdateID: "vb:" + c.Event + ":" + tok,
			Kind: kind, Time: at, Contact: engine.Contact{FirstName: u.Name, Language: u.Language, Channel: ChannelName}}
	}
	receipt := func(st channel.ReceiptStatus) *channel.Receipt {
		return &channel.Receipt{Bot: a.cfg.BotID, Channel: ChannelName, Chat: c.UserID, PlatformID: tok, Status: st, Time: at, Error: c.Desc}
	}
	switch c.Event {
	case "message":
		if c.Sender.ID == "" {
			return Parsed{}, fmt.Errorf("%w: message without sender.id", ErrMalformed)
		}
		m := in(c.Sender, channel.KindText)
		m.UpdateID = "vb:" + tok
		if c.Message.Type == "text" {
			m.Text = c.Message.Text
			var t tracking
			if c.Message.TrackingData != "" && json.Unmarshal([]byte(c.Message.TrackingData), &t) == nil &&
				t.V == 1 && slices.Contains(t.P, c.Message.Text) {
				m.Kind, m.Payload = channel.KindPress, c.Message.Text
			}
		}
		return Parsed{Inbound: m}, nil
	case "subscribed":
		if c.User.ID == "" {
			return Parsed{}, fmt.Errorf("%w: subscribed without user.id", ErrMalformed)
		}
		return Parsed{Inbound: in(c.User, channel.KindUnblocked)}, nil
	case "unsubscribed":
		if c.UserID == "" {
			return Parsed{}, fmt.Errorf("%w: unsubscribed without user_id", ErrMalformed)
		}
		return Parsed{Inbound: in(user{ID: c.UserID}, channel.KindBlocked)}, nil
	case "conversation_started":
		return Parsed{Welcome: true}, nil
	case "delivered":
		return Parsed{Receipt: receipt(channel.ReceiptDelivered)}, nil
	case "seen":
		return Parsed{Receipt: receipt(channel.ReceiptRead)}, nil
	case "failed":
		return Parsed{Receipt: receipt(channel.ReceiptFailed)}, nil
	}
	return Parsed{}, nil // "webhook", "client_status", "action": nothing to record
}

// Webhook serves Viber's callbacks: 401 without a valid signature
// (nothing handed on), 400 for a body that is not a callback, 500 when h
// failed (Viber retries), else 200 (with the welcome message as the body
// for conversation_started).
func (a *Adapter) Webhook(ctx context.Context, h channel.Handler, req channel.WebhookRequest) channel.WebhookResponse {
	if req.Method != http.MethodPost {
		return channel.Text(http.StatusMethodNotAllowed, "")
	}
	if !a.signed(req.Header.Get(SignatureHeader), req.Body) {
		return channel.Text(http.StatusUnauthorized, "bad signature")
	}
	p, err := a.Parse(req.Body)
	if err != nil {
		return channel.Text(http.StatusBadRequest, err.Error())
	}
	switch {
	case p.Inbound != nil:
		if p.Inbound.Chat == "" {
			return channel.Text(http.StatusBadRequest, "no user")
		}
		if err := h.Handle(ctx, *p.Inbound); err != nil {
			a.log.Warn("handle callback", "update", p.Inbound.UpdateID, "err", err)
			return channel.Text(http.StatusInternalServerError, "not stored")
		}
	case p.Receipt != nil:
		if rh, ok := h.(channel.ReceiptHandler); ok && p.Receipt.Chat != "" {
			if err := rh.Receipt(ctx, *p.Receipt); err != nil {
				a.log.Warn("record receipt", "token", p.Receipt.PlatformID, "err", err)
				return channel.Text(http.StatusInternalServerError, "not stored")
			}
		}
	case p.Welcome:
		if b := a.welcome(); b != nil {
			return channel.JSON(http.StatusOK, b)
		}
	}
	return channel.WebhookResponse{Status: http.StatusOK}
}

func (a *Adapter) signed(header string, body []byte) bool {
	got, err := hex.DecodeString(header)
	if err != nil || len(got) == 0 {
		return false
	}
	m := hmac.New(sha256.New, []byte(a.cfg.Token))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
