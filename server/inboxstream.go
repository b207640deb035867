package server

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/notify"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// The inbox's event stream (GET /api/inbox/events): every change an
// operator may see, as Server-Sent Events. The runtime tells the hub of
// this replica (runtime.InboxObserver); the hub publishes it on the
// notification bus, and every replica's hub hands what arrives to its own
// streams, filtered by what each viewer may see. With one process the bus
// is in-process; replicas sharing MongoDB use the store's notifications
// (notify.Polled), so an operator on any replica sees a change made on
// any other within about a poll interval.

// inboxTopic is the bus topic of inbox events.
const inboxTopic = "inbox"

// Stream timings.
const (
	// inboxPing is how often an idle stream gets a comment, so proxies
	// and the browser keep it open and a dead client is noticed.
	inboxPing = 15 * time.Second
	// PresenceTTL is how long an operator counts as online after their
	// last stream was seen; a live stream renews it every presenceEvery.
	PresenceTTL   = 2 * time.Minute
	presenceEvery = 30 * time.Second
	// streamBuffer is how many frames wait for a slow stream before it is
	// closed (the browser reconnects and reloads the list).
	streamBuffer = 512
)

// envelope is one inbox event on the bus.
type envelope struct {
	Kind string `json:"kind"` // "change" or "delivery"
	// Item is the conversation after the change, Lines its new lines.
	Item  *itemJSON     `json:"item,omitempty"`
	Lines []messageJSON `json:"lines,omitempty"`
	// PrevQueue and PrevAssignee say who could see it before the change,
	// so a chat moving out of someone's view reaches them too.
	PrevQueue    *string `json:"prev_queue,omitempty"`
	PrevAssignee string  `json:"prev_assignee,omitempty"`
	PrevState    string  `json:"prev_state,omitempty"`
	// Delivery fields.
	ConversationID string `json:"conversation_id,omitempty"`
	Queue          string `json:"queue,omitempty"`
	Assignee       string `json:"assignee,omitempty"`
	MessageID      string `json:"message_id,omitempty"`
	Delivery       string `json:"delivery,omitempty"`
	Error          string `json:"error,omitempty"`
	// At is when the event was produced, for latency figures.
	At time.Time `json:"at"`
}

// inboxHub fans inbox events out to this replica's streams.
type inboxHub struct {
	s   *Server
	log *slog.Logger
	bus atomic.Pointer[busBox]

	// pub is the publishing queue: the runtime's goroutine hands events
	// over without waiting for the bus's write.
	pub  chan []byte
	stop context.CancelFunc
	done chan struct{}
	// subCancel ends the current bus subscription.
	subCancel context.CancelFunc

	mu      sync.Mutex
	streams map[*inboxStream]struct{}
	dropped atomic.Uint64
}

type busBox struct{ b notify.Bus }

// inboxStream is one open event stream.
type inboxStream struct {
	v      *viewer
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func (st *inboxStream) close() { st.once.Do(func() { close(st.closed) }) }

func newInboxHub(s *Server) *inboxHub {
	h := &inboxHub{s: s, log: s.log, pub: make(chan []byte, 4096), streams: map[*inboxStream]struct{}{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.useBus(ctx, notify.NewLocal())
	go h.publishLoop(ctx)
	return h
}

// UseBus carries inbox events on bus (replicas sharing MongoDB pass the
// store-backed one) instead of the in-process bus New starts with.
func (s *Server) UseBus(ctx context.Context, bus notify.Bus) { s.events.useBus(ctx, bus) }

func (h *inboxHub) useBus(ctx context.Context, bus notify.Bus) {
	h.mu.Lock()
	if h.subCancel != nil {
		h.subCancel()
	}
	sctx, cancel := context.WithCancel(ctx)
	h.subCancel = cancel
	h.mu.Unlock()
	h.bus.Store(&busBox{bus})
	bus.Subscribe(sctx, inboxTopic, h.deliver)
}

func (h *inboxHub) publishLoop(ctx context.Context) {
	defer close(h.done)
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-h.pub:
			if err := h.bus.Load().b.Publish(ctx, inboxTopic, p); err != nil && ctx.Err() == nil {
				h.log.Warn("publish inbox event", "err", err)
			}
		}
	}
}

// close ends every stream and the publisher (server shutdown).
func (h *inboxHub) close() {
	h.mu.Lock()
	for st := range h.streams {
		st.close()
	}
	h.mu.Unlock()
	h.stop()
}

func (h *inboxHub) publish(e envelope) {
	e.At = h.s.cfg.Now().UTC()
	p, err := json.Marshal(&e)
	if err != nil {
		h.log.Warn("encode inbox event", "err", err)
		return
	}
	select {
	case h.pub <- p:
	default:
		// Streams would rather miss one event (they reload on reconnect)
		// than hold up the runtime.
		h.dropped.Add(1)
	}
}

// InboxChanged implements runtime.InboxObserver.
func (h *inboxHub) InboxChanged(_ context.Context, ch runtime.InboxChange) {
	// Before the request that made the change answers: its caller's next
	// counts include it.
	h.s.tally.changed()
	item := toItem(ch.Conversation)
	item.Reason = ch.Reason
	e := envelope{Kind: "change", Item: &item}
	for _, l := range ch.Lines {
		if _, failed := cutFailed(l); failed {
			continue
		}
		m := toMessageJSON(l)
		if m.Direction == store.DirectionBot || m.Direction == store.DirectionOperator {
			m.Delivery = deliveryPending
		}
		e.Lines = append(e.Lines, m)
	}
	if p := ch.Prev; p != nil {
		q := p.Queue
		e.PrevQueue, e.PrevAssignee, e.PrevState = &q, p.Assignee, string(p.State)
	}
	h.publish(e)
}

// Delivered implements runtime.InboxObserver.
func (h *inboxHub) Delivered(_ context.Context, d runtime.Delivery) {
	e := envelope{Kind: "delivery", ConversationID: d.Conversation.ID, MessageID: d.MessageID, Delivery: d.State, Error: d.Error}
	if in := d.Conversation.Inbox; in != nil {
		e.Queue, e.Assignee = in.Queue, in.Assignee
	}
	h.publish(e)
}

func cutFailed(m store.Message) (string, bool) {
	if m.Status != store.MessageFailed {
		return "", false
	}
	if n := len(m.ID) - len("/failed"); n > 0 && m.ID[n:] == "/failed" {
		return m.ID[:n], true
	}
	return "", false
}

// frame is one Server-Sent Event.
func frame(event string, data any) []byte {
	js, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	b := make([]byte, 0, len(js)+len(event)+16)
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, js...)
	return append(b, "\n\n"...)
}

// deliver hands one bus message to the streams that may see it.
func (h *inboxHub) deliver(m notify.Message) {
	// A change on any replica: counted again before its events reach the
	// streams, whose pages then ask for their counts.
	h.s.tally.changed()
	h.mu.Lock()
	if len(h.streams) == 0 {
		h.mu.Unlock()
		return
	}
	streams := make([]*inboxStream, 0, len(h.streams))
	for st := range h.streams {
		streams = append(streams, st)
	}
	h.mu.Unlock()
	var e envelope
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		h.log.Warn("decode inbox event", "err", err)
		return
	}
	var frames struct {
		conv, msgs, delivery []byte
	}
	for _, st := range streams {
		var out [][]byte
		switch e.Kind {
		case "delivery":
			if !st.v.sees(&store.Inbox{Queue: e.Queue, Assignee: e.Assignee}) {
				continue
			}
			if frames.delivery == nil {
				frames.delivery = frame("delivery", fiber.Map{"conversation_id": e.ConversationID, "message_id": e.MessageID,
					"delivery": e.Delivery, "error": e.Error})
			}
			out = append(out, frames.delivery)
		case "change":
			if e.Item == nil {
				continue
			}
			now := st.v.sees(e.Item.Inbox)
			before := e.PrevQueue != nil && st.v.sees(&store.Inbox{Queue: *e.PrevQueue, Assignee: e.PrevAssignee})
			if !now && !before {
				continue
			}
			if frames.conv == nil {
				frames.conv = frame("conversation", e.Item)
				for _, l := range e.Lines {
					frames.msgs = append(frames.msgs, frame("message", fiber.Map{"conversation_id": e.Item.ID, "message": l})...)
				}
			}
			out = append(out, frames.conv)
			if now && len(frames.msgs) > 0 {
				out = append(out, frames.msgs)
			}
			if n := notifyFor(st.v, &e); n != "" && now {
				out = append(out, frame("notify", fiber.Map{"conversation_id": e.Item.ID, "kind": n, "item": e.Item}))
			}
		}
		for _, f := range out {
			select {
			case st.out <- f:
			default:
				h.dropped.Add(1)
				st.close() // too slow: it reconnects and reloads
			}
		}
	}
}

// notifyFor says whether a change should ring for the viewer: a chat
// assigned to them, or one that starts waiting in their queues.
func notifyFor(v *viewer, e *envelope) string {
	in := e.Item.Inbox
	if in == nil {
		return ""
	}
	switch {
	case in.State == store.InboxAssigned && in.Assignee == v.id() && e.PrevAssignee != v.id():
		return "assigned_to_me"
	case in.State == store.InboxUnassigned && e.PrevState != string(store.InboxUnassigned) &&
		v.p.Role != store.RoleAdmin && (v.queues == nil || slices.Contains(v.queues, in.Queue)):
		return "waiting_in_my_queue"
	case in.State == store.InboxUnassigned && e.PrevState != string(store.InboxUnassigned) && v.p.Role == store.RoleAdmin && v.queues == nil:
		return "waiting_in_my_queue"
	}
	return ""
}

func (h *inboxHub) add(st *inboxStream) {
	h.mu.Lock()
	h.streams[st] = struct{}{}
	h.mu.Unlock()
}

func (h *inboxHub) remove(st *inboxStream) {
	h.mu.Lock()
	delete(h.streams, st)
	h.mu.Unlock()
}

// Streams reports how many event streams this replica holds.
func (s *Server) InboxStreams() int {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return len(s.events.streams)
}

// inboxEvents is GET /api/inbox/events.
func (s *Server) inboxEvents(c *fiber.Ctx) error {
	v, err := s.viewerOf(c)
	if err != nil {
		return err
	}
	ctx := context.Background()
	counts, err := s.countsFor(c.UserContext(), v)
	if err != nil {
		return err
	}
	if v.p.UserID != "" {
		if err := s.cfg.Store.TouchPresence(c.UserContext(), v.p.UserID, s.cfg.Now().Add(PresenceTTL)); err != nil {
			s.log.Warn("presence", "user", v.p.UserID, "err", err)
		}
		if s.cfg.Runtime != nil {
			s.cfg.Runtime.KickAssign()
		}
	}
	st := &inboxStream{v: v, out: make(chan []byte, streamBuffer), closed: make(chan struct{})}
	s.events.add(st)
	hello := frame("hello", fiber.Map{"user": fiber.Map{"id": v.id(), "name": v.actor().Name, "role": v.p.Role},
		"online": v.p.UserID != "", "counts": counts})
	conn := c.Context().Conn()
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache, no-transform")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.events.remove(st)
		defer st.close()
		ping := time.NewTicker(inboxPing)
		defer ping.Stop()
		touch := time.NewTicker(presenceEvery)
		defer touch.Stop()
		write := func(b []byte) bool {
			// The server's write timeout applies to each write, not to
			// the life of the stream.
			_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if _, err := w.Write(b); err != nil {
				return false
			}
			return w.Flush() == nil
		}
		if !write([]byte("retry: 2000\n\n")) || !write(hello) {
			return
		}
		for {
			select {
			case <-st.closed:
				return
			case b := <-st.out:
				// Write what queued up together, then flush once.
				_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
				if _, err := w.Write(b); err != nil {
					return
				}
				for more := true; more; {
					select {
					case b := <-st.out:
						if _, err := w.Write(b); err != nil {
							return
						}
					default:
						more = false
					}
				}
				if w.Flush() != nil {
					return
				}
			case <-ping.C:
				if !write([]byte(": ping " + strconv.FormatInt(time.Now().Unix(), 10) + "\n\n")) {
					return
				}
			case <-touch.C:
				if v.p.UserID != "" {
					if err := s.cfg.Store.TouchPresence(ctx, v.p.UserID, s.cfg.Now().Add(PresenceTTL)); err != nil {
						s.log.Warn("presence", "user", v.p.UserID, "err", err)
					}
				}
			}
		}
	})
	return nil
}
