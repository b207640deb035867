package runtime_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// waitFlow hands off with a wait: nobody taking the chat in 15 minutes
// sends the bot on to call_back.
const waitFlow = `
voronka: 1
id: w
start: ask
vars:
  phone: string
triggers:
  - keywords: [manager]
    goto: human
nodes:
  ask:
    type: question
    text: "Your phone?"
    save: phone
    next: human
  human:
    type: handoff
    text: "Connecting"
    queue: sales
    note: "Phone {{ phone }}"
    resume: back
    wait: 15m
    timeout: call_back
  call_back:
    type: end
    text: "We will call you back"
  back:
    type: message
    text: "Bot again, {{ phone }}"
    next: ask
`

var (
	anna  = runtime.Actor{ID: "u-anna", Name: "Анна"}
	boris = runtime.Actor{ID: "u-boris", Name: "Борис"}
)

func handedOff(t *testing.T, h *harness, chat string) *store.Conversation {
	t.Helper()
	h.text(h.rt, chat, chat+"-1", "hello")
	h.text(h.rt, chat, chat+"-2", "manager please")
	c := h.conv(chat)
	if c.Inbox == nil || c.Inbox.State != store.InboxUnassigned || c.Inbox.Queue != "sales" {
		t.Fatalf("after the handoff node the inbox is %+v, want unassigned in sales", c.Inbox)
	}
	return c
}

func transcript(t *testing.T, st store.Store, id string) []store.Message {
	t.Helper()
	msgs, _, err := st.ListMessages(context.Background(), id, "", store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestInboxCustomerWritesDuringHandoff(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		c := handedOff(t, h, "1")
		h.text(h.rt, "1", "1-3", "is anyone there?")
		h.text(h.rt, "1", "1-4", "hello??")
		h.settle(h.rt)
		h.waitTexts("1", "Hi Anna", "Connecting") // the bot stays silent
		c = h.conv("1")
		if c.Inbox.Unread != 2 || c.Inbox.WaitingSince.IsZero() || c.Inbox.Last == nil || c.Inbox.Last.Text != "hello??" {
			t.Fatalf("inbox after two customer messages: %+v", c.Inbox)
		}
		var in []string
		for _, m := range transcript(t, h.st, c.ID) {
			if m.Direction == store.DirectionIn {
				in = append(in, m.Text)
			}
		}
		if !slices.Contains(in, "is anyone there?") || !slices.Contains(in, "hello??") {
			t.Fatalf("customer lines in the transcript: %q", in)
		}
	})
}

// Two replicas, several operators taking one chat at the same moment:
// exactly one take wins, the others are told who has it.
func TestInboxConcurrentTakesHaveOneWinner(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		other := h.newRuntime()
		h.run(other)
		c := handedOff(t, h, "7")
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rt := h.rt
				if i%2 == 1 {
					rt = other
				}
				a := runtime.Actor{ID: "u-" + string(rune('a'+i)), Name: "op"}
				_, errs[i] = rt.Assign(context.Background(), c.ID, a, runtime.AssignRequest{To: a.ID, ToName: a.Name})
			}()
		}
		wg.Wait()
		winners := 0
		winner := ""
		for i, err := range errs {
			var taken *runtime.TakenError
			switch {
			case err == nil:
				winners++
				winner = "u-" + string(rune('a'+i))
			case errors.As(err, &taken):
			default:
				t.Fatalf("take %d: %v", i, err)
			}
		}
		c = h.conv("7")
		if winners != 1 || c.Inbox.State != store.InboxAssigned || c.Inbox.Assignee != winner {
			t.Fatalf("%d takes won; inbox %+v, winner %s", winners, c.Inbox, winner)
		}
		if evs := h.events(runtime.EvAssigned); len(evs) != 1 {
			t.Fatalf("%d assigned events, want 1", len(evs))
		}
	})
}

func TestInboxReplyResolveAndCSAT(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		ctx := context.Background()
		c := handedOff(t, h, "2")
		line, err := h.rt.Reply(ctx, c.ID, anna, "Здравствуйте, я Анна")
		if err != nil {
			t.Fatal(err)
		}
		if line.Direction != store.DirectionOperator || line.Author != "Анна" {
			t.Fatalf("reply line %+v", line)
		}
		h.waitTexts("2", "Hi Anna", "Connecting", "Здравствуйте, я Анна")
		if got := h.snd.sentTo("2")[2].Author; got != "Анна" {
			t.Errorf("the channel got author %q", got)
		}
		c = h.conv("2")
		if c.Inbox.State != store.InboxAssigned || c.Inbox.Assignee != anna.ID || c.Inbox.FirstReplyAt.IsZero() {
			t.Fatalf("a reply to an unassigned chat takes it: %+v", c.Inbox)
		}
		if _, err := h.rt.Note(ctx, c.ID, anna, "VIP, call after 18"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.rt.Resolve(ctx, c.ID, boris, true); !errors.As(err, new(*runtime.TakenError)) {
			t.Fatalf("an operator resolving another's chat: %v, want TakenError", err)
		}
		if _, err := h.rt.Resolve(ctx, c.ID, anna, true); err != nil {
			t.Fatal(err)
		}
		h.settle(h.rt)
		sent := h.snd.sentTo("2")
		if len(sent) != 4 || len(sent[3].Buttons) != 5 || sent[3].Buttons[4].Payload != "csat:5" {
			t.Fatalf("the CSAT question: %+v", sent)
		}
		for _, m := range sent {
			if m.Text == "VIP, call after 18" {
				t.Fatal("a private note reached the customer")
			}
		}
		in := inbound("2", "2-csat", "")
		in.Kind, in.Payload = channel.KindPress, "csat:4"
		if err := h.rt.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		evs := h.events(runtime.EvCSAT)
		if len(evs) != 1 || evs[0].Data["operator"] != anna.ID || number(evs[0].Data["score"]) != 4 {
			t.Fatalf("csat events: %+v", evs)
		}
		c = h.conv("2")
		if c.Inbox.State != store.InboxResolved || c.Inbox.CSAT != 4 || c.Status != store.StatusEnded {
			t.Fatalf("after the CSAT answer: status %s, inbox %+v", c.Status, c.Inbox)
		}
		for _, typ := range []string{runtime.EvAssigned, runtime.EvOperatorReplied, runtime.EvResolved} {
			if len(h.events(typ)) != 1 {
				t.Errorf("%s events: %d, want 1", typ, len(h.events(typ)))
			}
		}
		// A day later the next message starts the flow as configured.
		h.clock.Advance(25 * time.Hour)
		h.text(h.rt, "2", "2-next", "hi again")
		h.waitTexts("2", "Hi Anna", "Connecting", "Здравствуйте, я Анна", sent[3].Text, "Hi Anna")
	})
}

func TestInboxReopenWithinADayGoesToTheSameQueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		ctx := context.Background()
		c := handedOff(t, h, "3")
		if _, err := h.rt.Assign(ctx, c.ID, anna, runtime.AssignRequest{To: anna.ID, ToName: anna.Name}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.rt.Resolve(ctx, c.ID, anna, false); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(3 * time.Hour)
		h.text(h.rt, "3", "3-back", "one more question")
		h.settle(h.rt)
		h.waitTexts("3", "Hi Anna", "Connecting")
		c = h.conv("3")
		if c.Status != store.StatusHandoff || c.Inbox.State != store.InboxUnassigned || c.Inbox.Queue != "sales" || c.Inbox.Unread != 1 {
			t.Fatalf("reopened: status %s inbox %+v", c.Status, c.Inbox)
		}
	})
}

func TestInboxHandoffWaitTimesOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		prog := compile(t, "w.yaml", []byte(waitFlow))
		h.rt = h.newRuntime(withFlows(runtime.StaticFlows{bot: prog}))
		h.run(h.rt)
		h.text(h.rt, "4", "4-1", "hi")
		h.text(h.rt, "4", "4-2", "+79991234567")
		h.settle(h.rt)
		c := h.conv("4")
		if c.Inbox == nil || c.Inbox.Note != "Phone +79991234567" {
			t.Fatalf("inbox note: %+v", c.Inbox)
		}
		h.clock.Advance(16 * time.Minute)
		h.settle(h.rt)
		h.waitTexts("4", "Your phone?", "Connecting", "We will call you back")
		c = h.conv("4")
		if c.Inbox.State != store.InboxResolved || len(h.events("handoff_timeout")) != 1 {
			t.Fatalf("after the wait: inbox %+v", c.Inbox)
		}
	})
}

func TestInboxTakenChatDoesNotTimeOut(t *testing.T) {
	h := newHarness(t, openBolt(t))
	prog := compile(t, "w.yaml", []byte(waitFlow))
	h.rt = h.newRuntime(withFlows(runtime.StaticFlows{bot: prog}))
	h.run(h.rt)
	h.text(h.rt, "5", "5-1", "manager")
	c := h.conv("5")
	if _, err := h.rt.Assign(context.Background(), c.ID, anna, runtime.AssignRequest{To: anna.ID, ToName: anna.Name}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	h.settle(h.rt)
	h.waitTexts("5", "Connecting")
	if c = h.conv("5"); c.Inbox.State != store.InboxAssigned || c.Status != store.StatusHandoff {
		t.Fatalf("a taken chat timed out: %s %+v", c.Status, c.Inbox)
	}
}

func TestInboxTakeoverAndHandbackAtANode(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		ctx := context.Background()
		h.text(h.rt, "6", "6-1", "hello")
		h.press(h.rt, "6", "6-2", "Ask")
		c := h.conv("6")
		// The operator answers a chat the bot holds: it becomes theirs.
		if _, err := h.rt.Reply(ctx, c.ID, anna, "Let me help"); err != nil {
			t.Fatal(err)
		}
		c = h.conv("6")
		if c.Status != store.StatusHandoff || c.Inbox == nil || c.Inbox.Assignee != anna.ID {
			t.Fatalf("takeover: status %s inbox %+v", c.Status, c.Inbox)
		}
		h.text(h.rt, "6", "6-3", "Bob") // for the operator: the question is not answered by the bot
		if _, err := h.rt.EditLead(ctx, c.ID, anna, engineEdit("name", "Robert")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.rt.HandbackBy(ctx, c.ID, "echo", anna); err != nil {
			t.Fatal(err)
		}
		h.settle(h.rt)
		h.waitTexts("6", "Hi Anna", "Your name?", "Let me help", "Echo Robert", "Your name?")
		if c = h.conv("6"); c.Inbox.State != store.InboxResolved || c.Status == store.StatusHandoff {
			t.Fatalf("after hand back: %s %+v", c.Status, c.Inbox)
		}
	})
}

func TestInboxAutoAssignmentAndBacklog(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := open(t)
		h := newHarness(t, st)
		ctx := context.Background()
		for _, u := range []store.User{
			{ID: anna.ID, Login: "anna", Name: anna.Name, Role: store.RoleOperator, Queues: []string{"sales"}, Capacity: 1},
			{ID: boris.ID, Login: "boris", Name: boris.Name, Role: store.RoleOperator, Queues: []string{"sales"}, Capacity: 1},
			{ID: "u-vera", Login: "vera", Role: store.RoleOperator, Queues: []string{"support"}},
			{ID: "u-gleb", Login: "gleb", Role: store.RoleOperator}, // offline
		} {
			if err := st.PutUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{anna.ID, boris.ID, "u-vera"} {
			if err := st.TouchPresence(ctx, id, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		// Boris had a chat more recently: a tie goes to Anna.
		if err := st.NoteAssigned(ctx, boris.ID, t0.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		ids := []string{handedOff(t, h, "a").ID}
		h.clock.Advance(time.Second)
		ids = append(ids, handedOff(t, h, "b").ID)
		h.clock.Advance(time.Second)
		ids = append(ids, handedOff(t, h, "c").ID)
		if err := h.rt.AutoAssign(ctx); err != nil {
			t.Fatal(err)
		}
		got := func(chat string) string { return h.conv(chat).Inbox.Assignee }
		if got("a") != anna.ID || got("b") != boris.ID || got("c") != "" {
			t.Fatalf("assigned a=%s b=%s c=%s, want anna, boris, nobody (both full)", got("a"), got("b"), got("c"))
		}
		// Boris resolves his chat: the backlog goes to him at once.
		h.run(h.rt)
		if _, err := h.rt.Resolve(ctx, ids[1], boris, false); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the waiting chat to be assigned", nil, func() bool { return got("c") == boris.ID })
	})
}

func engineEdit(name string, v any) engine.LeadEdit {
	return engine.LeadEdit{Vars: map[string]any{name: v}}
}

// number reads a number as a store decoded it.
func number(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return -1
}

// offlineFlow hands off with an offline branch; awayFlow without one.
const offlineFlow = `
voronka: 1
id: o
start: human
nodes:
  human:
    type: handoff
    text: "Connecting"
    queue: sales
    offline: leave_phone
  leave_phone:
    type: end
    text: "We are closed, leave your phone"
`

const awayFlow = `
voronka: 1
id: o
start: human
nodes:
  human:
    type: handoff
    text: "Connecting"
    queue: sales
    away: "Back at 9:00"
`

func TestInboxOutsideWorkingHours(t *testing.T) {
	// Working hours 09:00–18:00 Moscow on weekdays; t0 is Monday 12:00 UTC,
	// 15:00 in Moscow.
	hours := &store.WorkingHours{}
	for _, d := range []*[]store.Interval{&hours.Mon, &hours.Tue, &hours.Wed, &hours.Thu, &hours.Fri} {
		*d = []store.Interval{{Start: "09:00", End: "18:00"}}
	}
	setup := func(t *testing.T, src string) *harness {
		h := newHarness(t, openBolt(t))
		if err := h.st.PutBot(context.Background(), store.Bot{ID: bot, Name: "B",
			Settings: store.BotSettings{TimeZone: "Europe/Moscow", WorkingHours: hours}}); err != nil {
			t.Fatal(err)
		}
		h.rt = h.newRuntime(withFlows(runtime.StaticFlows{bot: compile(t, "o.yaml", []byte(src))}))
		h.run(h.rt)
		return h
	}
	t.Run("offline branch at night, the queue by day", func(t *testing.T) {
		h := setup(t, offlineFlow)
		h.text(h.rt, "day", "d1", "hi")
		h.clock.Advance(8 * time.Hour) // 23:00 Moscow
		h.text(h.rt, "night", "n1", "hi")
		h.settle(h.rt)
		h.waitTexts("day", "Connecting")
		h.waitTexts("night", "We are closed, leave your phone")
		if c := h.conv("night"); c.Inbox != nil || len(h.events("handoff_offline")) != 1 {
			t.Fatalf("the night chat went to the inbox: %+v", c.Inbox)
		}
	})
	t.Run("without a branch the chat waits and the away text goes once a day", func(t *testing.T) {
		h := setup(t, awayFlow)
		h.clock.Advance(8 * time.Hour)
		h.text(h.rt, "1", "a1", "hi")
		c := h.conv("1")
		if _, err := h.rt.Resolve(context.Background(), c.ID, anna, false); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.text(h.rt, "1", "a2", "again") // reopened: no second away text today
		h.settle(h.rt)
		h.waitTexts("1", "Connecting", "Back at 9:00")
		if c = h.conv("1"); c.Inbox.State != store.InboxUnassigned {
			t.Fatalf("the chat does not wait: %+v", c.Inbox)
		}
	})
}
