package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/store"
)

// The operator inbox: a handed-off conversation's store.Inbox changes only
// inside the conversation's conditional write (commit), together with the
// step it goes with, so two operators taking one chat, on one replica or
// two, cannot both win: the loser reloads, sees the chat taken and gets a
// TakenError.

// Actor is the user behind an inbox action.
type Actor struct {
	ID    string
	Name  string
	Admin bool
}

// Inbox errors callers branch on.
var (
	// ErrNotInInbox: the action needs a handed-off chat and this one is not.
	ErrNotInInbox = errors.New("the conversation is not in the inbox")
	// ErrBlocked: the chat has blocked the bot, nothing can reach it.
	ErrBlocked = errors.New("the chat has blocked the bot")
)

// TakenError says the chat is someone else's (a take lost, or the
// expected assignee no longer holds it).
type TakenError struct {
	Assignee string
	Name     string
}

func (e *TakenError) Error() string {
	if e.Assignee == "" {
		return "the chat is not assigned to whom you expected"
	}
	return "the chat is taken by " + orElse(e.Name, e.Assignee)
}

// Inbox reasons, in InboxChange.Reason and the system lines' events.
const (
	ReasonHandoff     = "handoff"
	ReasonAssigned    = "assigned"
	ReasonUnassigned  = "unassigned"
	ReasonTransferred = "transferred"
	ReasonResolved    = "resolved"
	ReasonReopened    = "reopened"
	ReasonHandback    = "handback"
	ReasonTimeout     = "timeout"
	ReasonMessage     = "message"
	ReasonRead        = "read"
	ReasonUpdated     = "updated"
	ReasonCSAT        = "csat"
)

// Inbox event types in the event log (operator metrics; engine.EventCatalog).
const (
	EvAssigned        = engine.EvAssigned
	EvOperatorReplied = engine.EvOperatorReplied
	EvResolved        = engine.EvResolved
	EvCSATRequested   = engine.EvCSATRequested
	EvCSAT            = engine.EvCSAT
	EvReopened        = engine.EvHandoffReopened
)

// ReopenWindow is how long after being resolved a customer's message puts
// the chat back into its queue instead of starting the flow.
const ReopenWindow = 24 * time.Hour

// AwayEvery is how often at most the away message goes to one chat.
const AwayEvery = 24 * time.Hour

// CSATPayload prefixes the payloads of the CSAT question's buttons.
const CSATPayload = "csat:"

// InboxChange is one change of a conversation in the inbox, for the
// inbox's event streams.
type InboxChange struct {
	// Conversation is the document after the change (do not modify it).
	Conversation *store.Conversation
	// Prev is the inbox before the change (nil before the first handoff).
	Prev *store.Inbox
	// Lines are the transcript lines the change added.
	Lines []store.Message
	// Reason says what changed in the inbox ("" for lines only).
	Reason string
}

// Delivery is what became of one message of a conversation in the inbox.
type Delivery struct {
	Conversation *store.Conversation
	MessageID    string
	// State is "sent", "failed" or "blocked".
	State string
	Error string
}

// InboxObserver hears about every change of a conversation in the inbox
// (open now or before the change) and every delivery of its messages. It
// is called after the write, outside the conversation's lock, and must
// return quickly.
type InboxObserver interface {
	InboxChanged(ctx context.Context, ch InboxChange)
	Delivered(ctx context.Context, d Delivery)
}

type observerBox struct{ o InboxObserver }

// SetInboxObserver makes o hear about inbox changes (the server's streams).
func (r *Runtime) SetInboxObserver(o InboxObserver) { r.obs.Store(&observerBox{o}) }

func (r *Runtime) observer() InboxObserver {
	if b := r.obs.Load(); b != nil {
		return b.o
	}
	return nil
}

// inboxState is the Runtime's part for the inbox.
type inboxState struct {
	obs   atomic.Pointer[observerBox]
	kickc chan struct{}
}

// inboxCtx is one change's view of the inbox, inside apply.
type inboxCtx struct {
	r    *Runtime
	o    *op
	cur  *store.Conversation
	next *store.Conversation
	res  *result
	now  time.Time
	sys  int
	// csat asks close to send the CSAT question.
	csat bool
}

func (ic *inboxCtx) actorName() string {
	if a := ic.o.actor; a != nil {
		return orElse(a.Name, a.ID)
	}
	return ""
}

func (ic *inboxCtx) actorID() string {
	if a := ic.o.actor; a != nil {
		return a.ID
	}
	return ""
}

// reason records what changed; the first reason of a change wins.
func (ic *inboxCtx) reason(r string) {
	if ic.res.reason == "" {
		ic.res.reason = r
	}
}

// last makes line the inbox's preview.
func (ic *inboxCtx) last(line store.Message) {
	if in := ic.next.Inbox; in != nil {
		in.Last = &store.InboxLast{Direction: line.Direction, Text: clipText(line.Text, 200), At: line.At}
	}
}

// system adds a system line (an inbox change in the transcript).
func (ic *inboxCtx) system(event string, data map[string]any, text string) {
	ic.sys++
	ic.res.lines = append(ic.res.lines, store.Message{
		ID: ic.o.convID + ":" + ic.o.key + ":s" + strconv.Itoa(ic.sys), ConversationID: ic.o.convID, Bot: ic.cur.Bot,
		Direction: store.DirectionSystem, Text: text, Event: event, Data: data, At: ic.now,
	})
}

// event adds an inbox event to the event log.
func (ic *inboxCtx) event(typ string, data map[string]any) {
	ic.res.events = append(ic.res.events, ic.r.event(ic.next, ic.o.key, len(ic.res.events), typ, ic.next.Node, ic.now, data))
}

// open starts a new round in queue, unassigned, keeping what outlives a
// round (when the away message went out).
func (ic *inboxCtx) open(queue, node, note string) *store.Inbox {
	in := &store.Inbox{State: store.InboxUnassigned, Queue: queue, HandoffAt: ic.now, WaitingSince: ic.now,
		HandoffNode: node, Note: note}
	if old := ic.next.Inbox; old != nil {
		in.AwaySentAt = old.AwaySentAt
		in.Last = old.Last
	}
	ic.next.Inbox = in
	return in
}

// assign gives the chat to user; the step (if the bot holds the chat, a
// takeover) silences the bot and stops the handoff's wait timer.
func (ic *inboxCtx) assign(user, name, by string, auto bool) {
	in := ic.next.Inbox
	prev := in.Assignee
	in.State, in.Assignee, in.AssigneeName, in.AssignedAt = store.InboxAssigned, user, name, ic.now
	data := map[string]any{"operator": user, "queue": in.Queue, "auto": auto,
		"wait_s": ic.now.Sub(in.HandoffAt).Seconds()}
	if by != "" {
		data["by"] = by
	}
	ic.event(EvAssigned, data)
	ev, reason := ReasonAssigned, ReasonAssigned
	if prev != "" && prev != user {
		ev, reason = ReasonTransferred, ReasonTransferred
	}
	ic.system(ev, map[string]any{"user": user, "user_name": name, "by": by, "queue": in.Queue, "auto": auto},
		name+" took the chat")
	ic.reason(reason)
	ic.stepAs(engine.InputAssigned)
	if prev != user {
		ic.joined(name)
	}
}

// stepAs makes the change step the engine with kind (unless it already
// steps with another input), if there is a state to step.
func (ic *inboxCtx) stepAs(kind engine.InputKind) {
	if ic.o.step || len(ic.cur.State) == 0 {
		return
	}
	if kind == engine.InputAssigned && ic.cur.Status != store.StatusHandoff {
		kind = engine.InputTakeover
	}
	ic.o.step, ic.o.input = true, engine.Input{Kind: kind}
}

// joined tells the person an operator joined (the web chat shows it).
func (ic *inboxCtx) joined(name string) {
	if name == "" || ic.next.Blocked {
		return
	}
	id := ic.o.convID + ":" + ic.o.key + ":j"
	ic.next.Outbox = append(ic.next.Outbox[:len(ic.next.Outbox):len(ic.next.Outbox)],
		store.OutMessage{ID: id, Kind: kindJoined, Text: name, Author: name, At: ic.now, Owner: ic.r.opts.Owner})
	ic.res.added = append(ic.res.added, id)
}

// close resolves the open round for reason.
func (ic *inboxCtx) close(reason string) {
	in := ic.next.Inbox
	if in == nil || !in.State.Open() {
		return
	}
	operator := in.Assignee
	in.State, in.ResolvedAt, in.Unread, in.WaitingSince = store.InboxResolved, ic.now, 0, time.Time{}
	in.Resolver = orElse(ic.actorID(), operator)
	in.CSATPending, in.CSAT = false, 0
	ic.event(EvResolved, map[string]any{"operator": operator, "queue": in.Queue, "reason": reason,
		"seconds": ic.now.Sub(in.HandoffAt).Seconds()})
	ic.system(reason, map[string]any{"user": ic.actorID(), "user_name": ic.actorName(), "queue": in.Queue}, "chat "+reason)
	ic.reason(reason)
	if ic.csat && !ic.next.Blocked {
		in.CSATPending = true
		ic.event(EvCSATRequested, map[string]any{"operator": in.Resolver, "queue": in.Queue})
		id := ic.o.convID + ":" + ic.o.key + ":csat"
		text, bs := csatQuestion(ic.next.Contact.Language)
		ic.next.Outbox = append(ic.next.Outbox[:len(ic.next.Outbox):len(ic.next.Outbox)],
			store.OutMessage{ID: id, Text: text, Buttons: bs, At: ic.now, Owner: ic.r.opts.Owner})
		ic.res.added = append(ic.res.added, id)
		line := store.Message{ID: id, ConversationID: ic.o.convID, Bot: ic.cur.Bot, Direction: store.DirectionBot,
			Text: text, Buttons: bs, At: ic.now}
		ic.res.lines = append(ic.res.lines, line)
		ic.last(line)
	}
}

// csatQuestion is the CSAT question with its 1–5 buttons, in the
// person's language (Russian unless they use English).
func csatQuestion(lang string) (string, []store.Button) {
	text := "Пожалуйста, оцените наш разговор: от 1 (плохо) до 5 (отлично)."
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		text = "Please rate our conversation: 1 (poor) to 5 (excellent)."
	}
	bs := make([]store.Button, 5)
	for i := range bs {
		n := strconv.Itoa(i + 1)
		bs[i] = store.Button{Label: n, Payload: CSATPayload + n}
	}
	return text, bs
}

// csatAnswer reads a CSAT answer: a press of one of its buttons, or the
// digit typed (channels without buttons); 0 when it is not one.
func csatAnswer(text, payload string) int {
	s := strings.TrimSpace(text)
	if p, ok := strings.CutPrefix(payload, CSATPayload); ok {
		s = p
	} else if payload != "" {
		return 0
	}
	if len(s) == 1 && s[0] >= '1' && s[0] <= '5' {
		return int(s[0] - '0')
	}
	return 0
}

// inbound is a customer's message: a CSAT answer, a reopen, or one more
// unread message of an open chat (the bot stays silent: the engine does
// not answer in handoff).
func (ic *inboxCtx) inbound() {
	in, cur := ic.next.Inbox, ic.cur
	if in == nil {
		return
	}
	msg := ic.o.in
	if in.CSATPending {
		in.CSATPending = false
		if n := csatAnswer(msg.Text, msg.Payload); n > 0 {
			in.CSAT = n
			ic.event(EvCSAT, map[string]any{"score": n, "operator": in.Resolver, "queue": in.Queue})
			ic.system(ReasonCSAT, map[string]any{"score": n, "user": in.Resolver}, "CSAT "+strconv.Itoa(n))
			ic.reason(ReasonCSAT)
			if ic.res.inLine != nil && ic.res.inLine.Text == "" {
				ic.res.inLine.Text = strconv.Itoa(n)
			}
			ic.o.step = false
			return
		}
	}
	switch {
	case in.State == store.InboxResolved && cur.Status == store.StatusEnded && ic.now.Sub(in.ResolvedAt) < ReopenWindow:
		queue, node := in.Queue, in.HandoffNode
		in = ic.open(queue, node, in.Note)
		in.Unread = 1
		ic.event(EvReopened, map[string]any{"queue": queue})
		ic.system(ReasonReopened, map[string]any{"queue": queue}, "chat reopened")
		ic.reason(ReasonReopened)
		ic.o.input = engine.Input{Kind: engine.InputReopen, Goto: node}
	case in.State.Open() && cur.Status == store.StatusHandoff:
		in.Unread++
		if in.WaitingSince.IsZero() {
			in.WaitingSince = ic.now
		}
		ic.reason(ReasonMessage)
	default:
		return
	}
	if ic.res.inLine != nil {
		ic.last(*ic.res.inLine)
	}
}

// operatorMessage is an operator's reply: it takes an unassigned chat, and
// takes over one the bot holds.
func (ic *inboxCtx) operatorMessage() error {
	next, a := ic.next, ic.o.actor
	if next.Blocked {
		return ErrBlocked
	}
	if a == nil {
		a = &Actor{ID: ic.o.operator, Name: ic.o.operator, Admin: true}
		ic.o.actor = a
	}
	in := next.Inbox
	switch {
	case in == nil || !in.State.Open() || ic.cur.Status != store.StatusHandoff:
		queue := ""
		if in != nil {
			queue = in.Queue
		}
		ic.open(queue, "", "")
		ic.system(ReasonHandoff, map[string]any{"queue": queue, "takeover": true}, "taken over from the bot")
		ic.assign(a.ID, a.Name, a.ID, false)
	case in.Assignee == "":
		ic.assign(a.ID, a.Name, a.ID, false)
	case in.Assignee != a.ID && !a.Admin:
		return &TakenError{Assignee: in.Assignee, Name: in.AssigneeName}
	}
	in = next.Inbox
	data := map[string]any{"operator": a.ID, "queue": in.Queue}
	if in.FirstReplyAt.IsZero() {
		// The first reply of the round: first response time.
		in.FirstReplyAt = ic.now
		data["first"], data["seconds"] = true, ic.now.Sub(in.HandoffAt).Seconds()
	}
	ic.event(EvOperatorReplied, data)
	in.Unread, in.WaitingSince = 0, time.Time{}
	ic.reason(ReasonMessage)
	return nil
}

// afterStep follows the step into the inbox: a handoff node opens a
// round, leaving handoff (hand back, the wait's timeout) closes it.
func (ic *inboxCtx) afterStep(h *engine.Effect, offline bool, prev engine.Status) {
	next := ic.next
	if h != nil && ic.o.input.Kind != engine.InputReopen {
		in := ic.open(h.Queue, h.Node, h.Note)
		ic.system(ReasonHandoff, map[string]any{"queue": h.Queue, "node": h.Node}, "handed off to queue "+h.Queue)
		ic.reason(ReasonHandoff)
		if offline && (in.AwaySentAt.IsZero() || ic.now.Sub(in.AwaySentAt) >= AwayEvery) && !next.Blocked {
			text := h.Away
			if text == "" {
				text = awayText(next.Contact.Language)
			}
			in.AwaySentAt = ic.now
			id := ic.o.convID + ":" + ic.o.key + ":away"
			next.Outbox = append(next.Outbox[:len(next.Outbox):len(next.Outbox)],
				store.OutMessage{ID: id, Text: text, At: ic.now, Owner: ic.r.opts.Owner})
			ic.res.added = append(ic.res.added, id)
			ic.res.lines = append(ic.res.lines, store.Message{ID: id, ConversationID: ic.o.convID, Bot: ic.cur.Bot,
				Direction: store.DirectionBot, Text: text, At: ic.now})
		}
	}
	if prev == engine.StatusHandoff && next.Status != store.StatusHandoff {
		switch ic.o.input.Kind {
		case engine.InputHandback:
			ic.close(ReasonHandback)
		case engine.InputTimer:
			ic.close(ReasonTimeout)
		default:
			ic.close(ReasonResolved)
		}
	}
	if next.Inbox != nil && (next.Inbox.State.Open() || ic.res.reason != "") {
		for _, l := range ic.res.lines {
			if l.Direction == store.DirectionBot {
				ic.last(l)
			}
		}
	}
}

func awayText(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return "We are offline now and will answer during working hours."
	}
	return "Сейчас мы не на связи. Ответим в рабочее время."
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// AssignRequest is a take, an assignment, a transfer or an unassignment.
type AssignRequest struct {
	// To is the user to give the chat to; "" unassigns.
	To, ToName string
	// Queue, when set, moves the chat to that queue (unassigned unless To is set).
	Queue *string
	// From, when set, is who must hold the chat now ("" = nobody): a
	// conditional take.
	From *string
	// Auto marks the auto-assigner's assignments.
	Auto bool
}

// Assign takes, assigns, transfers or unassigns a chat. A chat the bot
// still holds is taken over. Exactly one of two concurrent takes wins; the
// other gets a *TakenError.
func (r *Runtime) Assign(ctx context.Context, convID string, a Actor, req AssignRequest) (*store.Conversation, error) {
	return r.inboxOp(ctx, convID, "as", &a, func(ic *inboxCtx) error {
		in := ic.next.Inbox
		if req.From != nil && (in == nil || !in.State.Open() || in.Assignee != *req.From) {
			holder := ""
			if in != nil && in.State.Open() {
				holder = in.Assignee
			}
			if holder == "" && *req.From == "" {
				// Expected nobody and nobody has it, but it is not open.
				return ErrNotInInbox
			}
			return &TakenError{Assignee: holder, Name: nameOf(in)}
		}
		if in == nil || !in.State.Open() {
			if req.To == "" {
				return ErrNotInInbox
			}
			queue := ""
			if in != nil {
				queue = in.Queue
			}
			if req.Queue != nil {
				queue = *req.Queue
			}
			ic.open(queue, "", "")
			ic.system(ReasonHandoff, map[string]any{"queue": queue, "takeover": true}, "taken over from the bot")
			ic.assign(req.To, req.ToName, a.ID, req.Auto)
			return nil
		}
		if !a.Admin && in.Assignee != "" && in.Assignee != a.ID {
			return &TakenError{Assignee: in.Assignee, Name: in.AssigneeName}
		}
		moved := req.Queue != nil && *req.Queue != in.Queue
		if moved {
			from := in.Queue
			in.Queue = *req.Queue
			ic.system(ReasonTransferred, map[string]any{"queue": in.Queue, "from_queue": from, "by": a.ID}, "moved to queue "+in.Queue)
			ic.reason(ReasonTransferred)
		}
		switch {
		case req.To != "" && req.To == in.Assignee:
			if !moved {
				ic.res.noop = true
			}
		case req.To != "":
			ic.assign(req.To, req.ToName, a.ID, req.Auto)
		case in.Assignee != "" || moved:
			if in.Assignee != "" {
				in.State, in.Assignee, in.AssigneeName = store.InboxUnassigned, "", ""
				ic.system(ReasonUnassigned, map[string]any{"by": a.ID, "queue": in.Queue}, "back in queue "+in.Queue)
				ic.reason(ReasonUnassigned)
			}
		default:
			ic.res.noop = true
		}
		return nil
	})
}

func nameOf(in *store.Inbox) string {
	if in == nil {
		return ""
	}
	return in.AssigneeName
}

// Resolve closes a handed-off chat; with csat the person is asked to rate
// it (1–5), and the answer becomes a csat event naming the operator.
func (r *Runtime) Resolve(ctx context.Context, convID string, a Actor, csat bool) (*store.Conversation, error) {
	return r.inboxOp(ctx, convID, "rs", &a, func(ic *inboxCtx) error {
		in := ic.next.Inbox
		if in == nil || !in.State.Open() {
			return ErrNotInInbox
		}
		if !a.Admin && in.Assignee != "" && in.Assignee != a.ID {
			return &TakenError{Assignee: in.Assignee, Name: in.AssigneeName}
		}
		ic.csat = csat
		ic.close(ReasonResolved)
		if len(ic.cur.State) > 0 && ic.cur.Status == store.StatusHandoff {
			ic.o.step, ic.o.input = true, engine.Input{Kind: engine.InputResolve}
		}
		return nil
	})
}

// MarkRead sets a chat's unread count to zero.
func (r *Runtime) MarkRead(ctx context.Context, convID string, a Actor) (*store.Conversation, error) {
	return r.inboxOp(ctx, convID, "rd", &a, func(ic *inboxCtx) error {
		in := ic.next.Inbox
		if in == nil || in.Unread == 0 {
			ic.res.noop = true
			return nil
		}
		in.Unread = 0
		ic.reason(ReasonRead)
		return nil
	})
}

// Note records an operator's private note: a transcript line, never sent.
func (r *Runtime) Note(ctx context.Context, convID string, a Actor, text string) (store.Message, error) {
	if strings.TrimSpace(text) == "" {
		return store.Message{}, fmt.Errorf("note on %s: empty text", convID)
	}
	var line store.Message
	_, err := r.inboxOp(ctx, convID, "nt", &a, func(ic *inboxCtx) error {
		ic.o.note, ic.o.operator = text, a.ID
		line = store.Message{ID: ic.o.convID + ":" + ic.o.key + ":n", ConversationID: ic.o.convID, Bot: ic.cur.Bot,
			Direction: store.DirectionNote, Text: text, Operator: a.ID, Author: orElse(a.Name, a.ID), At: ic.now}
		return nil
	})
	return line, err
}

// Reply sends an operator's message (OperatorSend with the actor's
// rights): it takes an unassigned chat and takes over one the bot holds.
func (r *Runtime) Reply(ctx context.Context, convID string, a Actor, text string) (store.Message, error) {
	if strings.TrimSpace(text) == "" {
		return store.Message{}, fmt.Errorf("reply to %s: empty text", convID)
	}
	var line store.Message
	res, err := r.inboxRun(ctx, op{convID: convID, key: "op:" + r.uniqueKey(), operator: a.ID, opText: text, actor: &a})
	if err != nil {
		return line, err
	}
	for _, l := range res.lines {
		if l.Direction == store.DirectionOperator {
			line = l
		}
	}
	return line, nil
}

// EditLead changes a lead's tags and variables (the lead card).
func (r *Runtime) EditLead(ctx context.Context, convID string, a Actor, e engine.LeadEdit) (*store.Conversation, error) {
	return r.inboxOp(ctx, convID, "ed", &a, func(ic *inboxCtx) error {
		if len(ic.cur.State) == 0 {
			return fmt.Errorf("conversation %s has not started: %w", convID, store.ErrNotFound)
		}
		ic.o.step, ic.o.input = true, engine.Input{Kind: engine.InputEdit, Edit: &e}
		ic.reason(ReasonUpdated)
		return nil
	})
}

// HandbackBy is Handback with the user who did it, for the transcript.
func (r *Runtime) HandbackBy(ctx context.Context, convID, gotoNode string, a Actor) (*store.Conversation, error) {
	res, err := r.inboxRun(ctx, op{convID: convID, key: "handback:" + r.uniqueKey(), step: true, actor: &a,
		input: engine.Input{Kind: engine.InputHandback, Goto: gotoNode}})
	if err != nil {
		return nil, err
	}
	return res.conv, nil
}

func (r *Runtime) inboxOp(ctx context.Context, convID, kind string, a *Actor, fn func(ic *inboxCtx) error) (*store.Conversation, error) {
	res, err := r.inboxRun(ctx, op{convID: convID, key: kind + ":" + r.uniqueKey(), actor: a, inbox: fn})
	if err != nil {
		return nil, err
	}
	return res.conv, nil
}

func (r *Runtime) inboxRun(ctx context.Context, o op) (*result, error) {
	if !r.enter() {
		return nil, ErrStopped
	}
	defer r.handles.Done()
	res, err := r.commit(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("inbox: %s: %w", o.convID, err)
	}
	r.finish(ctx, res)
	return res, nil
}

// inboxFinish tells the observer about a committed change of a chat in the
// inbox, and the auto-assigner about a chat waiting or capacity freed.
func (r *Runtime) inboxFinish(ctx context.Context, res *result) {
	if res.noop || res.conv == nil {
		return
	}
	now, prev := res.conv.Inbox, res.prevInbox
	if !announced(prev, now, res.reason) {
		return
	}
	if obs := r.observer(); obs != nil {
		obs.InboxChanged(ctx, InboxChange{Conversation: res.conv, Prev: prev, Lines: res.transcript(), Reason: res.reason})
	}
	waiting := now != nil && now.State == store.InboxUnassigned && (prev == nil || prev.State != store.InboxUnassigned || prev.Queue != now.Queue)
	freed := prev != nil && prev.State == store.InboxAssigned && (now == nil || now.Assignee != prev.Assignee)
	if waiting || freed {
		r.KickAssign()
	}
}

// announced reports whether a change of a conversation's inbox from prev
// to now (with reason) goes to the inbox's streams: while the chat is open,
// the change that opens or closes it, and every change with a reason.
func announced(prev, now *store.Inbox, reason string) bool {
	open := func(in *store.Inbox) bool { return in != nil && in.State.Open() }
	return open(now) || open(prev) || reason != ""
}

// watch marks the messages a change adds as watched when the change goes
// to the inbox's streams: they show the lines as pending, so they must hear
// each one's delivery even once the chat is no longer open.
func watch(next *store.Conversation, res *result) {
	if res.noop || len(res.added) == 0 || !announced(res.prevInbox, next.Inbox, res.reason) {
		return
	}
	next.Outbox = slices.Clone(next.Outbox)
	for i := range next.Outbox {
		if m := &next.Outbox[i]; isMessage(m.Kind) && slices.Contains(res.added, m.ID) {
			m.Watched = true
		}
	}
}

// noteDelivery tells the observer what became of a message of a chat in
// the inbox, or of one whose pending line it was shown.
func (r *Runtime) noteDelivery(ctx context.Context, conv *store.Conversation, m store.OutMessage, state, errText string) {
	if !isMessage(m.Kind) || !(m.Watched || conv.Inbox != nil && conv.Inbox.State.Open()) {
		return
	}
	if obs := r.observer(); obs != nil {
		obs.Delivered(ctx, Delivery{Conversation: conv, MessageID: m.ID, State: state, Error: errText})
	}
}

// channelNoticer is ch's sender as a channel.Noticer, if it is one.
func channelNoticer(ch *outChannel) (channel.Noticer, bool) {
	if ch == nil {
		return nil, false
	}
	n, ok := ch.sender.(channel.Noticer)
	return n, ok
}

// ConversationProgram is the flow version a conversation runs (the bot's
// current one for a conversation that never ran).
func (r *Runtime) ConversationProgram(ctx context.Context, c *store.Conversation) (*engine.Program, error) {
	if c.FlowID == "" {
		return r.flows.Current(ctx, c.Bot)
	}
	p, err := r.flows.Program(ctx, c.Bot, c.FlowID, c.FlowVersion)
	if errors.Is(err, store.ErrNotFound) {
		return r.flows.Current(ctx, c.Bot)
	}
	return p, err
}

// BotProgram is the flow version new conversations of bot start on.
func (r *Runtime) BotProgram(ctx context.Context, bot string) (*engine.Program, error) {
	return r.flows.Current(ctx, bot)
}

// RenderFor renders text as a flow text of conversation c (a canned
// reply): its variables, score, tags, segment and contact.
func (r *Runtime) RenderFor(ctx context.Context, c *store.Conversation, text string) (string, error) {
	p, err := r.ConversationProgram(ctx, c)
	if err != nil {
		return "", err
	}
	t, err := p.Flow.Schema().CompileTemplate(text)
	if err != nil {
		return "", err
	}
	env := &eval.Env{Schema: p.Flow.Schema(), Vars: c.Vars, Score: c.Score, Tags: c.Tags, Segment: p.Flow.Segment(c.Score),
		Contact: eval.Contact{FirstName: c.Contact.FirstName, LastName: c.Contact.LastName, Username: c.Contact.Username,
			Language: c.Contact.Language, Channel: c.Channel, Phone: c.Contact.Phone, Source: c.Contact.Source},
		Now: r.clock.Now(), EnvVars: r.bots.get(ctx, c.Bot).env}
	return t.Render(env)
}
