package vk

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

var _ channel.Sender = (*Adapter)(nil)

// Send delivers msg (see the package documentation). Sent.PlatformID is
// the last part's message id.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	peer, err := strconv.ParseInt(msg.Chat, 10, 64)
	if err != nil || peer == 0 {
		return channel.Sent{}, invalid("chat %q is not a VK peer id", msg.Chat)
	}
	kb, err := Keyboard(msg.Buttons)
	if err != nil {
		return channel.Sent{}, invalid("message %s: %v", msg.ID, err)
	}
	parts := msgkit.Split(msg.Text, MaxText)
	if len(parts) == 0 {
		return channel.Sent{}, invalid("message %s: empty text", msg.ID)
	}
	key := msg.IdempotencyKey
	if key == "" {
		key = msg.ID
	}
	start := a.progress.Get(msg.ID)
	if start >= len(parts) {
		start = 0
	}
	var last int64
	for i := start; i < len(parts); i++ {
		p := url.Values{"peer_id": {msg.Chat}, "random_id": {strconv.FormatInt(RandomID(key, i), 10)}, "message": {parts[i]}}
		if i == len(parts)-1 && kb != "" {
			p.Set("keyboard", kb)
		}
		var id int64
		if err := a.call(ctx, "messages.send", p, &id); err != nil {
			se := classify(err)
			if se.Retryable {
				a.progress.Set(msg.ID, i)
			} else {
				a.progress.Set(msg.ID, 0)
			}
			return channel.Sent{}, se
		}
		last = id
	}
	a.progress.Set(msg.ID, 0)
	return channel.Sent{PlatformID: strconv.FormatInt(last, 10)}, nil
}

// RandomID is messages.send's random_id for part i of the message with
// key: the same for every attempt in any process, so VK drops a resend.
// VK takes a signed 32-bit number; 0 means "no deduplication", so it is
// never 0.
func RandomID(key string, part int) int64 {
	h := fnv.New32a()
	h.Write([]byte(key))
	h.Write([]byte{0, byte(part), byte(part >> 8)})
	v := int64(h.Sum32() & 0x7fffffff)
	if v == 0 {
		v = 1
	}
	return v
}

func invalid(format string, args ...any) *channel.SendError {
	return &channel.SendError{Code: 100, Err: fmt.Errorf("vk: "+format, args...)}
}

type action struct {
	Type    string `json:"type"`
	Label   string `json:"label"`
	Payload string `json:"payload"`
}

type vkButton struct {
	Action action `json:"action"`
	Color  string `json:"color,omitempty"`
}

type vkKeyboard struct {
	OneTime bool         `json:"one_time"`
	Inline  bool         `json:"inline"`
	Buttons [][]vkButton `json:"buttons"`
}

// buttonPayload is what a Voronka button carries in VK.
type buttonPayload struct {
	B string `json:"b"`
}

// Keyboard encodes buttons as VK's keyboard JSON ("" for none): inline
// with callback buttons up to 10, a one-time standard keyboard up to 40;
// an error beyond, or for a payload VK cannot carry. The flow validator
// uses it to warn.
func Keyboard(buttons []engine.Button) (string, error) {
	if len(buttons) == 0 {
		return "", nil
	}
	if len(buttons) > MaxKeys {
		return "", fmt.Errorf("%d buttons: a VK keyboard holds at most %d", len(buttons), MaxKeys)
	}
	inline := len(buttons) <= MaxInlineKeys
	perRow := 1
	short := true
	for i, b := range buttons {
		if b.Label == "" || b.Payload == "" {
			return "", fmt.Errorf("button %d needs a label and a payload", i+1)
		}
		short = short && utf8.RuneCountInString(b.Label) <= shortLabel
	}
	if short {
		perRow = 2
	}
	maxRows := MaxRows
	if inline {
		maxRows = MaxInlineRows
	}
	// Fit the rows VK allows: widen rows (up to 5) until the buttons fit.
	for (len(buttons)+perRow-1)/perRow > maxRows && perRow < MaxPerRow {
		perRow++
	}
	kb := vkKeyboard{Inline: inline, OneTime: !inline}
	for i, b := range buttons {
		pl, _ := json.Marshal(buttonPayload{B: b.Payload})
		if len(pl) > MaxPayload {
			return "", fmt.Errorf("button %d: payload is %d bytes in VK's JSON, at most %d", i+1, len(pl), MaxPayload)
		}
		if i%perRow == 0 {
			kb.Buttons = append(kb.Buttons, nil)
		}
		row := &kb.Buttons[len(kb.Buttons)-1]
		*row = append(*row, vkButton{Action: action{Type: "callback", Label: msgkit.Truncate(b.Label, MaxLabel), Payload: string(pl)}, Color: "primary"})
	}
	out, err := json.Marshal(kb)
	if err != nil {
		return "", fmt.Errorf("encode keyboard: %w", err)
	}
	return string(out), nil
}
