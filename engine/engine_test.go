package engine

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/flow"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func mustProgram(t testing.TB, doc string) *Program {
	t.Helper()
	f, ps := flow.Load("t.yaml", []byte(doc))
	if ps.HasErrors() {
		t.Fatalf("flow has errors:\n%v", ps)
	}
	p, err := Compile(f, 3)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func text(s string) Input { return Input{Kind: InputText, Text: s, Now: t0} }

func texts(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

const shop = `
voronka: 1
id: shop
start: menu
vars: { email: string, n: number, when: date, phone: string }
scoring: { hot: 50 }
triggers:
  - { command: /start, goto: menu, reset: true }
nodes:
  menu:
    type: buttons
    text: Menu
    buttons:
      - { label: Email, score: 60, tags: [vip], next: email }
      - { label: Number, next: num }
      - { label: Date, next: date }
      - { label: Phone, next: phone }
  email: { type: question, text: "Email?", expect: email, save: email, next: done }
  num: { type: question, text: "Number?", expect: number, save: n, next: done }
  date: { type: question, text: "Date?", expect: date, save: when, next: done }
  phone: { type: question, text: "Phone?", expect: phone, save: phone, next: done }
  done: { type: end, text: "Saved {{ email }}{{ n }}{{ when }}{{ phone }}" }
`

func TestAnswersAreConvertedAsPeopleTypeThem(t *testing.T) {
	p := mustProgram(t, shop)
	cases := []struct {
		button, answer, want string
	}{
		{"Email", "Anna@Example.RU", "Saved Anna@example.ru0"},
		{"Number", "150 000", "Saved 150000"},
		{"Number", "1 500,50", "Saved 1500.5"},
		{"Number", "150,000", "Saved 150000"},
		{"Number", "1,5", "Saved 1.5"},
		{"Number", "50k", "Saved 50000"},
		{"Number", "2 млн", "Saved 2000000"},
		{"Number", "$1,200.99", "Saved 1200.99"},
		{"Number", "50 000 руб.", "Saved 50000"},
		{"Date", "05.03.2026", "Saved 02026-03-05"},
		{"Date", "завтра", "Saved 02026-01-06"},
		{"Phone", "+7 (999) 123-45-67", "Saved 0+79991234567"},
		{"Phone", "8 999 123 45 67", "Saved 0+79991234567"},
		{"Phone", "+44 20 7946 0958", "Saved 0+442079460958"},
	}
	for _, c := range cases {
		t.Run(c.button+" "+c.answer, func(t *testing.T) {
			st := Step(p, &State{}, text("hi")).State
			payload, _ := p.PayloadFor("menu", c.button)
			st = Step(p, st, Input{Kind: InputPress, Payload: payload, Now: t0}).State
			out := Step(p, st, text(c.answer))
			if got := strings.Join(texts(out.Messages), "|"); got != c.want {
				t.Fatalf("answer %q: got %q, want %q", c.answer, got, c.want)
			}
		})
	}
}

func TestInvalidAnswersAreRefused(t *testing.T) {
	p := mustProgram(t, shop)
	cases := map[string][]string{
		"Email":  {"anna", "anna@", "a b@c.d", "<anna@example.com>", "anna@localhost"},
		"Number": {"lots", "12abc", ""},
		"Date":   {"someday", "31.02.2026"},
		"Phone":  {"call me", "12"},
	}
	for button, answers := range cases {
		for _, a := range answers {
			st := Step(p, &State{}, text("hi")).State
			payload, _ := p.PayloadFor("menu", button)
			st = Step(p, st, Input{Kind: InputPress, Payload: payload, Now: t0}).State
			out := Step(p, st, text(a))
			if out.State.Node != st.Node || out.State.Attempts != 1 {
				t.Errorf("%s %q accepted: now at %s", button, a, out.State.Node)
			}
			if len(out.Messages) != 1 || out.Messages[0].Text != button+"?" {
				t.Errorf("%s %q: want the question again, got %q", button, a, texts(out.Messages))
			}
		}
	}
}

func TestStepDoesNotModifyItsInput(t *testing.T) {
	p := mustProgram(t, shop)
	st := Step(p, &State{}, text("hi")).State
	st.Vars = map[string]any{"email": "x@y.z"}
	st.Tags = []string{"old"}
	before := AppendState(nil, st)
	payload, _ := p.PayloadFor("menu", "Email")
	out := Step(p, st, Input{Kind: InputPress, Payload: payload, Now: t0})
	if !bytes.Equal(before, AppendState(nil, st)) {
		t.Fatal("Step modified the state it was given")
	}
	if !out.State.HasTag("vip") || out.State.Score != 60 {
		t.Fatalf("new state lacks the press: %+v", out.State)
	}
	// Same input, same output: the step is deterministic.
	again := Step(p, st, Input{Kind: InputPress, Payload: payload, Now: t0})
	if !bytes.Equal(AppendState(nil, out.State), AppendState(nil, again.State)) || !reflect.DeepEqual(out.Events, again.Events) {
		t.Fatal("the same input gave a different result")
	}
}

func TestEventsTellWhatHappened(t *testing.T) {
	p := mustProgram(t, shop)
	out := Step(p, &State{}, text("hi"))
	payload, _ := p.PayloadFor("menu", "Email")
	out = Step(p, out.State, Input{Kind: InputPress, Payload: payload, Now: t0})
	var got []string
	for _, e := range out.Events {
		got = append(got, e.Type+":"+e.Node+":"+e.Name)
	}
	want := []string{"button_pressed:menu:Email", "score_changed:menu:", "segment_changed:menu:hot", "node_entered:email:question"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestUnknownPayloadRepeatsThePrompt(t *testing.T) {
	p := mustProgram(t, shop)
	st := Step(p, &State{}, text("hi")).State
	out := Step(p, st, Input{Kind: InputPress, Payload: "gone#7", Now: t0})
	if len(out.Messages) != 1 || out.Messages[0].Text != "Menu" || len(out.Messages[0].Buttons) != 4 {
		t.Fatalf("want the menu again, got %+v", out.Messages)
	}
}

func TestPayloadsFitTelegram(t *testing.T) {
	long := strings.Repeat("n", 64)
	p := mustProgram(t, `
voronka: 1
id: p
start: `+long+`
nodes:
  `+long+`:
    type: buttons
    text: pick
    buttons: [ { label: a, next: z }, { label: b, next: z } ]
  z: { type: end }
`)
	for _, b := range p.ButtonsOf(long) {
		if len(b.Payload) > 64 {
			t.Fatalf("payload %q is %d bytes", b.Payload, len(b.Payload))
		}
	}
	st := Step(p, &State{}, text("hi")).State
	out := Step(p, st, Input{Kind: InputPress, Payload: p.ButtonsOf(long)[1].Payload, Now: t0})
	if out.State.Status != StatusEnded {
		t.Fatalf("a hashed payload did not resolve: %+v", out.State)
	}
}

func TestStaleTimerIsIgnored(t *testing.T) {
	p := mustProgram(t, `
voronka: 1
id: t
start: q
nodes:
  q:
    type: buttons
    text: pick
    buttons: [ { label: a, next: z } ]
    timeout: { after: 1h, next: nudge }
  nudge: { type: message, text: hey, next: q }
  z: { type: end, text: bye }
`)
	out := Step(p, &State{}, text("hi"))
	if len(out.Effects) != 1 || out.Effects[0].Kind != EffectTimer || !out.Effects[0].AfterSend || out.Effects[0].After != time.Hour {
		t.Fatalf("want one reply timer of 1h counted from the send, got %+v", out.Effects)
	}
	timer := out.Effects[0].Timer
	pressed := Step(p, out.State, Input{Kind: InputPress, Payload: p.ButtonsOf("q")[0].Payload, Now: t0})
	if len(pressed.Effects) != 1 || pressed.Effects[0].Kind != EffectCancelTimer || pressed.Effects[0].Timer != timer {
		t.Fatalf("answering must cancel the timer, got %+v", pressed.Effects)
	}
	late := Step(p, pressed.State, Input{Kind: InputTimer, Timer: timer, Now: t0.Add(time.Hour)})
	if len(late.Messages) != 0 || len(late.Events) != 0 {
		t.Fatalf("a stale timer did something: %+v", late)
	}
}

func TestHandoffAndHandback(t *testing.T) {
	p := mustProgram(t, `
voronka: 1
id: h
start: h
triggers: [ { command: /start, goto: h } ]
nodes:
  h: { type: handoff, text: "Connecting", queue: sales, note: "lead {{ contact.first_name }}", resume: back }
  back: { type: end, text: "Back with the bot" }
`)
	out := Step(p, &State{}, Input{Kind: InputText, Text: "hi", Now: t0, Contact: &Contact{FirstName: "Ann"}})
	if out.State.Status != StatusHandoff || len(out.Effects) != 1 || out.Effects[0].Queue != "sales" || out.Effects[0].Note != "lead Ann" {
		t.Fatalf("handoff: %+v %+v", out.State, out.Effects)
	}
	silent := Step(p, out.State, text("/start"))
	if len(silent.Messages) != 0 || silent.State.Status != StatusHandoff {
		t.Fatalf("triggers must be off during handoff: %+v", silent.Messages)
	}
	back := Step(p, silent.State, Input{Kind: InputHandback, Now: t0})
	if got := texts(back.Messages); len(got) != 1 || got[0] != "Back with the bot" {
		t.Fatalf("handback: %v", got)
	}
}

func TestExpireEndsAConversation(t *testing.T) {
	p := mustProgram(t, shop)
	st := Step(p, &State{}, text("hi")).State
	out := Step(p, st, Input{Kind: InputExpire, Now: t0.Add(31 * 24 * time.Hour)})
	if out.State.Status != StatusEnded || len(out.Events) == 0 || out.Events[0].Type != EvExpired {
		t.Fatalf("expire: %+v %+v", out.State, out.Events)
	}
	again := Step(p, out.State, text("hello again"))
	if got := texts(again.Messages); len(got) != 1 || got[0] != "Menu" {
		t.Fatalf("after expiry the next message starts over: %v", got)
	}
}

func TestSplitIsSticky(t *testing.T) {
	p := mustProgram(t, `
voronka: 1
id: s
start: s
nodes:
  s:
    type: split
    variants: [ { name: a, weight: 1, next: a }, { name: b, weight: 1, next: b } ]
  a: { type: buttons, text: A, buttons: [ { label: again, next: s } ] }
  b: { type: buttons, text: B, buttons: [ { label: again, next: s } ] }
`)
	seen := map[string]int{}
	for r := uint64(0); r < 200; r++ {
		in := text("hi")
		in.Rand = r * 0x9e3779b97f4a7c15
		out := Step(p, &State{}, in)
		first := out.Messages[0].Text
		seen[first]++
		// Pressing "again" returns to the split, which must give the same variant.
		for i := 0; i < 3; i++ {
			in := Input{Kind: InputPress, Payload: p.ButtonsOf(out.State.Node)[0].Payload, Now: t0, Rand: uint64(i) << 60}
			out = Step(p, out.State, in)
			if out.Messages[0].Text != first {
				t.Fatalf("variant changed from %s to %s", first, out.Messages[0].Text)
			}
		}
	}
	if seen["A"] < 60 || seen["B"] < 60 {
		t.Fatalf("weights 1:1 gave %v", seen)
	}
}

func TestLoopGuardStopsARunawayFlow(t *testing.T) {
	// Validation rejects loops without a waiting node, so build one that
	// slipped through to check the guard that backs it up.
	f, _ := flow.Parse("loop.yaml", []byte(`
voronka: 1
id: loop
start: a
nodes:
  a: { type: message, text: x, next: b }
  b: { type: message, text: y, next: a }
`))
	ps := flow.Validate(f)
	if !strings.Contains(ps.Error(), "loop with no waiting node") {
		t.Fatalf("validation missed the loop: %v", ps)
	}
	p, err := build(f, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := Step(p, &State{}, text("hi"))
	if !errors.Is(out.Err, ErrLoop) || out.State.Status != StatusEnded || len(out.Messages) != MaxSteps {
		t.Fatalf("guard: err=%v status=%s messages=%d", out.Err, out.State.Status, len(out.Messages))
	}
}

func TestWebhookResultComesBackAsInput(t *testing.T) {
	p := mustProgram(t, `
voronka: 1
id: w
start: call
vars: { crm: object }
nodes:
  call:
    type: webhook
    url: "https://crm.example/leads?name={{ contact.first_name }}"
    headers: { X-Token: "{{ env.TOKEN }}" }
    body: { name: "{{ contact.first_name }}", tags: ["{{ score }}"] }
    save: crm
    next: ok
    on_error: sorry
  ok: { type: end, text: "id {{ crm.id }}" }
  sorry: { type: end, text: "CRM down" }
`)
	in := Input{Kind: InputText, Text: "hi", Now: t0, Contact: &Contact{FirstName: "Ann"}, Env: map[string]string{"TOKEN": "t0k"}}
	out := Step(p, &State{}, in)
	if len(out.Effects) != 1 || out.Effects[0].Webhook == nil {
		t.Fatalf("want a webhook effect, got %+v", out.Effects)
	}
	call := out.Effects[0].Webhook
	if call.URL != "https://crm.example/leads?name=Ann" || call.Method != "POST" || string(call.Body) != `{"name":"Ann","tags":["0"]}` || call.Headers[0] != [2]string{"X-Token", "t0k"} {
		t.Fatalf("call: %+v body=%s", call, call.Body)
	}
	ok := Step(p, out.State, Input{Kind: InputWebhook, Webhook: &WebhookResult{ID: call.ID, Status: 201, Body: []byte(`{"id":42}`)}, Now: t0})
	if got := texts(ok.Messages); len(got) != 1 || got[0] != "id 42" {
		t.Fatalf("success: %v", got)
	}
	fail := Step(p, out.State, Input{Kind: InputWebhook, Webhook: &WebhookResult{ID: call.ID, Err: "timeout"}, Now: t0})
	if got := texts(fail.Messages); len(got) != 1 || got[0] != "CRM down" {
		t.Fatalf("failure: %v", got)
	}
	stale := Step(p, ok.State, Input{Kind: InputWebhook, Webhook: &WebhookResult{ID: call.ID, Status: 200}, Now: t0})
	if len(stale.Messages) != 0 {
		t.Fatalf("a repeated result did something: %v", texts(stale.Messages))
	}
}

func TestStateRoundTrip(t *testing.T) {
	st := &State{
		Flow: "shop", Version: 7, Node: "ask", Status: StatusWaiting, Wait: WaitReply,
		Vars: map[string]any{
			"budget": 150000.0, "name": "Анна", "ok": true, "no": false, "none": nil,
			"when": time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
			"crm":  map[string]any{"id": 42.0, "items": []any{"a", map[string]any{"b": 1.5}}},
		},
		Tags: []string{"buyer", "hot"}, Score: 70.5, Attempts: 2, Timer: 3, Webhook: 0, Seq: 4,
		Splits:       []SplitChoice{{Node: "offer", Variant: "bonus"}},
		Unsubscribed: true,
		Contact:      Contact{FirstName: "Анна", LastName: "K", Username: "anna", Language: "ru", Channel: "telegram", Phone: "+7999"},
		Started:      t0, LastActive: t0.Add(time.Hour),
	}
	enc := AppendState(nil, st)
	got, err := DecodeState(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip changed the state:\n got %+v\nwant %+v", got, st)
	}
	if !bytes.Equal(AppendState(nil, got), enc) {
		t.Fatal("encoding is not deterministic")
	}
}

// TestStatesWrittenByEarlierReleasesStillLoad decodes a state encoded by the
// first release, kept as a file: changing the encoding in a way that breaks
// it would strand every stored conversation.
func TestStatesWrittenByEarlierReleasesStillLoad(t *testing.T) {
	const golden = "testdata/state-v1.bin"
	st := &State{Flow: "shop", Version: 2, Node: "ask", Status: StatusWaiting, Wait: WaitReply,
		Vars: map[string]any{"budget": 5000.0, "email": "a@b.c"}, Tags: []string{"buyer"}, Score: 20, Timer: 1, Seq: 1,
		Contact: Contact{FirstName: "Anna", Channel: "telegram"}, Started: t0, LastActive: t0}
	if os.Getenv("VORONKA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, AppendState(nil, st), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeState(data, nil)
	if err != nil {
		t.Fatalf("a v1 state no longer decodes: %v", err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("a v1 state decodes differently:\n got %+v\nwant %+v", got, st)
	}
}

func TestUnknownFieldsAreSkipped(t *testing.T) {
	st := &State{Flow: "shop", Node: "ask", Score: 5}
	enc := AppendState(nil, st)
	// A later release adds field 99 (bytes) and field 98 (varint).
	enc = appendString(enc, 99, "from the future")
	enc = appendUint(enc, 98, 12345)
	got, err := DecodeState(enc, nil)
	if err != nil || got.Node != "ask" || got.Score != 5 {
		t.Fatalf("unknown fields broke decoding: %+v, %v", got, err)
	}
}

func TestCorruptStatesAreRejected(t *testing.T) {
	good := AppendState(nil, &State{Flow: "shop", Node: "ask", Vars: map[string]any{"x": "y"}})
	for i := 2; i < len(good); i++ {
		if _, err := DecodeState(good[:i], nil); err != nil && !errors.Is(err, ErrCorruptState) {
			t.Fatalf("truncated at %d: untyped error %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, {0}, {stateMagic, 9}, {stateMagic, 1, 0x37}, {stateMagic, 1, 0x32, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := DecodeState(bad, nil); !errors.Is(err, ErrCorruptState) {
			t.Errorf("DecodeState(%x) = %v, want ErrCorruptState", bad, err)
		}
	}
}

func TestFuzzyMatching(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"доставка", "доставка", true},
		{"достовка", "доставка", true},
		{"доставку", "доставка", true},
		{"человеком", "человек", true},
		{"оплатить", "оплата", true},
		{"delivrey", "delivery", true},
		{"deliver", "delivery", true},
		{"дост", "доставка", false},
		{"погода", "доставка", false},
		{"stop", "step", false}, // short words must match exactly
	}
	for _, c := range cases {
		if got := matchPhrase([]string{c.a}, []string{c.b}, true); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(AppendState(nil, &State{Flow: "shop", Node: "ask", Vars: map[string]any{"crm": map[string]any{"a": []any{1.0, "x"}}}}))
	f.Add([]byte{stateMagic, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeState(data, nil)
		if err != nil {
			return
		}
		enc := AppendState(nil, st)
		again, err := DecodeState(enc, nil)
		if err != nil {
			t.Fatalf("a decoded state does not decode after re-encoding: %v", err)
		}
		if !bytes.Equal(AppendState(nil, again), enc) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

// FuzzStep drives the example funnels with random inputs: no panic, no
// state that fails to encode and decode.
func FuzzStep(f *testing.F) {
	var progs []*Program
	for _, name := range []string{"lead-qualification", "faq-bot", "coffee-quiz", "csat-survey"} {
		src, err := os.ReadFile("../flows/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		progs = append(progs, mustProgram(f, string(src)))
	}
	f.Add(uint8(0), []byte("\x00/start\x01\x00\x02\x05hello"))
	f.Add(uint8(1), []byte("\x00доставка\x01\x01\x03\x00"))
	f.Fuzz(func(t *testing.T, which uint8, script []byte) {
		p := progs[int(which)%len(progs)]
		st := &State{}
		now := t0
		for len(script) > 1 {
			op, arg := script[0], script[1]
			script = script[2:]
			in := Input{Now: now, Rand: uint64(arg) * 0x9e3779b97f4a7c15}
			switch op % 6 {
			case 0:
				n := min(int(arg), len(script))
				in.Kind, in.Text = InputText, string(script[:n])
				script = script[n:]
			case 1:
				btns := p.ButtonsOf(st.Node)
				in.Kind = InputPress
				if len(btns) > 0 {
					in.Payload = btns[int(arg)%len(btns)].Payload
				} else {
					in.Payload = string(rune(arg))
				}
			case 2:
				in.Kind, in.Timer = InputTimer, st.Timer
				now = now.Add(time.Duration(arg) * time.Hour)
			case 3:
				in.Kind, in.Webhook = InputWebhook, &WebhookResult{ID: st.Webhook, Status: 200 + int(arg), Body: []byte(`{"id":1}`)}
			case 4:
				in.Kind = InputHandback
			case 5:
				in.Kind = InputExpire
			}
			out := Step(p, st, in)
			if out.Err != nil && strings.Contains(out.Err.Error(), "internal error") {
				t.Fatalf("step panicked: %v", out.Err)
			}
			enc := AppendState(nil, out.State)
			if _, err := DecodeState(enc, p); err != nil {
				t.Fatalf("new state does not decode: %v", err)
			}
			st = out.State
		}
	})
}

func TestANewRunTakesTheGivenVersion(t *testing.T) {
	p := mustProgram(t, shop) // version 3
	st := &State{Flow: "shop", Version: 1, Node: "done", Status: StatusEnded, Wait: WaitEnd}
	out := Step(p, st, text("hello again"))
	if out.State.Version != 3 || out.State.Node != "menu" {
		t.Fatalf("restart kept version %d at %s, want version 3 at menu", out.State.Version, out.State.Node)
	}
}

func TestAPressAfterTheEndDoesNotStartOver(t *testing.T) {
	p := mustProgram(t, shop)
	st := Step(p, &State{}, text("hi")).State
	st = Step(p, st, Input{Kind: InputPress, Payload: p.ButtonsOf("menu")[1].Payload, Now: t0}).State
	st = Step(p, st, text("42")).State
	if st.Status != StatusEnded {
		t.Fatalf("want the conversation ended, got %v at %s", st.Status, st.Node)
	}
	// The menu's buttons are still on the person's screen (Telegram keeps
	// old keyboards); a press there must not replay the greeting.
	out := Step(p, st, Input{Kind: InputPress, Payload: p.ButtonsOf("menu")[0].Payload, Now: t0})
	if len(out.Messages) != 0 || out.State.Status != StatusEnded || out.State.Node != "done" {
		t.Fatalf("a stale press did something: %v, %v at %s", texts(out.Messages), out.State.Status, out.State.Node)
	}
	if len(out.Events) != 1 || out.Events[0].Type != EvInputUnmatched || out.Events[0].Value != p.ButtonsOf("menu")[0].Payload {
		t.Fatalf("want one input_unmatched event with the payload, got %+v", out.Events)
	}
	if out.State.Score != st.Score || len(out.State.Tags) != len(st.Tags) {
		t.Fatalf("a stale press changed the score or tags: %+v", out.State)
	}
	// Writing again still starts over.
	if got := texts(Step(p, out.State, text("hello again")).Messages); len(got) != 1 || got[0] != "Menu" {
		t.Fatalf("a text after the end starts over, got %v", got)
	}
}

func TestHandoffText(t *testing.T) {
	tests := []struct {
		name, triggers, want string
	}{
		{"none", `[ { command: /start, goto: menu } ]`, ""},
		{"keyword", `[ { command: /start, goto: menu }, { keywords: [оператор, человек], goto: op } ]`, "оператор"},
		{"through a message", `[ { keywords: [manager], goto: note } ]`, "manager"},
		{"command only", `[ { command: /human, goto: op } ]`, "/human"},
		// An earlier trigger takes "help": the handoff is reached by its
		// second keyword only.
		{"shadowed keyword", `[ { keywords: [help], goto: menu }, { keywords: [help, human], goto: op } ]`, "human"},
		{"not a handoff", `[ { keywords: [price], goto: menu } ]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProgram(t, `
voronka: 1
id: h
start: menu
triggers: `+tt.triggers+`
nodes:
  menu: { type: buttons, text: Menu, buttons: [ { label: A, next: bye }, { label: B, next: note } ] }
  note: { type: message, text: "One moment", next: op }
  op: { type: handoff, text: "Connecting", queue: support, resume: menu }
  bye: { type: end, text: Bye }
`)
			if got := p.HandoffText(); got != tt.want {
				t.Fatalf("HandoffText() = %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			out := Step(p, Step(p, &State{}, text("hi")).State, text(tt.want))
			if out.State.Status != StatusHandoff {
				t.Fatalf("typing %q did not reach the operator: %v at %s", tt.want, out.State.Status, out.State.Node)
			}
		})
	}
}

// What the canvas draws is what happens: a reply timeout that leads through
// a nudge back to its own buttons shows them again under the nudge, so the
// person can tap them, and does not arm the timeout again, so a silent
// person is nudged once.
func TestTimeoutNudgeShowsButtonsAgainOnce(t *testing.T) {
	p := mustProgram(t, `
voronka: 1
id: t
start: q
nodes:
  q:
    type: buttons
    text: pick
    buttons: [ { label: a, next: z } ]
    timeout: { after: 1h, next: nudge }
  nudge: { type: message, text: "still there?", next: q }
  z: { type: end, text: bye }
`)
	out := Step(p, &State{}, text("hi"))
	timer := out.Effects[0].Timer
	fired := Step(p, out.State, Input{Kind: InputTimer, Timer: timer, Now: t0.Add(time.Hour)})
	if got := texts(fired.Messages); len(got) != 2 || got[0] != "still there?" || got[1] != "pick" {
		t.Fatalf("want the nudge then the prompt again, got %q", got)
	}
	if b := fired.Messages[1].Buttons; len(b) != 1 || b[0].Label != "a" {
		t.Fatalf("the repeated prompt must carry its buttons, got %+v", b)
	}
	for _, e := range fired.Effects {
		if e.Kind == EffectTimer {
			t.Fatalf("the timeout was armed again: %+v", fired.Effects)
		}
	}
	if fired.State.Node != "q" || fired.State.Wait != WaitReply {
		t.Fatalf("want to wait at q for a reply, got %+v", fired.State)
	}
	pressed := Step(p, fired.State, Input{Kind: InputPress, Payload: fired.Messages[1].Buttons[0].Payload, Now: t0.Add(2 * time.Hour)})
	if got := texts(pressed.Messages); len(got) != 1 || got[0] != "bye" {
		t.Fatalf("a press on the repeated buttons: %q", got)
	}
}
