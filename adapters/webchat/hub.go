package webchat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

var errNoHandler = errors.New("webchat: no handler set yet")

// Channel is the channel name of web chat conversations in Inbound and in
// the store.
const Channel = "web"

// Clock is where the hub reads the time for inbound updates, rate limits and
// session expiry. Network deadlines use the wall clock regardless.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Limits are the web channel's rate limits for the runtime's senders. No
// platform imposes them; they only keep a runaway flow from flooding a
// browser tab.
func Limits() channel.Limits {
	return channel.Limits{PerSecond: 1000, Burst: 1000, PerChatSecond: 10, PerChatBurst: 20, PerGroupMin: 600}
}

// IsGroup is the web channel's group-chat rule for the runtime: a web chat
// is always one person. (The runtime's default, Telegram's "-" prefix, could
// match a session id handed out before this rule, or resumed from a client.)
func IsGroup(chat string) bool { return false }

// Options tune the hub. Zero fields take the defaults in DefaultOptions.
type Options struct {
	// MaxTextBytes bounds the text of one message a person sends.
	MaxTextBytes int
	// MaxFrameBytes is the hard limit of one frame; the websocket library
	// closes a connection that sends more (close code 1009). Keep it well
	// above MaxTextBytes so a long text gets a polite error frame instead.
	MaxFrameBytes int64
	// FramesPerSecond and FrameBurst are each connection's token bucket. A
	// frame over the rate gets an error frame (rate_limited); a client that
	// keeps going is disconnected.
	FramesPerSecond float64
	FrameBurst      int
	// HelloTimeout is how long a new connection may take to say hello;
	// IdleTimeout how long an established one may stay silent (the widget
	// pings every 25 s).
	HelloTimeout time.Duration
	IdleTimeout  time.Duration
	// WriteTimeout bounds one frame write to a client.
	WriteTimeout time.Duration
	// HandleTimeout bounds one Handler.Handle call.
	HandleTimeout time.Duration
	// Backlog is how many recent messages a session keeps for replay to a
	// client that reconnects with last_seen.
	Backlog int
	// QueueFrames is each connection's write queue beyond a full backlog
	// replay; a connection whose queue overflows is dropped.
	QueueFrames int
	// SessionTTL is how long a session with no connection is kept in
	// memory; MaxSessions caps how many are kept at all. The transcript in
	// the store is the system of record, the backlog only a convenience.
	SessionTTL  time.Duration
	MaxSessions int
	// Typing sends a typing frame while Handle runs.
	Typing bool
	// CheckBot, when set, is asked whether a hello's bot may chat: an error
	// wrapping ErrUnknownBot refuses the hello with an unknown_bot error
	// frame and a close, any other error (the store is down) closes with
	// "try again later". It runs again when Handle fails, so a bot that went
	// away mid-connection (a revoked preview) closes the connection instead
	// of failing every message.
	CheckBot func(ctx context.Context, bot string) error
	// Handoff, when set, is asked at each hello for the text that takes
	// the bot's conversation to a person ("" for none); the welcome carries
	// it and the widget offers a "talk to a person" button that sends it.
	Handoff func(ctx context.Context, bot string) string
}

// DefaultOptions are the defaults for zero Options fields.
var DefaultOptions = Options{
	MaxTextBytes:    4096,
	MaxFrameBytes:   16 << 10,
	FramesPerSecond: 5,
	FrameBurst:      10,
	HelloTimeout:    10 * time.Second,
	IdleTimeout:     75 * time.Second,
	WriteTimeout:    10 * time.Second,
	HandleTimeout:   30 * time.Second,
	Backlog:         100,
	QueueFrames:     64,
	SessionTTL:      24 * time.Hour,
	MaxSessions:     100_000,
	Typing:          true,
}

func (o Options) withDefaults() Options {
	d := DefaultOptions
	if o.MaxTextBytes > 0 {
		d.MaxTextBytes = o.MaxTextBytes
	}
	if o.MaxFrameBytes > 0 {
		d.MaxFrameBytes = o.MaxFrameBytes
	}
	if o.FramesPerSecond > 0 {
		d.FramesPerSecond = o.FramesPerSecond
	}
	if o.FrameBurst > 0 {
		d.FrameBurst = o.FrameBurst
	}
	if o.HelloTimeout > 0 {
		d.HelloTimeout = o.HelloTimeout
	}
	if o.IdleTimeout > 0 {
		d.IdleTimeout = o.IdleTimeout
	}
	if o.WriteTimeout > 0 {
		d.WriteTimeout = o.WriteTimeout
	}
	if o.HandleTimeout > 0 {
		d.HandleTimeout = o.HandleTimeout
	}
	if o.Backlog > 0 {
		d.Backlog = o.Backlog
	}
	if o.QueueFrames > 0 {
		d.QueueFrames = o.QueueFrames
	}
	if o.SessionTTL > 0 {
		d.SessionTTL = o.SessionTTL
	}
	if o.MaxSessions > 0 {
		d.MaxSessions = o.MaxSessions
	}
	d.Typing = o.Typing
	d.CheckBot = o.CheckBot
	d.Handoff = o.Handoff
	return d
}

// ErrUnknownBot is what Options.CheckBot wraps when a bot does not chat
// here; it is channel.ErrUnknownBot, what channel.BotInfo.CheckBot wraps.
var ErrUnknownBot = channel.ErrUnknownBot

// Hub serves web chat connections and is the web channel's Sender. One Hub
// serves every bot of a process; a session id names one conversation.
//
// Sessions live in memory: Send to a session without a connection keeps the
// message in the session's backlog for a client that comes back, and
// succeeds — the transcript in the store stays the system of record. With a
// bus (UseBus) Send also reaches connections held by other replicas.
type Hub struct {
	handler atomic.Pointer[handlerBox]
	log     *slog.Logger
	clock   Clock
	opts    Options

	mu        sync.Mutex
	sessions  map[string]*session
	lastSweep time.Time

	relays relays // to and from other replicas (relay.go)
}

// handlerBox lets an interface live in an atomic.Pointer.
type handlerBox struct{ h channel.Handler }

type session struct {
	id      string
	bot     string
	seq     uint64 // seq of the last message sent to this session
	backlog []entry
	clients map[*client]struct{}
	touched time.Time
}

// entry is one message kept for replay.
type entry struct {
	frame ServerFrame
	data  []byte // frame, encoded
}

// New makes a hub. handler takes the inbound updates; it may be nil when the
// handler needs the hub first (the runtime takes the hub as its Sender):
// then call SetHandler before serving. log and clock may be nil for
// slog.Default() and the wall clock. Options.Typing is taken as given (false
// unless set); start from DefaultOptions to keep it on.
func New(handler channel.Handler, log *slog.Logger, clock Clock, opts Options) *Hub {
	if log == nil {
		log = slog.Default()
	}
	if clock == nil {
		clock = SystemClock{}
	}
	h := &Hub{
		log:      log.With("channel", Channel),
		clock:    clock,
		opts:     opts.withDefaults(),
		sessions: make(map[string]*session),
	}
	h.SetHandler(handler)
	return h
}

// SetHandler sets the handler of inbound updates, breaking the construction
// cycle hub → runtime → hub. Until it is set, texts and presses get a
// retryable error frame and the widget sends them again later.
func (h *Hub) SetHandler(handler channel.Handler) {
	h.handler.Store(&handlerBox{h: handler})
}

// Stats is a snapshot for metrics.
type Stats struct {
	Sessions    int
	Connections int
}

// Stats counts sessions and open connections.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Stats{Sessions: len(h.sessions)}
	for _, s := range h.sessions {
		st.Connections += len(s.clients)
	}
	return st
}

// Send delivers msg to every open connection of the session msg.Chat and
// keeps it in the session's backlog. It never waits for a client: a client
// whose write queue is full is disconnected instead. A message whose ID is
// already in the backlog is not sent again (the runtime's resend after a
// crash), and Send reports the seq it had.
func (h *Hub) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	if err := ctx.Err(); err != nil {
		return channel.Sent{}, &channel.SendError{Retryable: true, Err: fmt.Errorf("webchat: send: %w", err)}
	}
	if !ValidSessionID(msg.Chat) {
		return channel.Sent{}, &channel.SendError{Code: 400,
			Err: fmt.Errorf("webchat: send: chat %q is not a web chat session id", clip(msg.Chat, 40))}
	}
	h.mu.Lock()
	s := h.sessionLocked(msg.Chat, msg.Bot)
	if msg.Bot != "" && s.bot != msg.Bot {
		bot := s.bot
		h.mu.Unlock()
		return channel.Sent{}, &channel.SendError{Code: 409,
			Err: fmt.Errorf("webchat: send: session %s belongs to bot %q, not %q", msg.Chat, bot, msg.Bot)}
	}
	seq, dropped := h.deliverLocked(s, msg)
	h.mu.Unlock()
	if dropped > 0 {
		h.log.Warn("web chat: slow clients dropped", "session", msg.Chat, "count", dropped)
	}
	// The customer's socket may be held by another replica.
	if err := h.relay(ctx, msg); err != nil {
		return channel.Sent{}, err
	}
	return channel.Sent{PlatformID: strconv.FormatUint(seq, 10)}, nil
}

// deliverLocked keeps msg in s's backlog and queues it to s's connections,
// unless a message with its id is kept already; it returns msg's seq and
// how many slow clients were dropped.
func (h *Hub) deliverLocked(s *session, msg channel.Outbound) (seq uint64, dropped int) {
	seq, dup := s.lookup(msg.ID)
	if dup {
		return seq, 0
	}
	s.seq++
	seq = s.seq
	f := ServerFrame{Type: TypeMessage, Seq: seq, ID: msg.ID, Text: msg.Text, Buttons: buttons(msg.Buttons),
		At: h.clock.Now().UnixMilli(), Author: msg.Author, Notice: msg.Notice}
	e := entry{frame: f, data: encode(f)}
	s.backlog = append(s.backlog, e)
	if n := len(s.backlog) - h.opts.Backlog; n > 0 {
		s.backlog = append(s.backlog[:0], s.backlog[n:]...)
	}
	for c := range s.clients {
		if !c.push(e.data) {
			dropped++
		}
	}
	return seq, dropped
}

func buttons(bs []engine.Button) []Button {
	if len(bs) == 0 {
		return nil
	}
	out := make([]Button, len(bs))
	for i, b := range bs {
		out[i] = Button{Label: b.Label, Payload: b.Payload}
	}
	return out
}

// lookup finds a message by its outbound id in the backlog.
func (s *session) lookup(id string) (uint64, bool) {
	if id == "" {
		return 0, false
	}
	for i := len(s.backlog) - 1; i >= 0; i-- {
		if s.backlog[i].frame.ID == id {
			return s.backlog[i].frame.Seq, true
		}
	}
	return 0, false
}

// sessionLocked returns the session id, creating it when unknown. bot is
// recorded when known (a Send may come before any hello after a restart).
func (h *Hub) sessionLocked(id, bot string) *session {
	now := h.clock.Now()
	h.sweepLocked(now)
	s, ok := h.sessions[id]
	if !ok {
		s = &session{id: id, clients: make(map[*client]struct{})}
		h.sessions[id] = s
	}
	if s.bot == "" {
		s.bot = bot
	}
	s.touched = now
	return s
}

// sweepLocked forgets sessions without connections that were idle past the
// TTL (at most once a minute), and the least recently used ones while there
// are more than MaxSessions.
func (h *Hub) sweepLocked(now time.Time) {
	if len(h.sessions) < h.opts.MaxSessions && now.Sub(h.lastSweep) < time.Minute {
		return
	}
	h.lastSweep = now
	var idle []*session
	for id, s := range h.sessions {
		if len(s.clients) > 0 {
			continue
		}
		if now.Sub(s.touched) > h.opts.SessionTTL {
			delete(h.sessions, id)
			continue
		}
		idle = append(idle, s)
	}
	// Over the cap: drop the oldest tenth of the cap at once so the scan
	// stays rare under a flood of new sessions.
	if over := len(h.sessions) - h.opts.MaxSessions + h.opts.MaxSessions/10 + 1; len(h.sessions) >= h.opts.MaxSessions && over > 0 {
		sort.Slice(idle, func(i, j int) bool { return idle[i].touched.Before(idle[j].touched) })
		for i := 0; i < over && i < len(idle); i++ {
			delete(h.sessions, idle[i].id)
		}
	}
}

// Serve runs one connection until it ends: the client says hello, gets a
// welcome and what it missed, then sends text and presses that go to the
// Handler. botID is the bot the server routed the connection to; when empty,
// the hello names it. Serve returns nil when the client went away or ctx
// ended, and an error when the hub refused or dropped the client (bad hello,
// flood, slow reader), for the server's log.
func (h *Hub) Serve(ctx context.Context, conn Conn, botID string, opts ...ServeOption) error {
	if rl, ok := conn.(readLimiter); ok {
		rl.SetReadLimit(h.opts.MaxFrameBytes)
	}
	c := newClient(conn, h.opts.Backlog+h.opts.QueueFrames, h.opts.WriteTimeout)
	stop := context.AfterFunc(ctx, func() { c.kill(nil) })
	defer stop()

	s := &serving{hub: h, c: c, bot: botID, bucket: newBucket(h.opts.FramesPerSecond, h.opts.FrameBurst, h.clock.Now())}
	for _, o := range opts {
		o(s)
	}
	code, reason, err := s.run(ctx)
	if ctx.Err() != nil {
		// The server is shutting down: "going away" tells the widget to
		// come back (to this or another replica).
		code, reason = closeGoingAway, "server shutting down"
	}
	if s.sess != nil {
		h.leave(s.sess, c)
	}
	c.finish(code, reason)
	if k := c.killed(); k != nil && err == nil {
		err = k
	}
	if ctx.Err() != nil || errors.Is(err, errWrite) {
		return nil
	}
	return err
}

func (h *Hub) leave(s *session, c *client) {
	h.mu.Lock()
	delete(s.clients, c)
	s.touched = h.clock.Now()
	h.mu.Unlock()
}

// serving is the read side of one connection.
type serving struct {
	hub     *Hub
	c       *client
	bot     string
	sess    *session
	contact engine.Contact
	// source and utm are where the person came from, as the hello said.
	source, utm string
	bucket      bucket
	refused     int // frames refused for rate in a row
	// admitNew, when set, is asked before a hello starts a session the hub
	// does not hold; its error refuses the hello.
	admitNew func() error
}

// ServeOption adjusts how Serve treats one connection.
type ServeOption func(*serving)

// AdmitNewSession makes a hello that would start a session the hub does not
// hold (a new conversation, or an id it does not know) ask admit first: an
// error refuses it with an error frame (rate_limited, the error's text) and
// close code 1013, "try again later". The server limits new chats per
// client address this way; resuming a held session is not asked about.
func AdmitNewSession(admit func() error) ServeOption {
	return func(s *serving) { s.admitNew = admit }
}

// ErrSessionRefused: AdmitNewSession's function refused a new session.
var ErrSessionRefused = errors.New("webchat: new session refused")

// run reads frames until the connection ends and returns how to close it.
func (s *serving) run(ctx context.Context) (code int, reason string, err error) {
	h := s.hub
	for {
		timeout := h.opts.IdleTimeout
		if s.sess == nil {
			timeout = h.opts.HelloTimeout
		}
		_ = s.c.conn.SetReadDeadline(time.Now().Add(timeout))
		typ, data, rerr := s.c.conn.ReadMessage()
		if rerr != nil {
			if s.sess == nil && ctx.Err() == nil && s.c.killed() == nil {
				return closePolicyViolation, "no hello", fmt.Errorf("%w: connection ended before hello: %w", ErrBadHello, rerr)
			}
			h.log.Debug("web chat connection ended", "session", s.sessionID(), "err", rerr)
			return closeNormal, "", nil
		}
		if int64(len(data)) > h.opts.MaxFrameBytes {
			// Only for a Conn without SetReadLimit; the websocket libraries
			// refuse such a frame themselves.
			return closeTooBig, "frame too large", nil
		}
		allowed := s.bucket.take(h.clock.Now())
		var f ClientFrame
		derr := error(&FrameError{Code: CodeBadFrame, Reason: "frames are JSON text"})
		if typ == textMessage {
			f, derr = DecodeFrame(data, h.opts.MaxTextBytes)
		}
		if !allowed {
			s.refused++
			if s.refused > 3*h.opts.FrameBurst {
				return closeTryAgainLater, "too many frames", ErrFlood
			}
			s.send(ServerFrame{Type: TypeError, Code: CodeRateLimited, ID: f.ID, Message: "too many messages, slow down"})
			continue
		}
		s.refused = 0
		if derr != nil {
			var fe *FrameError
			if !errors.As(derr, &fe) {
				fe = &FrameError{Code: CodeBadFrame, Reason: derr.Error()}
			}
			switch fe.Code {
			case CodeBadHello:
				s.send(ServerFrame{Type: TypeError, Code: fe.Code, Message: fe.Reason})
				return closePolicyViolation, "bad hello", fmt.Errorf("%w: %s", ErrBadHello, fe.Reason)
			case CodeUnsupportedVersion:
				s.send(ServerFrame{Type: TypeError, Code: fe.Code, Message: fe.Reason})
				return closePolicyViolation, "unsupported protocol version", fmt.Errorf("%w: %s", ErrBadHello, fe.Reason)
			}
			id := fe.ID
			if id == "" {
				id = f.ID
			}
			s.send(ServerFrame{Type: TypeError, Code: fe.Code, ID: id, Message: fe.Reason})
			continue
		}
		switch f.Type {
		case TypePing:
			s.send(ServerFrame{Type: TypePong})
		case TypeHello:
			if s.sess != nil {
				s.send(ServerFrame{Type: TypeError, Code: CodeBadFrame, Message: "hello was already said"})
				continue
			}
			if err := s.hello(ctx, f); err != nil {
				return s.refuse(err)
			}
		case TypeText, TypePress:
			if s.sess == nil {
				s.send(ServerFrame{Type: TypeError, Code: CodeNoHello, ID: f.ID, Message: "say hello first"})
				continue
			}
			if err := s.handle(ctx, f); err != nil {
				return s.refuse(err)
			}
		}
		if err := s.c.killed(); err != nil {
			return closeNormal, "", err
		}
	}
}

// refuse answers a hello the hub will not take and says how to close.
func (s *serving) refuse(err error) (int, string, error) {
	var fe *FrameError
	switch {
	case errors.Is(err, ErrSessionRefused):
		msg := errors.Unwrap(err).Error()
		s.send(ServerFrame{Type: TypeError, Code: CodeRateLimited, Message: msg})
		return closeTryAgainLater, msg, err
	case errors.Is(err, ErrUnknownBot):
		s.send(ServerFrame{Type: TypeError, Code: CodeUnknownBot, Message: err.Error()})
		return closePolicyViolation, "unknown bot", fmt.Errorf("%w: %w", ErrBadHello, err)
	case errors.As(err, &fe):
		// The bot could not be checked (the store is down): not the
		// client's fault, it may come back.
		s.send(ServerFrame{Type: TypeError, Code: fe.Code, Message: fe.Reason})
		return closeTryAgainLater, "try again later", err
	}
	s.send(ServerFrame{Type: TypeError, Code: CodeBadHello, Message: err.Error()})
	return closePolicyViolation, "bad hello", fmt.Errorf("%w: %w", ErrBadHello, err)
}

// checkBot asks Options.CheckBot about bot; a failure to check is a
// retryable FrameError, a refusal wraps ErrUnknownBot.
func (s *serving) checkBot(ctx context.Context, bot string) error {
	h := s.hub
	if h.opts.CheckBot == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, h.opts.HandleTimeout)
	defer cancel()
	err := h.opts.CheckBot(cctx, bot)
	if err == nil || errors.Is(err, ErrUnknownBot) {
		return err
	}
	h.log.Warn("web chat: cannot check the bot of a hello", "bot", clip(bot, 80), "err", err)
	return &FrameError{Code: CodeFailed, Reason: "the server cannot take new chats right now; try again later"}
}

func (s *serving) sessionID() string {
	if s.sess == nil {
		return ""
	}
	return s.sess.id
}

// send queues a frame for this connection; an overflow kills it, which the
// read loop notices at its next turn.
func (s *serving) send(f ServerFrame) {
	s.c.push(encode(f))
}

// hello binds the connection to a session: a new one, or the one the client
// resumes. The welcome and the replay of missed messages are queued under
// the hub's lock together with registering the connection, so a concurrent
// Send is neither missed nor delivered twice.
func (s *serving) hello(ctx context.Context, f ClientFrame) error {
	h := s.hub
	bot := s.bot
	switch {
	case bot == "":
		bot = f.Bot
	case f.Bot != "" && f.Bot != bot:
		return fmt.Errorf("hello names bot %q on a connection for bot %q", clip(f.Bot, maxBotLen), bot)
	}
	if bot == "" {
		return errors.New("no bot: name it in hello")
	}
	if err := s.checkBot(ctx, bot); err != nil {
		return err
	}
	s.bot = bot
	var handoff string
	if h.opts.Handoff != nil {
		hctx, cancel := context.WithTimeout(ctx, h.opts.HandleTimeout)
		handoff = clip(h.opts.Handoff(hctx, bot), maxLabelLen)
		cancel()
	}
	if p := f.Profile; p != nil {
		s.contact = engine.Contact{FirstName: p.FirstName, LastName: p.LastName, Language: p.Language}
		s.source, s.utm = p.Source, p.UTM
	}
	s.contact.Channel = Channel

	id, lastSeen := f.Session, f.LastSeen
	h.mu.Lock()
	defer h.mu.Unlock()
	if id != "" {
		if old, ok := h.sessions[id]; ok && old.bot != "" && old.bot != bot {
			// One browser, two bots on the same site: not the same
			// conversation. The widget keys its storage by bot, so this is
			// a confused or hostile client; start afresh.
			id = ""
		}
	}
	if _, held := h.sessions[id]; !held && s.admitNew != nil {
		if err := s.admitNew(); err != nil {
			return &refusal{err}
		}
	}
	if id == "" {
		for {
			nid, err := NewSessionID()
			if err != nil {
				return err
			}
			if _, taken := h.sessions[nid]; !taken {
				id = nid
				break
			}
		}
		lastSeen = 0
	}
	sess := h.sessionLocked(id, bot)
	if lastSeen > sess.seq {
		// The client has seen more than this hub ever sent: the process
		// restarted (or the session was evicted) and the numbering started
		// over. Renumber what is kept after the client's last seen so it
		// takes everything as new.
		for i := range sess.backlog {
			e := &sess.backlog[i]
			e.frame.Seq = lastSeen + uint64(i) + 1
			e.data = encode(e.frame)
		}
		sess.seq = lastSeen + uint64(len(sess.backlog))
	}
	s.c.push(encode(ServerFrame{Type: TypeWelcome, V: ProtocolVersion, Session: id, Seq: sess.seq, Handoff: handoff}))
	for _, e := range sess.backlog {
		if e.frame.Seq > lastSeen {
			s.c.push(e.data)
		}
	}
	sess.clients[s.c] = struct{}{}
	s.sess = sess
	h.log.Debug("web chat hello", "session", id, "bot", bot, "resumed", f.Session == id, "last_seen", lastSeen)
	return nil
}

// handle passes a text or a press to the Handler and acks it only once the
// Handler has recorded it. The update id is derived from the client's own
// message id, so a resend after a reconnect is dropped as a duplicate. It
// returns an error wrapping ErrUnknownBot when the Handler failed because
// the bot is gone (CheckBot): the connection then ends.
func (s *serving) handle(ctx context.Context, f ClientFrame) error {
	h := s.hub
	in := channel.Inbound{
		Bot:      s.bot,
		Channel:  Channel,
		Chat:     s.sess.id,
		UpdateID: "web:" + s.sess.id + ":" + f.ID,
		Contact:  s.contact,
		Time:     h.clock.Now(),
		Source:   s.source,
		UTM:      s.utm,
	}
	if f.Type == TypeText {
		in.Kind, in.Text = channel.KindText, f.Text
	} else {
		// The label goes along as Text for the transcript; the flow
		// matches the payload.
		in.Kind, in.Payload, in.Text = channel.KindPress, f.Payload, f.Label
	}
	if h.opts.Typing {
		s.send(ServerFrame{Type: TypeTyping})
	}
	err := errNoHandler
	if hb := h.handler.Load(); hb != nil && hb.h != nil {
		hctx, cancel := context.WithTimeout(ctx, h.opts.HandleTimeout)
		err = hb.h.Handle(hctx, in)
		cancel()
	}
	if err != nil {
		if cerr := s.checkBot(ctx, s.bot); errors.Is(cerr, ErrUnknownBot) {
			h.log.Info("web chat: the bot of a connection is gone", "session", s.sess.id, "bot", clip(s.bot, 80), "reason", cerr)
			s.send(ServerFrame{Type: TypeError, Code: CodeUnknownBot, ID: f.ID, Message: cerr.Error()})
			return cerr
		}
		h.log.Error("web chat: handle inbound", "session", s.sess.id, "update", in.UpdateID, "err", err)
		s.send(ServerFrame{Type: TypeError, Code: CodeFailed, ID: f.ID, Message: "the message was not accepted; it will be sent again"})
		return nil
	}
	h.mu.Lock()
	s.sess.touched = h.clock.Now()
	h.mu.Unlock()
	s.send(ServerFrame{Type: TypeAck, ID: f.ID})
	return nil
}

// bucket is a token bucket on the hub's clock.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

func (b *bucket) take(now time.Time) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refusal is a hello refused by AdmitNewSession: errors.Is finds
// ErrSessionRefused, Unwrap gives the admitter's reason.
type refusal struct{ err error }

func (r *refusal) Error() string        { return ErrSessionRefused.Error() + ": " + r.err.Error() }
func (r *refusal) Unwrap() error        { return r.err }
func (r *refusal) Is(target error) bool { return target == ErrSessionRefused }

// Joined implements channel.Noticer: the widget shows that an operator
// joined the chat, with their name.
func (h *Hub) Joined(ctx context.Context, bot, chat, name string) error {
	_, err := h.Send(ctx, channel.Outbound{ID: "joined:" + chat + ":" + name + ":" + strconv.FormatInt(h.clock.Now().UnixNano(), 36),
		Bot: bot, Chat: chat, Author: name, Notice: channel.NoticeJoined})
	return err
}
