package vk

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// ErrMalformed: the body is not a Callback API event.
var ErrMalformed = errors.New("vk: malformed event")

type envelope struct {
	Type    string          `json:"type"`
	GroupID int64           `json:"group_id"`
	EventID string          `json:"event_id"`
	Secret  string          `json:"secret"`
	Object  json.RawMessage `json:"object"`
}

type messageNew struct {
	Message struct {
		ID      int64  `json:"id"`
		Date    int64  `json:"date"`
		PeerID  int64  `json:"peer_id"`
		FromID  int64  `json:"from_id"`
		Text    string `json:"text"`
		Payload string `json:"payload"`
		// Ref is the ref of a vk.me link the person came by.
		Ref string `json:"ref"`
	} `json:"message"`
}

type messageEvent struct {
	UserID  int64           `json:"user_id"`
	PeerID  int64           `json:"peer_id"`
	EventID string          `json:"event_id"`
	Payload json.RawMessage `json:"payload"`
}

// Event is what one Callback API event means.
type Event struct {
	Confirmation bool
	Inbound      *channel.Inbound
	Receipt      *channel.Receipt
	// Answer is a message_event to answer with sendMessageEventAnswer.
	Answer *messageEvent
}

// Parse reads one event; it checks neither the secret nor the group.
func (a *Adapter) Parse(body []byte) (envelope, Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return env, Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.Type == "confirmation" {
		return env, Event{Confirmation: true}, nil
	}
	if env.EventID == "" {
		return env, Event{}, fmt.Errorf("%w: no event_id", ErrMalformed)
	}
	in := func(chat int64, kind channel.Kind, at time.Time) *channel.Inbound {
		return &channel.Inbound{Bot: a.cfg.BotID, Channel: ChannelName, Chat: strconv.FormatInt(chat, 10),
			UpdateID: "vk:" + env.EventID, Kind: kind, Time: at, Contact: engine.Contact{Channel: ChannelName}}
	}
	now := a.now().UTC()
	switch env.Type {
	case "message_new":
		var o messageNew
		if err := json.Unmarshal(env.Object, &o); err != nil || o.Message.PeerID == 0 {
			return env, Event{}, fmt.Errorf("%w: message_new without a message", ErrMalformed)
		}
		at := now
		if o.Message.Date > 0 {
			at = time.Unix(o.Message.Date, 0).UTC()
		}
		m := in(o.Message.PeerID, channel.KindText, at)
		m.Text = o.Message.Text
		m.Source = o.Message.Ref
		if p, ok := buttonOf([]byte(o.Message.Payload)); ok {
			m.Kind, m.Payload = channel.KindPress, p
		}
		return env, Event{Inbound: m}, nil
	case "message_event":
		var o messageEvent
		if err := json.Unmarshal(env.Object, &o); err != nil || o.PeerID == 0 || o.UserID == 0 {
			return env, Event{}, fmt.Errorf("%w: message_event without a user", ErrMalformed)
		}
		p, ok := buttonOf(o.Payload)
		if !ok {
			return env, Event{Answer: &o}, nil // not a Voronka button: only stop the spinner
		}
		m := in(o.PeerID, channel.KindPress, now)
		m.Payload = p
		return env, Event{Inbound: m, Answer: &o}, nil
	case "message_allow", "message_deny":
		var o struct {
			UserID int64 `json:"user_id"`
		}
		if err := json.Unmarshal(env.Object, &o); err != nil || o.UserID == 0 {
			return env, Event{}, fmt.Errorf("%w: %s without user_id", ErrMalformed, env.Type)
		}
		kind := channel.KindUnblocked
		if env.Type == "message_deny" {
			kind = channel.KindBlocked
		}
		return env, Event{Inbound: in(o.UserID, kind, now)}, nil
	case "message_read":
		var o struct {
			PeerID        int64 `json:"peer_id"`
			ReadMessageID int64 `json:"read_message_id"`
		}
		if err := json.Unmarshal(env.Object, &o); err != nil || o.PeerID == 0 {
			return env, Event{}, fmt.Errorf("%w: message_read without peer_id", ErrMalformed)
		}
		return env, Event{Receipt: &channel.Receipt{Bot: a.cfg.BotID, Channel: ChannelName, Chat: strconv.FormatInt(o.PeerID, 10),
			PlatformID: strconv.FormatInt(o.ReadMessageID, 10), Status: channel.ReceiptRead, Time: now}}, nil
	}
	return env, Event{}, nil
}

// buttonOf reads a Voronka button payload ({"b":"…"}).
func buttonOf(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var p buttonPayload
	if json.Unmarshal(raw, &p) != nil || p.B == "" {
		return "", false
	}
	return p.B, true
}

// Webhook serves the Callback API: the confirmation string for this
// community's confirmation event, 401 for a wrong secret or another
// community (nothing handed on), 400 for a body that is not an event, 500
// when h failed (VK retries), else "ok".
func (a *Adapter) Webhook(ctx context.Context, h channel.Handler, req channel.WebhookRequest) channel.WebhookResponse {
	if req.Method != http.MethodPost {
		return channel.Text(http.StatusMethodNotAllowed, "")
	}
	env, ev, err := a.Parse(req.Body)
	if err != nil {
		return channel.Text(http.StatusBadRequest, err.Error())
	}
	if env.GroupID != a.cfg.GroupID {
		return channel.Text(http.StatusUnauthorized, "wrong group")
	}
	if ev.Confirmation {
		return channel.Text(http.StatusOK, a.cfg.Confirmation)
	}
	if !secretOK(env.Secret, a.cfg.Secret) {
		return channel.Text(http.StatusUnauthorized, "bad secret")
	}
	a.status.Connected("")
	if a.seenBefore(env.EventID) {
		return channel.Text(http.StatusOK, "ok")
	}
	switch {
	case ev.Inbound != nil:
		if err := h.Handle(ctx, *ev.Inbound); err != nil {
			a.log.Warn("handle event", "event_id", env.EventID, "type", env.Type, "err", err)
			return channel.Text(http.StatusInternalServerError, "not stored")
		}
	case ev.Receipt != nil:
		if rh, ok := h.(channel.ReceiptHandler); ok {
			if err := rh.Receipt(ctx, *ev.Receipt); err != nil {
				a.log.Warn("record receipt", "event_id", env.EventID, "err", err)
				return channel.Text(http.StatusInternalServerError, "not stored")
			}
		}
	}
	a.remember(env.EventID)
	if ev.Answer != nil {
		a.answerEvent(ctx, ev.Answer)
	}
	return channel.Text(http.StatusOK, "ok")
}

func secretOK(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return got != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// answerEvent stops the spinner on a callback button. Failures are only
// logged: the press is recorded, and a repeat finds the event answered.
func (a *Adapter) answerEvent(ctx context.Context, e *messageEvent) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p := url.Values{"event_id": {e.EventID}, "user_id": {strconv.FormatInt(e.UserID, 10)}, "peer_id": {strconv.FormatInt(e.PeerID, 10)}}
	if err := a.call(ctx, "messages.sendMessageEventAnswer", p, nil); err != nil {
		a.log.Debug("answer message_event", "event_id", e.EventID, "err", err)
	}
}
