package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
)

// Outbox item kinds. The outbox is the conversation's ordered list of side
// effects still to do: messages to send, and the timers and webhook calls that
// become jobs once the messages before them are out. Keeping effects there
// makes them part of the same conditional write as the state, so a crash
// cannot lose a timer or a webhook call.
const (
	kindMessage  = ""         // a bot message
	kindOperator = "operator" // a message an operator wrote
	kindTimer    = "timer"    // schedule a timer job (Text: timerSpec)
	kindWebhook  = "webhook"  // schedule a webhook job (Text: JSON WebhookCall)
	kindExpire   = "expire"   // schedule the expiry job of a run (NotBefore: due)
	kindJoined   = "joined"   // tell the person an operator joined (Text: the name)
)

// Job kinds.
const (
	JobTimer   = "timer"
	JobWebhook = "webhook"
	JobResend  = "resend"
	JobExpire  = "expire"
)

// op is one change to a conversation, run under its lock.
type op struct {
	convID string
	// bot, channel and chat create the conversation when it does not exist;
	// without them an unknown conversation is store.ErrNotFound.
	bot, channel, chat string
	// key identifies the change: event and outbox ids derive from it, so a
	// retried change writes the same ids.
	key string
	// dedupe records key in RecentUpdates and drops the change if present.
	dedupe bool
	in     *channel.Inbound
	// step runs the engine with this input (Now, Rand, Env filled in).
	step  bool
	input engine.Input
	// operator messages to append to the outbox (OperatorSend).
	operator string
	opText   string
	// unsub turns consent off with this cause (a stop word, a broadcast's
	// unsubscribe button); the flow's own answer is kept when it has one.
	unsub string
	// extra events go with the change (a broadcast button's press).
	extra []extraEvent
	// actor is the user behind an inbox action (inbox.go); inbox changes
	// the conversation's inbox before the step and may choose the step's
	// input; note is a private note to record.
	actor *Actor
	inbox func(ic *inboxCtx) error
	note  string
}

type extraEvent struct {
	typ  string
	data map[string]any
}

// result is what a committed op leaves to do outside the lock.
type result struct {
	dup     bool
	noop    bool // the step changed nothing: no write
	conv    *store.Conversation
	events  []store.Event
	lines   []store.Message // transcript lines other than the inbound one
	inLine  *store.Message
	cancels []string // timer job ids to cancel
	added   []string // outbox items this op added
	adopted []string // outbox items of dead owners this op took over
	// logsPending: the write went through but the store could not append
	// lines and events with it (store.ErrLogsNotWritten); finish retries.
	logsPending bool
	// prevInbox is the inbox before the change and reason what changed
	// in it, for the inbox's event stream (inbox.go).
	prevInbox *store.Inbox
	reason    string
}

// keep adds logs that dropped outbox items carried to the change's.
func (res *result) keep(l store.PendingLogs) {
	res.lines = append(res.lines, l.Messages...)
	res.events = append(res.events, l.Events...)
}

// transcript is the change's lines in order: the inbound one first.
func (res *result) transcript() []store.Message {
	if res.inLine == nil {
		return res.lines
	}
	return append(append(make([]store.Message, 0, len(res.lines)+1), *res.inLine), res.lines...)
}

// Handle implements channel.Handler: it returns nil once the update is
// recorded in the conversation document (or known to be a duplicate).
func (r *Runtime) Handle(ctx context.Context, in channel.Inbound) error {
	start := time.Now()
	if !r.enter() {
		return ErrStopped
	}
	defer r.handles.Done()
	r.stats.inbound.Add(1)
	if in.Bot == "" || in.Channel == "" || in.Chat == "" {
		r.stats.errors.Add(1)
		return fmt.Errorf("%w: bot %q, channel %q, chat %q", ErrBadInbound, in.Bot, in.Channel, in.Chat)
	}
	o := op{
		convID: store.ConversationID(in.Bot, in.Channel, in.Chat),
		bot:    in.Bot, channel: in.Channel, chat: in.Chat,
		key: in.UpdateID, dedupe: in.UpdateID != "", in: &in,
	}
	if o.key == "" {
		// Without an update id there is nothing to deduplicate on; the time
		// still gives the change distinct ids.
		o.key = "t" + strconv.FormatInt(r.clock.Now().UnixNano(), 36)
	}
	switch in.Kind {
	case channel.KindText, channel.KindPress:
		o.step = true
		o.input = engine.Input{Kind: engine.InputText, Text: in.Text}
		if in.Kind == channel.KindPress {
			o.input = engine.Input{Kind: engine.InputPress, Payload: in.Payload, Text: in.Text}
			r.broadcastPress(ctx, &o, in.Payload)
		} else if isStopWord(in.Text, r.bots.get(ctx, in.Bot).stopWords) {
			o.unsub = "stop_word"
		}
		c := in.Contact
		if c.Channel == "" {
			c.Channel = in.Channel
		}
		o.input.Contact = &c
	case channel.KindBlocked, channel.KindUnblocked:
	default:
		r.stats.errors.Add(1)
		return fmt.Errorf("%w: unknown kind %d", ErrBadInbound, in.Kind)
	}
	res, err := r.commit(ctx, o)
	if err != nil {
		r.stats.errors.Add(1)
		return fmt.Errorf("handle update %s of %s: %w", in.UpdateID, o.convID, err)
	}
	if res.dup {
		r.stats.duplicates.Add(1)
	} else {
		r.finish(ctx, res)
	}
	r.stats.handleLatency.observe(time.Since(start))
	return nil
}

// Handback returns a handed-off conversation to the bot, at node goto or,
// when goto is empty, at the handoff node's resume. A conversation not in
// handoff is left as it is.
func (r *Runtime) Handback(ctx context.Context, convID, gotoNode string) error {
	if !r.enter() {
		return ErrStopped
	}
	defer r.handles.Done()
	res, err := r.commit(ctx, op{convID: convID, key: "handback:" + r.uniqueKey(), step: true,
		input: engine.Input{Kind: engine.InputHandback, Goto: gotoNode}})
	if err != nil {
		return fmt.Errorf("hand back %s: %w", convID, err)
	}
	r.finish(ctx, res)
	return nil
}

// OperatorSend queues an operator's message through the conversation's
// outbox (same ordering, rate limits and retries as the bot's messages) and
// records it in the transcript. It returns the message id.
func (r *Runtime) OperatorSend(ctx context.Context, convID, operator, text string) (string, error) {
	if !r.enter() {
		return "", ErrStopped
	}
	defer r.handles.Done()
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("operator send to %s: empty text", convID)
	}
	key := "op:" + r.uniqueKey()
	res, err := r.commit(ctx, op{convID: convID, key: key, operator: operator, opText: text})
	if err != nil {
		return "", fmt.Errorf("operator send to %s: %w", convID, err)
	}
	r.finish(ctx, res)
	return convID + ":" + key + ":0", nil
}

// uniqueKey names an operator action; those are not retried by a platform,
// so they only need to be distinct.
func (r *Runtime) uniqueKey() string {
	return strconv.FormatInt(r.clock.Now().UnixNano(), 36) + strconv.FormatUint(r.rnd.Uint64()&0xffffff, 36)
}

// commit loads the conversation, applies o and writes the result with one
// conditional write, stepping again after a conflict.
func (r *Runtime) commit(ctx context.Context, o op) (*result, error) {
	if err := r.ensureLease(ctx); err != nil {
		return nil, err
	}
	s := r.locks.of(o.convID)
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if attempt > r.opts.ConflictRetries {
			return nil, fmt.Errorf("%w: %d conflicts", ErrBusy, attempt-1)
		}
		cur, fresh, err := r.loadLocked(ctx, s, o)
		if err != nil {
			return nil, err
		}
		if o.dedupe && slices.Contains(cur.RecentUpdates, o.key) {
			return &result{dup: true, conv: cur}, nil
		}
		box, adopted, kept, err := r.carry(ctx, s, cur)
		if err != nil {
			return nil, err
		}
		base := cur
		if !sameItems(box, cur.Outbox) || len(adopted) > 0 {
			c := *cur
			c.Outbox = box
			base = &c
		}
		next, res, err := r.apply(ctx, base, fresh, o)
		if err != nil {
			return nil, err
		}
		res.adopted = adopted
		res.keep(kept)
		if res.noop {
			res.conv = cur
			return res, nil
		}
		watch(next, res)
		err = r.write(ctx, s, next, fresh, res)
		if errors.Is(err, store.ErrVersionConflict) || errors.Is(err, store.ErrDuplicate) {
			r.stats.conflicts.Add(1)
			s.drop(o.convID)
			r.contention(attempt)
			continue
		}
		if err != nil {
			return nil, err
		}
		res.conv = next
		return res, nil
	}
}

// contention backs off after a lost write so two replicas hammering one
// conversation stop colliding. It is real time, not the clock: it spaces
// store round trips and means nothing to the flow.
func (r *Runtime) contention(attempt int) {
	d := time.Duration(1<<min(attempt, 5)) * time.Millisecond
	time.Sleep(time.Duration(r.rnd.Uint64() % uint64(d)))
}

// loadLocked returns the conversation from the stripe cache or the store, or
// a new document when it does not exist and o may create it.
func (r *Runtime) loadLocked(ctx context.Context, s *stripe, o op) (*store.Conversation, bool, error) {
	if e := s.get(o.convID); e != nil && e.conv != nil {
		return e.conv, false, nil
	}
	c, err := r.st.GetConversation(ctx, o.convID)
	if err == nil {
		s.put(o.convID, c, r.opts.CachePerStripe)
		return c, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) || o.bot == "" {
		return nil, false, fmt.Errorf("load conversation: %w", err)
	}
	now := r.clock.Now()
	return &store.Conversation{
		ID: o.convID, Bot: o.bot, Channel: o.channel, Chat: o.chat,
		Consent:   store.Consent{Subscribed: true, At: now, Source: "first_message"},
		CreatedAt: now,
	}, true, nil
}

// write stores next with the transcript lines and events of the change:
// one commit (with bolt one transaction, with MongoDB one conditional
// replace and the appends), nothing else. Delivery needs no job: the
// outbox items name this process, whose lease others watch.
func (r *Runtime) write(ctx context.Context, s *stripe, next *store.Conversation, fresh bool, res *result) error {
	// The inbound message is built first but folds after a run's start
	// (its source); the append order is the fold order.
	analytics.SortChange(res.events)
	logs := r.carryLogs(next, res)
	err := r.st.CommitConversation(ctx, store.ConversationChange{Conversation: next, Create: fresh,
		Messages: logs.Messages, Events: logs.Events})
	if errors.Is(err, store.ErrLogsNotWritten) {
		// The change stands; finish appends the logs again.
		r.log.Warn("append transcript and events", "conversation", next.ID, "err", err)
		res.logsPending, err = true, nil
	}
	if err != nil {
		return fmt.Errorf("write conversation: %w", err)
	}
	e := s.put(next.ID, next, r.opts.CachePerStripe)
	e.own(res.added...)
	e.own(res.adopted...)
	if len(res.adopted) > 0 {
		r.stats.resends.Add(1)
		r.log.Info("adopted outbox of a process whose lease ended", "conversation", next.ID, "items", len(res.adopted))
	}
	return nil
}

// carry is the outbox a change starts from: the stored one without the
// items this process saw through (pruned now, at no extra write), with the
// items of owners whose lease ended adopted, or set aside when their
// delivery event shows they went out; the logs those carried are returned,
// for the change to write.
func (r *Runtime) carry(ctx context.Context, s *stripe, cur *store.Conversation) ([]store.OutMessage, []string, store.PendingLogs, error) {
	var kept store.PendingLogs
	if len(cur.Outbox) == 0 {
		return cur.Outbox, nil, kept, nil
	}
	e := s.get(cur.ID)
	box := pruneDone(e, cur.Outbox)
	var dead []store.OutMessage
	for _, m := range box {
		if m.Owner != r.opts.Owner && !r.alive(ctx, m.Owner) {
			dead = append(dead, m)
		}
	}
	if len(dead) == 0 {
		return box, nil, kept, nil
	}
	seen, err := r.delivered(ctx, cur, dead)
	if err != nil {
		return nil, nil, kept, err
	}
	out := make([]store.OutMessage, 0, len(box))
	var adopted []string
	for _, m := range box {
		if slices.ContainsFunc(dead, func(d store.OutMessage) bool { return d.ID == m.ID }) {
			if seen[m.ID] {
				addLogs(&kept, r.logsOf(m))
				continue
			}
			m.Owner = r.opts.Owner
			adopted = append(adopted, m.ID)
		}
		out = append(out, m)
	}
	return out, adopted, kept, nil
}

// apply computes the next document for o; cur is never modified.
func (r *Runtime) apply(ctx context.Context, cur *store.Conversation, fresh bool, o op) (*store.Conversation, *result, error) {
	now := r.clock.Now()
	next := *cur
	next.UpdatedAt = now
	res := &result{prevInbox: cur.Inbox}
	if cur.Inbox != nil {
		in := *cur.Inbox
		next.Inbox = &in
	}
	ic := &inboxCtx{r: r, o: &o, cur: cur, next: &next, res: res, now: now}
	if o.dedupe {
		next.RecentUpdates = appendRecent(cur.RecentUpdates, o.key, r.opts.RecentUpdates)
	}
	if in := o.in; in != nil {
		at := in.Time
		if at.IsZero() {
			at = now
		}
		next.LastInboundAt = at
		if in.Contact != (engine.Contact{}) {
			next.Contact = storeContact(in.Contact, cur.Contact)
		}
		// Where the person came from is the first source seen (first
		// touch): a later deep link does not rewrite it.
		if in.Source != "" && (fresh || cur.Contact.Source == "") {
			next.Contact.Source = clipSource(in.Source)
		}
		if utm := parseUTM(in.UTM); len(utm) > 0 && (fresh || len(cur.Contact.UTM) == 0) {
			next.Contact.UTM = utm
		}
		switch in.Kind {
		case channel.KindText, channel.KindPress:
			// Someone who writes to the bot has not blocked it.
			next.Blocked = false
			// The id is a prefix of the replies' ids, so the line sorts first
			// among lines of the same instant.
			line := store.Message{ID: o.convID + ":" + o.key, ConversationID: o.convID, Bot: cur.Bot,
				Direction: store.DirectionIn, Text: in.Text, At: now}
			res.inLine = &line
			ic.inbound()
		case channel.KindBlocked:
			next.Blocked = true
			next.Consent = store.Consent{Subscribed: false, At: now, Source: "blocked"}
			for _, m := range cur.Outbox {
				if isMessage(m.Kind) {
					res.lines = append(res.lines, failedLine(cur, m, "not sent: the chat has blocked the bot"))
				}
			}
			var dropped store.PendingLogs
			next.Outbox, dropped = dropMessages(cur.Outbox)
			res.keep(dropped)
			res.events = append(res.events, r.event(cur, o.key, 0, "blocked", cur.Node, now, nil))
		case channel.KindUnblocked:
			next.Blocked = false
			res.events = append(res.events, r.event(cur, o.key, 0, "unblocked", cur.Node, now, nil))
		}
	}
	if o.inbox != nil {
		if err := o.inbox(ic); err != nil {
			return nil, nil, err
		}
		if res.noop {
			return &next, res, nil
		}
	}
	if o.opText != "" {
		if err := ic.operatorMessage(); err != nil {
			return nil, nil, err
		}
		id := o.convID + ":" + o.key + ":0"
		next.Outbox = append(slices.Clip(next.Outbox), store.OutMessage{ID: id, Kind: kindOperator, Text: o.opText, At: now,
			Owner: r.opts.Owner, Author: ic.actorName()})
		res.added = append(res.added, id)
		line := store.Message{ID: id, ConversationID: o.convID, Bot: cur.Bot,
			Direction: store.DirectionOperator, Text: o.opText, Operator: o.operator, Author: ic.actorName(), At: now}
		res.lines = append(res.lines, line)
		ic.last(line)
	}
	if o.note != "" {
		line := store.Message{ID: o.convID + ":" + o.key + ":n", ConversationID: o.convID, Bot: cur.Bot,
			Direction: store.DirectionNote, Text: o.note, Operator: o.operator, Author: ic.actorName(), At: now}
		res.lines = append(res.lines, line)
	}
	if o.step && len(cur.State) == 0 && o.in == nil && o.input.Kind != engine.InputHandback {
		// An inbox action on a conversation that never ran a flow: there
		// is no state to step.
		o.step = false
	}
	if !o.step {
		return &next, res, nil
	}
	if len(cur.State) == 0 && o.in == nil {
		return nil, nil, fmt.Errorf("conversation %s has not started: %w", o.convID, store.ErrNotFound)
	}
	prog, st, err := r.program(ctx, cur, o)
	if err != nil {
		return nil, nil, err
	}
	bot := r.bots.get(ctx, cur.Bot)
	in := o.input
	in.Now = now
	in.Rand = r.rnd.Uint64()
	in.Env = bot.env
	in.Offline = bot.offline(now)
	if in.Contact != nil {
		// The source is the conversation's (first touch), not the update's.
		c := *in.Contact
		c.Source = next.Contact.Source
		in.Contact = &c
	}
	t0 := time.Now()
	out := engine.Step(prog, st, in)
	if o.unsub != "" {
		out = r.unsubscribe(cur, prog, out, o.unsub, now)
	}
	r.stats.stepLatency.observe(time.Since(t0))
	r.stats.steps.Add(1)
	if out.Err != nil {
		r.stats.stepErrors.Add(1)
		r.log.Warn("step error", "conversation", o.convID, "flow", prog.Flow.ID, "version", prog.Version, "err", out.Err)
	}
	if res.inLine != nil && o.in.Kind == channel.KindPress && res.inLine.Text == "" {
		res.inLine.Text = buttonLabel(prog, o.in.Payload)
	}
	ns := out.State
	if o.in == nil && o.opText == "" && o.inbox == nil && len(out.Messages) == 0 && len(out.Events) == 0 && len(out.Effects) == 0 {
		// A stale timer or webhook result: nothing to write.
		if enc := engine.AppendState(nil, ns); bytes.Equal(enc, cur.State) {
			res.noop = true
			return &next, res, nil
		}
	}
	next.State = engine.AppendState(make([]byte, 0, len(cur.State)+64), ns)
	next.FlowID, next.FlowVersion = ns.Flow, ns.Version
	next.Node = ns.Node
	next.Status = store.Status(ns.Status.String())
	next.Score = ns.Score
	next.Segment = prog.Flow.Segment(ns.Score)
	next.Tags = ns.Tags
	next.Vars = ns.Vars
	if sub := !ns.Unsubscribed; sub != next.Consent.Subscribed || fresh {
		if !fresh {
			next.Consent = store.Consent{Subscribed: sub, At: now, Source: consentCause(o, out.Events, sub)}
		} else {
			next.Consent.Subscribed = sub
			if !sub {
				next.Consent.Source = consentCause(o, out.Events, sub)
			}
		}
	}

	// The outbox: what was there, minus timers this step cancelled, plus this
	// step's messages and then its effects.
	outbox := slices.Clip(next.Outbox)
	for _, e := range out.Effects {
		if e.Kind == engine.EffectCancelTimer {
			id := timerJobID(o.convID, e.Timer)
			outbox = slices.DeleteFunc(slices.Clone(outbox), func(m store.OutMessage) bool { return m.ID == id })
			res.cancels = append(res.cancels, id)
		}
	}
	keep := len(outbox)
	for i, m := range out.Messages {
		id := o.convID + ":" + o.key + ":" + strconv.Itoa(i)
		bs := storeButtons(m.Buttons)
		item := store.OutMessage{ID: id, Text: m.Text, Buttons: bs, At: now, Owner: r.opts.Owner}
		if t := m.Template; t != nil {
			item.Template = &store.MessageTemplate{Name: t.Name, Language: t.Language, Params: t.Params}
		}
		outbox = append(outbox, item)
		res.lines = append(res.lines, store.Message{ID: id, ConversationID: o.convID, Bot: cur.Bot,
			Direction: store.DirectionBot, Text: m.Text, Buttons: bs, At: now})
	}
	var handoff *engine.Effect
	for i := range out.Effects {
		e := &out.Effects[i]
		switch e.Kind {
		case engine.EffectTimer:
			item := store.OutMessage{ID: timerJobID(o.convID, e.Timer), Kind: kindTimer, Owner: r.opts.Owner,
				Text: timerSpec{Timer: e.Timer, After: e.After, AfterSend: e.AfterSend, Delayed: e.Delayed}.String()}
			if !e.AfterSend {
				item.NotBefore = now.Add(e.After)
				if e.Delayed {
					item.NotBefore = bot.quiet(item.NotBefore)
				}
			}
			outbox = append(outbox, item)
		case engine.EffectWebhook:
			body, err := json.Marshal(e.Webhook)
			if err != nil {
				return nil, nil, fmt.Errorf("encode webhook call: %w", err)
			}
			outbox = append(outbox, store.OutMessage{ID: webhookJobID(o.convID, e.Webhook.ID), Kind: kindWebhook, Text: string(body), Owner: r.opts.Owner})
		case engine.EffectHandoff:
			handoff = e
		}
	}
	if !ns.Started.IsZero() && !ns.Started.Equal(st.Started) && ns.Status != engine.StatusEnded {
		// A new run began: its expiry job checks idleness and reschedules
		// itself, so activity costs no job writes.
		outbox = append(outbox, store.OutMessage{ID: expireJobID(o.convID, ns.Started), Kind: kindExpire,
			NotBefore: ns.Started.Add(prog.Flow.Expire), Owner: r.opts.Owner})
	}
	for _, m := range outbox[keep:] {
		res.added = append(res.added, m.ID)
	}
	if next.Blocked {
		for _, m := range outbox[keep:] {
			if isMessage(m.Kind) {
				res.lines = append(res.lines, failedLine(&next, m, "not sent: the chat has blocked the bot"))
			}
		}
		var dropped store.PendingLogs
		outbox, dropped = dropMessages(outbox)
		res.keep(dropped)
	}
	next.Outbox = outbox

	base := len(res.events)
	if o.in != nil && (o.in.Kind == channel.KindText || o.in.Kind == channel.KindPress) {
		// The inbound message itself, first among the change's events; its id
		// ends in "in" so it never meets a step event's index.
		kind := "text"
		if o.in.Kind == channel.KindPress {
			kind = "press"
		}
		in := r.event(&next, o.key, 0, engine.EvMessageIn, cur.Node, now, map[string]any{engine.DataKind: kind})
		in.ID = next.ID + "/" + o.key + "/in"
		res.events = append(res.events, in)
	}
	for i, ev := range out.Events {
		data := map[string]any{}
		if ev.Name != "" {
			data["name"] = ev.Name
		}
		if ev.Value != "" {
			data["value"] = ev.Value
		}
		if ev.Num != 0 {
			data["num"] = ev.Num
		}
		if ev.Type == engine.EvHandoffStarted && handoff != nil {
			data["queue"] = handoff.Queue
			if handoff.Note != "" {
				data["note"] = handoff.Note
			}
		}
		if ev.Type == engine.EvSplitAssigned {
			data[engine.DataVariant] = ev.Name
		}
		if ev.Type == engine.EvConversationStarted {
			addSource(data, next.Contact)
		}
		if len(data) == 0 {
			data = nil
		}
		at := ev.At
		if at.IsZero() {
			at = now
		}
		se := r.event(&next, o.key, base+i, ev.Type, ev.Node, at, data)
		res.events = append(res.events, se)
	}
	for i, ev := range o.extra {
		res.events = append(res.events, r.event(&next, o.key, 1000+i, ev.typ, ns.Node, now, ev.data))
	}
	ic.afterStep(handoff, in.Offline, st.Status)
	return &next, res, nil
}

// program picks the flow version to step: the pinned one for a running
// conversation, the bot's current one for a new or ended one.
func (r *Runtime) program(ctx context.Context, cur *store.Conversation, o op) (*engine.Program, *engine.State, error) {
	restart := o.input.Kind == engine.InputText || o.input.Kind == engine.InputPress || o.input.Kind == engine.InputGoto
	if len(cur.State) == 0 {
		p, err := r.flows.Current(ctx, cur.Bot)
		if err != nil {
			return nil, nil, err
		}
		return p, &engine.State{}, nil
	}
	p, err := r.flows.Program(ctx, cur.Bot, cur.FlowID, cur.FlowVersion)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		// The pinned version is gone; carry on with the current one rather
		// than strand the person.
		if p, err = r.flows.Current(ctx, cur.Bot); err != nil {
			return nil, nil, err
		}
	}
	st, err := engine.DecodeState(cur.State, p)
	if err != nil {
		return nil, nil, fmt.Errorf("conversation %s: %w", cur.ID, err)
	}
	if restart && st.Status == engine.StatusEnded {
		// A new run starts on the bot's current flow version.
		cp, err := r.flows.Current(ctx, cur.Bot)
		if err != nil {
			return nil, nil, err
		}
		if cp.Flow.ID == st.Flow {
			// Step keeps the pinned version when the flow id matches; a new
			// run must move to the current one.
			st.Version = cp.Version
		}
		p = cp
	}
	return p, st, nil
}

// finish does what a committed op leaves: cancelled timer jobs, logs the
// write could not append, and delivery of the outbox.
func (r *Runtime) finish(ctx context.Context, res *result) {
	if res.logsPending {
		r.appendLogs(ctx, res)
	}
	r.inboxFinish(ctx, res)
	if len(res.added)+len(res.adopted) > 0 {
		r.out.kick(res.conv.ID)
	}
	for _, id := range res.cancels {
		// A cancelled timer that still fires is dropped by the engine as
		// stale; cancelling only saves the work, so it waits behind the
		// replies.
		if err := r.st.CancelJob(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Warn("cancel timer job", "job", id, "err", err)
		}
	}
}

// appendLogs appends a change's transcript lines and events on their own
// (idempotent: ids are deterministic).
func (r *Runtime) appendLogs(ctx context.Context, res *result) {
	if err := r.st.AppendMessages(ctx, res.transcript()...); err != nil {
		r.log.Warn("append transcript", "conversation", res.conv.ID, "err", err)
		r.stats.errors.Add(1)
	}
	if err := r.st.AppendEvents(ctx, res.events...); err != nil {
		r.log.Warn("append events", "conversation", res.conv.ID, "err", err)
		r.stats.errors.Add(1)
	}
}

// event builds a stored event with a deterministic id.
func (r *Runtime) event(c *store.Conversation, key string, i int, typ, node string, at time.Time, data map[string]any) store.Event {
	return store.Event{
		ID: c.ID + "/" + key + "/" + strconv.Itoa(i), Bot: c.Bot, Flow: c.FlowID, FlowVersion: c.FlowVersion,
		Node: node, Type: typ, Conversation: c.ID, Channel: c.Channel, At: at, Data: data,
	}
}

func appendRecent(recent []string, key string, max int) []string {
	out := make([]string, 0, min(len(recent)+1, max))
	if skip := len(recent) + 1 - max; skip > 0 {
		recent = recent[skip:]
	}
	out = append(out, recent...)
	return append(out, key)
}

// sameItems reports whether a and b are the same slice (not a copy).
func sameItems(a, b []store.OutMessage) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// dropMessages removes the messages (not the timers and other effects) from
// an outbox: a blocked chat receives nothing, but its timers still run. It
// returns the logs the dropped items carried, which the caller writes.
func dropMessages(box []store.OutMessage) ([]store.OutMessage, store.PendingLogs) {
	var logs store.PendingLogs
	if len(box) == 0 {
		return box, logs
	}
	return slices.DeleteFunc(slices.Clone(box), func(m store.OutMessage) bool {
		if isMessage(m.Kind) {
			addLogs(&logs, m.Logs)
			return true
		}
		return false
	}), logs
}

func isMessage(kind string) bool { return kind == kindMessage || kind == kindOperator }

// addSource marks the start of each run with where the contact came from
// (the event catalog's conversation_started data), so analytics can split
// conversion by source.
func addSource(data map[string]any, c store.Contact) {
	if c.Source != "" {
		data[engine.DataSource] = c.Source
	}
	if len(c.UTM) > 0 {
		data[engine.DataUTM] = c.UTM
	}
}

// maxSource bounds a source and each UTM value: they come from links
// anyone can write.
const maxSource = 128

func clipSource(s string) string {
	if len(s) <= maxSource {
		return s
	}
	for i := maxSource; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return ""
}

// parseUTM reads the utm_* parameters of an Inbound.UTM query; anything
// else in it is dropped.
func parseUTM(q string) map[string]string {
	if q == "" {
		return nil
	}
	vals, err := url.ParseQuery(q)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range vals {
		if strings.HasPrefix(k, "utm_") && len(k) <= 32 && len(v) > 0 && v[0] != "" {
			out[k] = clipSource(v[0])
		}
		if len(out) == 8 {
			break
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func storeContact(c engine.Contact, old store.Contact) store.Contact {
	out := store.Contact{FirstName: c.FirstName, LastName: c.LastName, Username: c.Username, Language: c.Language, Phone: c.Phone,
		Source: old.Source, UTM: old.UTM}
	if out.Phone == "" {
		out.Phone = old.Phone // a phone shared once is not in every update
	}
	return out
}

func storeButtons(bs []engine.Button) []store.Button {
	if len(bs) == 0 {
		return nil
	}
	out := make([]store.Button, len(bs))
	for i, b := range bs {
		out[i] = store.Button{Label: b.Label, Payload: b.Payload}
	}
	return out
}

// buttonLabel finds the label of a pressed button for the transcript.
func buttonLabel(p *engine.Program, payload string) string {
	node, _, ok := strings.Cut(payload, "#")
	if ok {
		for _, b := range p.ButtonsOf(node) {
			if b.Payload == payload {
				return b.Label
			}
		}
	}
	return payload
}

func timerJobID(convID string, timer uint32) string {
	return convID + ":timer:" + strconv.FormatUint(uint64(timer), 10)
}

func webhookJobID(convID string, call uint32) string {
	return convID + ":webhook:" + strconv.FormatUint(uint64(call), 10)
}

func expireJobID(convID string, started time.Time) string {
	return convID + ":expire:" + strconv.FormatInt(started.UnixNano(), 36)
}

// timerSpec is a timer outbox item's text: what the timer job needs.
type timerSpec struct {
	Timer     uint32
	After     time.Duration
	AfterSend bool
	Delayed   bool
}

func (t timerSpec) String() string {
	return fmt.Sprintf("%d %d %t %t", t.Timer, int64(t.After), t.AfterSend, t.Delayed)
}

func parseTimerSpec(s string) (timerSpec, error) {
	var t timerSpec
	var after int64
	if _, err := fmt.Sscanf(s, "%d %d %t %t", &t.Timer, &after, &t.AfterSend, &t.Delayed); err != nil {
		return t, fmt.Errorf("timer item %q: %w", s, err)
	}
	t.After = time.Duration(after)
	return t, nil
}
