package webchat

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/notify"
)

// relayTopic prefixes the bus topic of a session's messages.
const relayTopic = "webchat/"

// relays carries Send across replicas: a customer's socket is held by the
// replica the load balancer gave it, while the message for it may come from
// any replica (a timer, an operator, a resend).
type relays struct {
	bus atomic.Pointer[busBox]
}

type busBox struct {
	b      notify.Bus
	origin string // this hub, in what it publishes
}

// relayed is a message as it crosses the bus.
type relayed struct {
	From    string   `json:"from"`
	Bot     string   `json:"bot,omitempty"`
	Chat    string   `json:"chat"`
	ID      string   `json:"id,omitempty"`
	Text    string   `json:"text"`
	Buttons []Button `json:"buttons,omitempty"`
	Author  string   `json:"author,omitempty"`
	Notice  string   `json:"notice,omitempty"`
}

// UseBus makes Send reach connections held by other replicas: every message
// Send takes is also published on bus, and a message another replica
// published for a session this hub holds (connected, or kept for a client
// that comes back) is delivered as if Send had been called here. A
// session no replica holds gets it on none: the transcript in the store
// keeps it. Call it once, before serving; the subscription ends with ctx.
func (h *Hub) UseBus(ctx context.Context, bus notify.Bus) {
	box := &busBox{b: bus, origin: notify.NewOrigin()}
	h.relays.bus.Store(box)
	bus.Subscribe(ctx, relayTopic, func(m notify.Message) { h.received(box.origin, m) })
}

// relay publishes msg for the other replicas. Send counts a message as
// accepted once it is either on a connection here or on the bus: if the bus
// fails and no connection here has the session, Send fails retryably and
// the runtime tries again (the backlog keeps a retry from showing twice).
func (h *Hub) relay(ctx context.Context, msg channel.Outbound) error {
	box := h.relays.bus.Load()
	if box == nil {
		return nil
	}
	data, err := json.Marshal(relayed{From: box.origin, Bot: msg.Bot, Chat: msg.Chat, ID: msg.ID,
		Text: msg.Text, Buttons: buttons(msg.Buttons), Author: msg.Author, Notice: msg.Notice})
	if err != nil {
		return &channel.SendError{Code: 400, Err: fmt.Errorf("webchat: relay: %w", err)}
	}
	perr := box.b.Publish(ctx, relayTopic+msg.Chat, data)
	if perr == nil {
		return nil
	}
	h.mu.Lock()
	held := false
	if s, ok := h.sessions[msg.Chat]; ok {
		held = len(s.clients) > 0
	}
	h.mu.Unlock()
	if held {
		h.log.Warn("web chat: cannot relay a message to other replicas; delivered here only", "session", msg.Chat, "err", perr)
		return nil
	}
	return &channel.SendError{Retryable: true, Err: fmt.Errorf("webchat: relay to the replica holding the socket: %w", perr)}
}

// received delivers a message another replica sent to a session this hub
// holds; a session it does not hold is not its business.
func (h *Hub) received(origin string, m notify.Message) {
	var r relayed
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		h.log.Warn("web chat: unreadable relayed message", "topic", m.Topic, "err", err)
		return
	}
	if r.From == origin || !ValidSessionID(r.Chat) {
		return
	}
	msg := channel.Outbound{ID: r.ID, Bot: r.Bot, Chat: r.Chat, Text: r.Text, Author: r.Author, Notice: r.Notice}
	for _, b := range r.Buttons {
		msg.Buttons = append(msg.Buttons, engine.Button{Label: b.Label, Payload: b.Payload})
	}
	h.mu.Lock()
	s, ok := h.sessions[r.Chat]
	if !ok || (r.Bot != "" && s.bot != "" && s.bot != r.Bot) {
		h.mu.Unlock()
		return
	}
	s.touched = h.clock.Now()
	_, dropped := h.deliverLocked(s, msg)
	h.mu.Unlock()
	if dropped > 0 {
		h.log.Warn("web chat: slow clients dropped", "session", r.Chat, "count", dropped)
	}
}
