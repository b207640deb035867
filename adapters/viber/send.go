package viber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

var _ channel.Sender = (*Adapter)(nil)

type sender struct {
	Name string `json:"name"`
}

type button struct {
	Columns    int    `json:"Columns"`
	Rows       int    `json:"Rows"`
	ActionType string `json:"ActionType"`
	ActionBody string `json:"ActionBody"`
	Text       string `json:"Text"`
	Silent     bool   `json:"Silent"`
}

type keyboard struct {
	Type          string   `json:"Type"`
	DefaultHeight bool     `json:"DefaultHeight"`
	Buttons       []button `json:"Buttons"`
}

type message struct {
	Receiver      string    `json:"receiver,omitempty"`
	MinAPIVersion int       `json:"min_api_version"`
	Sender        sender    `json:"sender"`
	TrackingData  string    `json:"tracking_data,omitempty"`
	Type          string    `json:"type"`
	Text          string    `json:"text"`
	Keyboard      *keyboard `json:"keyboard,omitempty"`
}

// tracking is what Voronka keeps in tracking_data: the payloads of the
// message's buttons, so a reply can be told apart from a press.
type tracking struct {
	V int      `json:"voronka"`
	P []string `json:"p"`
}

// Send delivers msg (see the package documentation). Sent.PlatformID is
// the last part's message_token.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	if msg.Chat == "" {
		return channel.Sent{}, invalid("empty receiver")
	}
	kb, track, err := keyboardFor(msg.Buttons)
	if err != nil {
		return channel.Sent{}, invalid("message %s: %v", msg.ID, err)
	}
	parts := msgkit.Split(msg.Text, MaxText)
	if len(parts) == 0 {
		return channel.Sent{}, invalid("message %s: empty text", msg.ID)
	}
	start := a.progress.Get(msg.ID)
	if start >= len(parts) {
		start = 0
	}
	var last int64
	for i := start; i < len(parts); i++ {
		m := a.message(msg.Chat, parts[i])
		if i == len(parts)-1 && kb != nil {
			m.Keyboard, m.TrackingData = kb, track
		}
		var out struct {
			MessageToken int64 `json:"message_token"`
		}
		if err := a.call(ctx, "send_message", m, &out); err != nil {
			se := classify(err)
			if se.Retryable {
				a.progress.Set(msg.ID, i)
			} else {
				a.progress.Set(msg.ID, 0)
			}
			return channel.Sent{}, se
		}
		last = out.MessageToken
	}
	a.progress.Set(msg.ID, 0)
	return channel.Sent{PlatformID: strconv.FormatInt(last, 10)}, nil
}

func (a *Adapter) message(receiver, text string) message {
	return message{Receiver: receiver, MinAPIVersion: 7, Sender: sender{Name: a.senderName()}, Type: "text", Text: text}
}

// Welcome is the body answering conversation_started; nil for none.
func (a *Adapter) welcome() []byte {
	if a.cfg.Welcome == "" {
		return nil
	}
	parts := msgkit.Split(a.cfg.Welcome, MaxText)
	if len(parts) == 0 {
		return nil
	}
	b, _ := json.Marshal(a.message("", parts[0]))
	return b
}

func invalid(format string, args ...any) *channel.SendError {
	return &channel.SendError{Code: 3, Err: fmt.Errorf("viber: "+format, args...)}
}

// keyboardFor lays buttons out as a Viber keyboard: two per row (3 of 6
// columns each) when every label is short, else one per row.
func keyboardFor(buttons []engine.Button) (*keyboard, string, error) {
	if len(buttons) == 0 {
		return nil, "", nil
	}
	if err := Layout(len(buttons)); err != nil {
		return nil, "", err
	}
	labels := make([]string, len(buttons))
	t := tracking{V: 1}
	for i, b := range buttons {
		if b.Label == "" || b.Payload == "" {
			return nil, "", fmt.Errorf("button %d needs a label and a payload", i+1)
		}
		labels[i] = b.Label
		t.P = append(t.P, b.Payload)
	}
	cols := 6
	if labelsShort(labels) {
		cols = 3
	}
	kb := &keyboard{Type: "keyboard", DefaultHeight: false}
	for _, b := range buttons {
		kb.Buttons = append(kb.Buttons, button{Columns: cols, Rows: 1, ActionType: "reply", ActionBody: b.Payload, Text: b.Label, Silent: true})
	}
	tb, _ := json.Marshal(t)
	if len(tb) > MaxTracking {
		return nil, "", fmt.Errorf("the buttons' payloads take %d bytes, Viber's tracking_data holds %d", len(tb), MaxTracking)
	}
	return kb, string(tb), nil
}

// classify turns a failed call into a *channel.SendError.
func classify(err error) *channel.SendError {
	var st *StatusError
	if errors.As(err, &st) {
		se := &channel.SendError{Code: st.Status, Err: err}
		switch st.Status {
		case 12: // tooManyRequests
			se.Retryable, se.RetryAfter = true, 30*time.Second
		case 5, 6, 11: // not registered, not subscribed, no suitable device
			se.Blocked = true
		}
		return se
	}
	var he *httpError
	if errors.As(err, &he) {
		return &channel.SendError{Retryable: he.status >= 500 || he.status == 429 || he.undecodable, Code: he.status,
			RetryAfter: time.Second, Err: err}
	}
	if errors.Is(err, ErrTokenRejected) {
		return &channel.SendError{Code: 2, Err: err}
	}
	return &channel.SendError{Retryable: true, Err: err}
}
