package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/flow"
)

// ErrLoop reports a step that ran MaxSteps nodes without reaching one that waits.
var ErrLoop = errors.New("too many steps without waiting: the flow loops")

// Step runs one input against a conversation and returns what happened.
// It does not modify prev. It never panics: a bug surfaces as Output.Err and
// an "error" event, with the conversation left as it was.
func Step(p *Program, prev *State, in Input) (out Output) {
	st := *prev
	st.shared = true
	// One allocation each instead of growing: a typical step emits a few
	// events and one or two messages.
	out.Events = make([]Event, 0, 8)
	out.Messages = make([]Message, 0, 2)
	r := &run{p: p, st: &st, in: in, out: &out}
	defer func() {
		if rec := recover(); rec != nil {
			out = Output{State: prev, Err: fmt.Errorf("step %s at %s: internal error: %v", p.Flow.ID, prev.Node, rec)}
			out.Events = []Event{{Type: EvError, Node: prev.Node, Value: out.Err.Error(), At: in.Now}}
		}
	}()
	if in.Contact != nil {
		st.Contact = *in.Contact
	}
	switch in.Kind {
	case InputText, InputPress:
		r.inbound()
	case InputTimer:
		r.timer()
	case InputWebhook:
		r.webhook()
	case InputHandback:
		r.handback()
	case InputExpire:
		r.expire()
	case InputGoto:
		r.jump()
	case InputTakeover:
		r.takeover()
	case InputAssigned:
		if st.Status == StatusHandoff {
			r.cancelTimer()
		}
	case InputResolve:
		r.resolve()
	case InputReopen:
		r.reopen()
	case InputEdit:
		r.edit()
	}
	if r.budget != nil {
		// An expression ran out of its evaluation budget on a node with no
		// on_error: undo the step, so the conversation stays where it was
		// and waits for the next message. Only the error is kept.
		return Output{State: prev, Err: r.budget, Events: []Event{{Type: EvError, Node: r.budgetNode, Value: r.budget.Error(), At: in.Now}}}
	}
	out.State = &st
	return out
}

type run struct {
	p     *Program
	st    *State
	in    Input
	out   *Output
	env   eval.Env
	envOK bool
	steps int
	// open is the node whose prompt timed out unanswered in this step. Coming
	// back to it (a nudge that leads back, as the canvas draws it) shows the
	// prompt and its buttons again, below the nudge where the person can tap
	// them, but does not arm the timeout again: a silent person is nudged
	// once, not every two hours.
	open string
	// budget is the first expression of this step that ran out of its
	// evaluation budget (eval.ErrBudget) and budgetNode its node; the step
	// stops there and is undone unless the node goes on at its on_error.
	budget     error
	budgetNode string
	// started says a run began in this step (startRun ran).
	started bool
}

func (r *run) event(typ, node, name string) *Event {
	r.out.Events = append(r.out.Events, Event{Type: typ, Node: node, Name: name, At: r.in.Now})
	return &r.out.Events[len(r.out.Events)-1]
}

func (r *run) fail(node string, err error) {
	if r.out.Err == nil {
		r.out.Err = err
	}
	if r.budget == nil && errors.Is(err, eval.ErrBudget) {
		r.budget, r.budgetNode = err, node
	}
	r.event(EvError, node, "").Value = err.Error()
}

func (r *run) send(m Message) { r.out.Messages = append(r.out.Messages, m) }

func (r *run) effect(e Effect) { r.out.Effects = append(r.out.Effects, e) }

// environment returns the values expressions see, built on first use.
func (r *run) environment() *eval.Env {
	if !r.envOK {
		st := r.st
		r.env.Schema = r.p.Flow.Schema()
		r.env.Vars = st.Vars
		r.env.Score = st.Score
		r.env.Tags = st.Tags
		r.env.Segment = r.p.Flow.Segment(st.Score)
		r.env.Contact = st.Contact
		r.env.Input = r.in.Text
		r.env.Now = r.in.Now
		r.env.EnvVars = r.in.Env
		r.env.Invalidate()
		r.envOK = true
	}
	return &r.env
}

// changed drops cached expression values after the state changed.
func (r *run) changed() { r.envOK = false }

func (r *run) render(node string, t *eval.Template) string {
	if t == nil {
		return ""
	}
	if t.Static() {
		s, _ := t.Render(nil)
		return s
	}
	s, err := t.Render(r.environment())
	if err != nil {
		// The message still goes out with the failing hole left empty: a
		// customer waiting for an answer is better served by most of it.
		r.fail(node, fmt.Errorf("node %s: %w", node, err))
	}
	return s
}

func (r *run) startRun() {
	st := r.st
	// A new run belongs to the version it is given: a conversation that
	// ended on version 3 starts over on whatever the runtime now runs.
	st.Flow = r.p.Flow.ID
	st.Version = r.p.Version
	st.Started = r.in.Now
	st.Status = StatusBot
	r.started = true
	r.event(EvConversationStarted, r.p.Flow.Start, "")
}

func (r *run) inbound() {
	st, in := r.st, r.in
	st.LastActive = in.Now
	if st.Status == StatusHandoff {
		return // the operator answers; triggers are off during handoff
	}
	fresh := st.IsNew() || st.Flow != r.p.Flow.ID
	if t := r.matchTrigger(); t != nil {
		if fresh || st.Status == StatusEnded {
			r.startRun()
		}
		r.fireTrigger(t)
		return
	}
	if st.Status == StatusEnded && !fresh && in.Kind == InputPress {
		// A button left on the screen of a finished conversation: starting
		// over from the greeting would surprise the person, and the payload
		// no longer answers anything. Typing something starts over instead.
		r.event(EvInputUnmatched, st.Node, "").Value = clip(in.Payload)
		return
	}
	if fresh || st.Status == StatusEnded {
		r.startRun()
		r.enter(r.p.Flow.Start)
		return
	}
	c := r.p.nodes[st.Node]
	if c == nil {
		// The node is gone from this version; start over rather than strand the person.
		r.fail(st.Node, fmt.Errorf("node %s is not in flow %s version %d", st.Node, r.p.Flow.ID, r.p.Version))
		r.enter(r.p.Flow.Start)
		return
	}
	if in.Kind == InputPress {
		r.press(c)
		return
	}
	switch st.Wait {
	case WaitReply:
		if c.Type == "buttons" {
			r.typedButton(c)
		} else {
			r.answer(c, in.Text)
		}
	default:
		// Waiting for a timer or a webhook: answer questions from the FAQ, stay
		// silent otherwise (the transcript keeps the message for the record).
		if r.faq() {
			return
		}
		r.event(EvInputUnmatched, c.ID, "").Value = clip(in.Text)
	}
}

func (r *run) matchTrigger() *flow.Trigger {
	text := r.in.Text
	if r.in.Kind == InputPress || text == "" {
		return nil
	}
	cmd := commandOf(text)
	var words []string
	for i := range r.p.triggers {
		t := &r.p.triggers[i]
		if t.command != "" {
			if cmd == t.command {
				return t.t
			}
			continue
		}
		if words == nil {
			words = flow.Words(text)
		}
		for _, ph := range t.phrases {
			// Fuzzy like the FAQ: "позовите менеджера" must reach "менеджер".
			if matchPhrase(words, ph, true) {
				return t.t
			}
		}
	}
	return nil
}

func (r *run) fireTrigger(t *flow.Trigger) {
	st := r.st
	name := t.Command
	if name == "" {
		name = t.Keywords[0]
	}
	r.event(EvTriggerFired, st.Node, name)
	if t.Reset {
		st.reset()
		r.changed()
		if !r.started {
			// A reset starts the funnel over: analytics count it as a new run.
			r.startRun()
		}
	}
	if t.Command != "" && st.Unsubscribed {
		// An explicit command is the person coming back: consent is on again.
		st.Unsubscribed = false
		r.event(EvSubscribed, st.Node, name)
	}
	r.enter(t.Goto)
}

// press handles a button press, including one on an earlier message.
func (r *run) press(cur *cnode) {
	st := r.st
	tg, ok := r.p.payloads[r.in.Payload]
	if !ok {
		r.event(EvInputUnmatched, cur.ID, "").Value = clip(r.in.Payload)
		r.reprompt(cur)
		return
	}
	c := r.p.nodes[tg.node]
	if tg.choice {
		if c != cur || st.Wait != WaitReply {
			// A choice only answers its own question, and only while it is asked.
			r.reprompt(cur)
			return
		}
		r.answer(c, c.choices[tg.index])
		return
	}
	r.pressButton(c, tg.index)
}

func (r *run) pressButton(c *cnode, i int) {
	st := r.st
	b := c.Buttons[i]
	r.event(EvButtonPressed, c.ID, b.Label)
	if b.Score != 0 {
		r.addScore(c.ID, b.Score)
	}
	if st.addTags(b.Tags) {
		r.changed()
	}
	r.enter(b.Next)
}

func (r *run) typedButton(c *cnode) {
	text := flow.NormalizeText(r.in.Text)
	for i, l := range c.labels {
		if l == text && text != "" {
			r.pressButton(c, i)
			return
		}
	}
	// Channels without buttons (and people) answer with the button's number.
	if n, err := parseIndex(text); err == nil && n >= 1 && n <= len(c.Buttons) {
		r.pressButton(c, n-1)
		return
	}
	if r.faq() {
		r.reprompt(c)
		return
	}
	r.event(EvInputUnmatched, c.ID, "").Value = clip(r.in.Text)
	r.reprompt(c)
}

func parseIndex(s string) (int, error) {
	if len(s) == 0 || len(s) > 2 {
		return 0, errors.New("not an index")
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, errors.New("not an index")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// answer checks a reply to a question, saves it and goes on, or re-asks.
func (r *run) answer(c *cnode, text string) {
	st := r.st
	val, ok := r.convert(c, text)
	if !ok {
		if r.faq() {
			r.reprompt(c)
			return
		}
		st.Attempts++
		ev := r.event(EvInputInvalid, c.ID, c.Expect.Kind)
		ev.Value = clip(text)
		ev.Num = float64(st.Attempts)
		if st.Attempts >= c.Attempts && c.OnFail != "" {
			r.event(EvQuestionFailed, c.ID, "").Num = float64(st.Attempts)
			r.enter(c.OnFail)
			return
		}
		if c.InvalidT != nil {
			r.send(Message{Node: c.ID, Text: r.render(c.ID, c.InvalidT), Buttons: c.buttons})
		} else {
			r.reprompt(c)
		}
		return
	}
	if c.Save != "" {
		t, _ := r.p.Flow.VarType(c.Save)
		v, err := eval.Convert(val, t)
		if err != nil {
			v = eval.Format(val)
		}
		st.setVar(c.Save, v)
		r.changed()
	}
	ev := r.event(EvAnswered, c.ID, c.Save)
	ev.Value = clip(eval.Format(val))
	r.enter(c.Next)
}

// convert checks an answer against the question's expect.
func (r *run) convert(c *cnode, text string) (any, bool) {
	switch c.Expect.Kind {
	case "number":
		f, ok := parseNumber(text)
		return f, ok
	case "email":
		s, ok := parseEmail(text)
		return s, ok
	case "phone":
		s, ok := parsePhone(text)
		return s, ok
	case "date":
		t, ok := parseDate(text, r.in.Now)
		return t, ok
	case "choice":
		norm := flow.NormalizeText(text)
		for i, l := range c.labels {
			if l == norm {
				return c.choices[i], true
			}
		}
		if n, err := parseIndex(norm); err == nil && n >= 1 && n <= len(c.choices) {
			return c.choices[n-1], true
		}
		return nil, false
	case "regex":
		t := strings.TrimSpace(text)
		return t, c.Regex != nil && c.Regex.MatchString(t)
	}
	t := strings.TrimSpace(text)
	return t, t != ""
}

// faq answers free text from the flow's FAQ; it reports whether it did.
func (r *run) faq() bool {
	if len(r.p.faq) == 0 || r.in.Text == "" {
		return false
	}
	words := flow.Words(r.in.Text)
	for _, q := range r.p.faq {
		for _, ph := range q.phrases {
			if matchPhrase(words, ph, true) {
				r.event(EvFAQAnswered, r.st.Node, q.faq.Keywords[0])
				r.send(Message{Node: r.st.Node, Text: r.render(r.st.Node, q.faq.AnswerT)})
				return true
			}
		}
	}
	return false
}

// reprompt sends the current node's prompt again.
func (r *run) reprompt(c *cnode) {
	switch c.Type {
	case "buttons", "question":
		r.send(r.prompt(c))
	}
}

func (r *run) prompt(c *cnode) Message {
	m := c.prompt
	if !c.static {
		m = Message{Node: c.ID, Text: r.render(c.ID, c.TextT), Buttons: c.buttons}
	}
	if c.Template != "" {
		t := &MessageTemplate{Name: c.Template, Language: c.TemplateLanguage}
		for _, p := range c.TemplateParamsT {
			t.Params = append(t.Params, r.render(c.ID, p))
		}
		m.Template = t
	}
	return m
}

func (r *run) addScore(node string, add float64) {
	st := r.st
	before := r.p.Flow.Segment(st.Score)
	st.Score += add
	r.changed()
	r.event(EvScoreChanged, node, "").Num = st.Score
	if after := r.p.Flow.Segment(st.Score); after != before {
		r.event(EvSegmentChanged, node, after)
	}
}

func (r *run) cancelTimer() {
	st := r.st
	if st.Timer != 0 {
		r.effect(Effect{Kind: EffectCancelTimer, Timer: st.Timer})
		st.Timer = 0
	}
	st.Webhook = 0
}

func (r *run) newTimer(after bool, d Effect) {
	st := r.st
	st.Seq++
	st.Timer = st.Seq
	d.Kind = EffectTimer
	d.Timer = st.Timer
	d.AfterSend = after
	r.effect(d)
}

// end stops the flow; the next message starts over at start.
func (r *run) end(node string) {
	st := r.st
	st.Status = StatusEnded
	st.Wait = WaitEnd
	st.Attempts = 0
	r.event(EvConversationEnded, node, "")
}

// enter runs nodes from id until one waits.
func (r *run) enter(id string) {
	st := r.st
	r.cancelTimer()
	for {
		if id == "" {
			r.end(st.Node)
			return
		}
		r.steps++
		if r.steps > MaxSteps {
			r.fail(id, fmt.Errorf("node %s: %w", id, ErrLoop))
			st.Node = id
			r.end(id)
			return
		}
		c := r.p.nodes[id]
		if c == nil {
			r.fail(id, fmt.Errorf("no node %s in flow %s", id, r.p.Flow.ID))
			r.end(st.Node)
			return
		}
		st.Node = id
		st.Status = StatusBot
		st.Wait = WaitNone
		st.Attempts = 0
		r.event(EvNodeEntered, id, c.Type)
		id = r.visit(c)
		if st.Wait != WaitNone || r.budget != nil {
			return
		}
	}
}

// visit performs one node and returns the next node to run, or "" with
// st.Wait set when the node waits (or "" with no wait when the flow ends).
func (r *run) visit(c *cnode) string {
	st := r.st
	n := c.Node
	switch n.Type {
	case "message":
		r.send(r.prompt(c))
		return r.orEnd(n.Next)
	case "buttons", "question":
		r.send(r.prompt(c))
		r.wait(WaitReply)
		if n.Timeout != nil && c.ID != r.open {
			r.newTimer(true, Effect{After: n.Timeout.After, Delayed: true})
		}
		return ""
	case "condition":
		for i := range n.Branches {
			b := &n.Branches[i]
			if b.Cond == nil {
				continue
			}
			ok, err := b.Cond.EvalBool(r.environment())
			if err != nil {
				r.fail(n.ID, fmt.Errorf("node %s branch %d: %w", n.ID, i+1, err))
				if r.budget != nil {
					return ""
				}
				continue
			}
			if ok {
				return b.Next
			}
		}
		return r.orEnd(n.Else)
	case "score":
		if n.Add != 0 {
			r.addScore(n.ID, n.Add)
		}
		if st.addTags(n.Tags) {
			r.changed()
		}
		return r.orEnd(n.Next)
	case "handoff":
		if r.in.Offline && n.Offline != "" {
			r.event(EvHandoffOffline, n.ID, n.Queue)
			return n.Offline
		}
		if n.TextT != nil {
			r.send(r.prompt(c))
		}
		r.handoff(c, true)
		return ""
	case "delay":
		r.wait(WaitTimer)
		r.newTimer(false, Effect{After: n.For, Delayed: true})
		return ""
	case "split":
		return r.split(n)
	case "webhook":
		return r.callWebhook(n)
	case "set":
		for _, a := range n.Assign {
			if a.Prog == nil {
				continue
			}
			v, err := a.Prog.Eval(r.environment())
			if err == nil {
				t, _ := r.p.Flow.VarType(a.Var)
				v, err = eval.Convert(v, t)
			}
			if err != nil {
				r.fail(n.ID, fmt.Errorf("node %s: set %s: %w", n.ID, a.Var, err))
				if r.budget != nil {
					return ""
				}
				continue
			}
			st.setVar(a.Var, v)
			r.changed()
		}
		return r.orEnd(n.Next)
	case "goal":
		r.event(EvGoal, n.ID, n.Name).Num = n.Value
		return r.orEnd(n.Next)
	case "unsubscribe":
		if !st.Unsubscribed {
			st.Unsubscribed = true
			r.event(EvUnsubscribed, n.ID, "")
		}
		if n.TextT != nil {
			r.send(r.prompt(c))
		}
		return r.orEnd(n.Next)
	case "end":
		if n.TextT != nil {
			r.send(r.prompt(c))
		}
		r.end(n.ID)
		return ""
	}
	r.fail(n.ID, fmt.Errorf("node %s: unknown type %s", n.ID, n.Type))
	r.end(n.ID)
	return ""
}

func (r *run) wait(w Wait) {
	r.st.Status = StatusWaiting
	r.st.Wait = w
}

// orEnd ends the conversation when a node has nowhere to go.
func (r *run) orEnd(next string) string {
	if next == "" {
		r.end(r.st.Node)
	}
	return next
}

func (r *run) split(n *flow.Node) string {
	st := r.st
	if name, ok := st.variant(n.ID); ok {
		for _, v := range n.Variants {
			if v.Name == name {
				return v.Next
			}
		}
		// The variant was removed in a later version: pick again.
	}
	total := 0.0
	for _, v := range n.Variants {
		total += v.Weight
	}
	x := float64(r.in.Rand>>11) / (1 << 53) * total
	chosen := n.Variants[len(n.Variants)-1]
	for _, v := range n.Variants {
		if x < v.Weight {
			chosen = v
			break
		}
		x -= v.Weight
	}
	st.own()
	kept := st.Splits[:0]
	for _, s := range st.Splits {
		if s.Node != n.ID {
			kept = append(kept, s)
		}
	}
	st.Splits = append(kept, SplitChoice{Node: n.ID, Variant: chosen.Name})
	r.event(EvSplitAssigned, n.ID, chosen.Name)
	return chosen.Next
}

func (r *run) callWebhook(n *flow.Node) string {
	st := r.st
	call := &WebhookCall{Node: n.ID, Method: n.Method, URL: r.render(n.ID, n.URLT)}
	for _, h := range n.Headers {
		call.Headers = append(call.Headers, [2]string{h.Name, r.render(n.ID, h.T)})
	}
	if n.BodyT != nil && n.Method != "GET" {
		body, err := json.Marshal(flow.MapBody(n.BodyT, func(leaf any) any {
			if t, ok := leaf.(*eval.Template); ok {
				return r.render(n.ID, t)
			}
			return leaf
		}))
		if err == nil && r.budget != nil {
			err = r.budget
		}
		if err != nil {
			if err != r.budget {
				r.fail(n.ID, fmt.Errorf("node %s: body: %w", n.ID, err))
			}
			if r.budget != nil && n.OnError == "" {
				return "" // the step is undone
			}
			r.budget = nil // handled: the call is not made, on_error is next
			return r.orEnd(orElse(n.OnError, n.Next))
		}
		call.Body = body
	}
	if r.budget != nil {
		if n.OnError == "" {
			return ""
		}
		r.budget = nil
		return r.orEnd(n.OnError)
	}
	st.Seq++
	st.Webhook = st.Seq
	call.ID = st.Webhook
	r.wait(WaitWebhook)
	r.event(EvWebhookCalled, n.ID, n.Method).Value = call.URL
	r.effect(Effect{Kind: EffectWebhook, Webhook: call})
	return ""
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r *run) webhook() {
	st, res := r.st, r.in.Webhook
	if res == nil || st.Webhook == 0 || res.ID != st.Webhook || st.Wait != WaitWebhook {
		return // a late or repeated result for a call the conversation moved past
	}
	c := r.p.nodes[st.Node]
	if c == nil {
		return
	}
	st.Webhook = 0
	if res.Err != "" || res.Status < 200 || res.Status > 299 {
		ev := r.event(EvWebhookFailed, c.ID, "")
		ev.Num = float64(res.Status)
		ev.Value = clip(orElse(res.Err, fmt.Sprintf("HTTP %d", res.Status)))
		r.enter(orElse(c.OnError, c.Next))
		return
	}
	if c.Save != "" {
		var v any
		if len(res.Body) > 0 {
			if err := json.Unmarshal(res.Body, &v); err != nil {
				v = string(res.Body)
			}
		}
		t, _ := r.p.Flow.VarType(c.Save)
		conv, err := eval.Convert(v, t)
		if err != nil {
			r.fail(c.ID, fmt.Errorf("node %s: save %s: %w", c.ID, c.Save, err))
			r.enter(orElse(c.OnError, c.Next))
			return
		}
		st.setVar(c.Save, conv)
		r.changed()
	}
	r.enter(c.Next)
}

func (r *run) timer() {
	st := r.st
	if st.Timer == 0 || r.in.Timer != st.Timer {
		return // the conversation moved on; the timer is stale
	}
	c := r.p.nodes[st.Node]
	st.Timer = 0
	if c == nil {
		return
	}
	switch {
	case st.Wait == WaitTimer && c.Type == "delay":
		r.event(EvTimerFired, c.ID, "")
		r.enter(c.Next)
	case st.Wait == WaitReply && c.Timeout != nil:
		r.event(EvReplyTimeout, c.ID, "")
		r.open = c.ID
		r.enter(c.Timeout.Next)
	case st.Status == StatusHandoff && c.Type == "handoff" && c.TimeoutNode != "":
		// Nobody took the chat in time: the bot goes on.
		r.event(EvHandoffTimeout, c.ID, c.Queue)
		r.event(EvHandoffEnded, c.ID, "timeout")
		st.Status = StatusBot
		r.enter(c.TimeoutNode)
	}
}

func (r *run) handback() {
	st := r.st
	if st.Status != StatusHandoff {
		return
	}
	c := r.p.nodes[st.Node]
	r.event(EvHandoffEnded, st.Node, "")
	next := r.in.Goto
	if next == "" && c != nil {
		next = c.Resume
		if c.Type != "handoff" {
			next = c.ID // taken over mid-flow: the bot picks up where it was
		}
	}
	if next == "" {
		next = r.p.Flow.Start
	}
	st.Status = StatusBot
	r.enter(next)
}

func (r *run) jump() {
	if r.p.nodes[r.in.Goto] == nil {
		r.fail(r.st.Node, fmt.Errorf("goto: no node %s in flow %s", r.in.Goto, r.p.Flow.ID))
		return
	}
	if r.st.IsNew() || r.st.Flow != r.p.Flow.ID || r.st.Status == StatusEnded {
		r.startRun()
	}
	r.enter(r.in.Goto)
}

func (r *run) expire() {
	st := r.st
	if st.Status == StatusEnded || st.IsNew() {
		return
	}
	r.cancelTimer()
	r.event(EvExpired, st.Node, "")
	r.end(st.Node)
}

func clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	cut := 200
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// handoff puts the chat in the node's queue and waits for an operator,
// arming the node's wait timer; fresh renders the note and away text.
func (r *run) handoff(c *cnode, fresh bool) {
	st, n := r.st, c.Node
	st.Node = c.ID
	st.Status = StatusHandoff
	st.Wait = WaitHandoff
	r.event(EvHandoffStarted, n.ID, n.Queue)
	e := Effect{Kind: EffectHandoff, Queue: n.Queue, Node: n.ID}
	if fresh {
		e.Note = r.render(n.ID, n.NoteT)
		if r.in.Offline {
			e.Away = r.render(n.ID, n.AwayT)
		}
	}
	r.effect(e)
	if n.Wait > 0 && n.TimeoutNode != "" {
		r.newTimer(false, Effect{After: n.Wait})
	}
}

// takeover silences the bot where it stands: an operator took the chat.
func (r *run) takeover() {
	st := r.st
	if st.Status == StatusHandoff || st.IsNew() {
		return
	}
	r.cancelTimer()
	st.Status = StatusHandoff
	st.Wait = WaitHandoff
	st.Attempts = 0
	r.event(EvHandoffStarted, st.Node, "takeover")
}

// resolve ends a handed-off chat: the next message starts the flow as
// configured (a trigger, or the start).
func (r *run) resolve() {
	st := r.st
	if st.Status != StatusHandoff {
		return
	}
	r.cancelTimer()
	r.event(EvHandoffEnded, st.Node, "resolved")
	r.end(st.Node)
}

// reopen returns a resolved chat to the handoff node it left, silently.
func (r *run) reopen() {
	st := r.st
	if st.Status == StatusHandoff || st.IsNew() {
		return
	}
	c := r.p.nodes[r.in.Goto]
	if c == nil || c.Type != "handoff" {
		// The node is gone from this version (or it was a takeover): hold
		// the chat where it is.
		r.takeover()
		return
	}
	r.cancelTimer()
	st.Attempts = 0
	r.handoff(c, false)
}

// edit applies an operator's change of tags and variables. A variable the
// flow does not declare, or a value that does not convert to its type, is
// an error event and changes nothing of that variable.
func (r *run) edit() {
	st, e := r.st, r.in.Edit
	if e == nil {
		return
	}
	if e.SetTags {
		st.own()
		st.Tags = nil
		for _, t := range e.Tags {
			if t != "" && !slices.Contains(st.Tags, t) {
				st.Tags = append(st.Tags, t)
			}
		}
	}
	names := slices.Sorted(maps.Keys(e.Vars))
	for _, name := range names {
		t, ok := r.p.Flow.VarType(name)
		if !ok {
			r.fail(st.Node, fmt.Errorf("edit: no variable %s in flow %s", name, r.p.Flow.ID))
			continue
		}
		raw := e.Vars[name]
		if raw == nil {
			st.own()
			delete(st.Vars, name)
			continue
		}
		v, err := eval.Convert(raw, t)
		if err != nil {
			r.fail(st.Node, fmt.Errorf("edit: %s: %w", name, err))
			continue
		}
		st.setVar(name, v)
	}
	r.changed()
	r.event(EvLeadEdited, st.Node, "")
}
