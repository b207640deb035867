package engine

import "time"

// InputKind says what happened.
type InputKind uint8

// Kinds of input.
const (
	// InputText is a message the person typed.
	InputText InputKind = iota
	// InputPress is a button press, identified by the button's payload.
	InputPress
	// InputTimer is a timer (delay or reply timeout) falling due.
	InputTimer
	// InputWebhook is the result of a webhook call the engine asked for.
	InputWebhook
	// InputHandback is an operator handing the chat back to the bot.
	InputHandback
	// InputExpire ends a conversation idle past the flow's expire.
	InputExpire
	// InputGoto moves the conversation to the node in Goto and runs from
	// there: conversation tests that start mid-flow, broadcasts into a node.
	InputGoto
	// InputTakeover is an operator taking a chat the bot holds: the bot goes
	// silent where it is (a handoff without a handoff node).
	InputTakeover
	// InputAssigned is an operator taking a handed-off chat: the handoff's
	// wait timer stops.
	InputAssigned
	// InputResolve is an operator closing a handed-off chat: the run ends
	// and the next message starts the flow as configured.
	InputResolve
	// InputReopen puts a resolved chat back into handoff at node Goto (the
	// handoff node it left), without a word from the bot.
	InputReopen
	// InputEdit is an operator changing the lead's tags and variables (Edit).
	InputEdit
)

// Input is one thing that happened to a conversation. Now and Rand make the
// step deterministic: the same state and input always give the same output.
type Input struct {
	Kind    InputKind
	Text    string
	Payload string
	Timer   uint32         // for InputTimer: the timer's id
	Webhook *WebhookResult // for InputWebhook
	Goto    string         // for InputGoto, and for InputHandback to override the node's resume
	Now     time.Time
	Rand    uint64            // randomness for splits
	Contact *Contact          // profile update, if the channel sent one
	Env     map[string]string // the bot's env values visible to expressions as env.NAME
	// Offline says the bot is outside its working hours: a handoff node
	// goes to its offline branch.
	Offline bool
	// Edit is the change of an InputEdit.
	Edit *LeadEdit
}

// LeadEdit is what an operator changes on the lead card.
type LeadEdit struct {
	// Tags replaces the tags when SetTags is set.
	Tags    []string
	SetTags bool
	// Vars sets declared variables, converted to their types; a nil value
	// clears one.
	Vars map[string]any
}

// WebhookResult is what a webhook call returned.
type WebhookResult struct {
	ID     uint32
	Status int    // HTTP status; 0 when the call failed before a response
	Body   []byte // response body
	Err    string // transport error, if any
}

// Output is everything one step produced.
type Output struct {
	State    *State
	Messages []Message
	Events   []Event
	Effects  []Effect
	// Err is set when the step stopped abnormally (a loop, a runtime error in
	// an expression that left nowhere to go); an "error" event says the same.
	Err error
}

// Message is one message the bot sends.
type Message struct {
	Node    string
	Text    string
	Buttons []Button
	// Template is what WhatsApp sends instead outside its 24-hour window;
	// nil when the node names none.
	Template *MessageTemplate
}

// MessageTemplate is an approved WhatsApp template with its parameters
// rendered.
type MessageTemplate struct {
	Name     string
	Language string
	Params   []string
}

// Button is one button of a message. Payload is short and stable (at most
// 64 bytes, fitting Telegram's callback_data) and identifies the button
// across releases of the same flow.
type Button struct {
	Label   string
	Payload string
}

// Event types emitted by Step; the runtime adds delivery events.
const (
	EvConversationStarted = "conversation_started"
	EvNodeEntered         = "node_entered"
	EvButtonPressed       = "button_pressed"
	EvAnswered            = "answered"
	EvInputInvalid        = "input_invalid"
	EvQuestionFailed      = "question_failed"
	EvInputUnmatched      = "input_unmatched"
	EvFAQAnswered         = "faq_answered"
	EvTriggerFired        = "trigger_fired"
	EvScoreChanged        = "score_changed"
	EvSegmentChanged      = "segment_changed"
	EvSplitAssigned       = "split_assigned"
	EvGoal                = "goal"
	EvHandoffStarted      = "handoff_started"
	EvHandoffEnded        = "handoff_ended"
	EvHandoffTimeout      = "handoff_timeout"
	EvHandoffOffline      = "handoff_offline"
	EvLeadEdited          = "lead_edited"
	EvUnsubscribed        = "unsubscribed"
	EvSubscribed          = "subscribed"
	EvTimerFired          = "timer_fired"
	EvReplyTimeout        = "reply_timeout"
	EvWebhookCalled       = "webhook_called"
	EvWebhookFailed       = "webhook_failed"
	EvConversationEnded   = "conversation_ended"
	EvExpired             = "expired"
	EvError               = "error"
)

// Event is one analytics fact. The runtime adds bot, flow, version,
// conversation and a deterministic id before storing it.
type Event struct {
	Type  string
	Node  string
	Name  string  // button label, goal, segment, variant, queue, trigger…
	Value string  // answer, error text…
	Num   float64 // score, goal value, attempts…
	At    time.Time
}

// EffectKind says what the outside world must do.
type EffectKind uint8

// Effects.
const (
	// EffectTimer asks for a timer that comes back as InputTimer.
	EffectTimer EffectKind = iota + 1
	// EffectCancelTimer says a pending timer is no longer wanted.
	EffectCancelTimer
	// EffectWebhook asks for an HTTP call whose result comes back as InputWebhook.
	EffectWebhook
	// EffectHandoff puts the chat in an operator queue.
	EffectHandoff
)

// Effect is one thing Step asks the runtime to do.
type Effect struct {
	Kind  EffectKind
	Timer uint32
	// After is the timer's delay. When AfterSend is set it counts from the
	// moment the prompt was actually delivered (reply timeouts), not queued.
	After     time.Duration
	AfterSend bool
	// Delayed marks a timer whose firing sends bot-initiated messages (delay,
	// follow-up), which quiet hours may postpone.
	Delayed bool
	Webhook *WebhookCall
	Queue   string
	Note    string
	// Away is the handoff node's away text, rendered, when the bot is
	// offline and the node has no offline branch (the runtime sends it at
	// most once a day).
	Away string
	// Node is the handoff node.
	Node string
}

// WebhookCall is an HTTP request a webhook node asks for.
type WebhookCall struct {
	ID      uint32
	Node    string
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte // JSON; nil for GET
}
