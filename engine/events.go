package engine

import "sort"

// Event types the runtime and the server record besides Step's (EvX in
// io.go). Every type anyone stores is listed in EventCatalog; a test scans
// the source for emitted types that are not.
const (
	// EvMessageIn is an inbound message (text or button press) from the contact.
	EvMessageIn = "message_in"
	// EvSent is a message (the bot's or an operator's) the platform accepted.
	EvSent = "sent"
	// EvDelivered and EvRead are receipts of platforms that report them
	// (WhatsApp, Viber, VK; Telegram and the web chat report neither).
	EvDelivered = "delivered"
	EvRead      = "read"
	// EvFailed is a message the platform refused or that was given up.
	EvFailed = "failed"
	// EvBlocked is the chat blocking the bot (on a send, or reported by the platform).
	EvBlocked = "blocked"
	// EvUnblocked is the chat writing again after blocking the bot.
	EvUnblocked = "unblocked"
	// EvAssigned is an inbox conversation assigned to an operator.
	EvAssigned = "assigned"
	// EvOperatorReplied is an operator's message queued to the contact.
	EvOperatorReplied = "operator_replied"
	// EvResolved is an operator closing a handed-off conversation.
	EvResolved = "resolved"
	// EvCSATRequested is a satisfaction survey sent to the contact.
	EvCSATRequested = "csat_requested"
	// EvCSAT is the contact's answer to a satisfaction survey (1–5).
	EvCSAT = "csat"
	// EvBroadcastSent and EvBroadcastFailed are a broadcast's message to
	// one recipient, taken or refused by the platform.
	EvBroadcastSent   = "broadcast_sent"
	EvBroadcastFailed = "broadcast_failed"
	// EvBroadcastButton is a press on a broadcast message's button.
	EvBroadcastButton = "broadcast_button"
	// EvHandoffReopened is a resolved chat the contact wrote to again
	// within a day: back in its queue.
	EvHandoffReopened = "handoff_reopened"
)

// Data keys with a meaning shared across event types.
const (
	DataName     = "name"     // Event.Name: button label, goal, segment, variant, queue, trigger…
	DataValue    = "value"    // Event.Value: answer, error text, URL…
	DataNum      = "num"      // Event.Num: score, goal value, attempts, HTTP status…
	DataSource   = "source"   // where the contact came from (deep link, ad, widget page)
	DataUTM      = "utm"      // utm_* parameters of the first contact, a map
	DataVariant  = "variant"  // the A/B variant chosen at a split node
	DataOperator = "operator" // the user id of the operator who acted
	DataBy       = "by"       // who wrote a sent message: "bot" or "operator"
	DataMS       = "ms"       // sent: milliseconds from queueing to the platform accepting it
	DataKind     = "kind"     // message_in: "text" or "press"
	DataScore    = "score"    // csat: the answer, 1 to 5
	DataError    = "error"    // failed, blocked: the platform's reason
)

// EventSpec describes one event type: what it records, what its Node is
// and the keys its stored Data may carry.
type EventSpec struct {
	Type string
	Doc  string
	// Node says what the stored event's node is ("" when it has none).
	Node string
	// Data lists the data keys, each with what it holds.
	Data []DataKey
	// By names who emits it: "engine" (Step), "runtime", "inbox", "adapter".
	By string
}

// DataKey is one key of an event's data.
type DataKey struct {
	Key string
	Doc string
}

// EventCatalog is every event type Voronka stores, sorted by type. Analytics
// read only these; add a type here before emitting it.
var EventCatalog = sortedCatalog([]EventSpec{
	{Type: EvConversationStarted, By: "engine", Node: "the flow's start node",
		Doc:  "A run of the flow began: the first message, a message after the end, a goto, or a trigger that resets.",
		Data: []DataKey{{DataSource, "the contact's source (deep link, ad, page), when known"}, {DataUTM, "utm_* parameters, when known"}}},
	{Type: EvNodeEntered, By: "engine", Node: "the node entered",
		Doc: "The conversation entered a node.", Data: []DataKey{{DataName, "the node's type"}}},
	{Type: EvButtonPressed, By: "engine", Node: "the buttons node",
		Doc: "A button was pressed (or its label typed).", Data: []DataKey{{DataName, "the button's label"}}},
	{Type: EvAnswered, By: "engine", Node: "the question node",
		Doc: "A question got a valid answer.", Data: []DataKey{{DataName, "the variable saved, if any"}, {DataValue, "the answer as saved"}}},
	{Type: EvInputInvalid, By: "engine", Node: "the question node",
		Doc: "An answer did not pass the question's check.", Data: []DataKey{{DataName, "the expected kind"}, {DataValue, "what was typed"}, {DataNum, "attempts so far"}}},
	{Type: EvQuestionFailed, By: "engine", Node: "the question node",
		Doc: "A question ran out of attempts and went to on_fail.", Data: []DataKey{{DataNum, "attempts"}}},
	{Type: EvInputUnmatched, By: "engine", Node: "the node waiting",
		Doc: "Input that answered nothing (a stale button, text at buttons).", Data: []DataKey{{DataValue, "the payload or text"}}},
	{Type: EvFAQAnswered, By: "engine", Node: "the node waiting",
		Doc: "An FAQ entry answered a typed question.", Data: []DataKey{{DataName, "the entry's first keyword"}}},
	{Type: EvTriggerFired, By: "engine", Node: "the node the conversation was at",
		Doc: "A command or keyword trigger fired.", Data: []DataKey{{DataName, "the command or first keyword"}}},
	{Type: EvScoreChanged, By: "engine", Node: "the node that scored",
		Doc: "The lead score changed.", Data: []DataKey{{DataNum, "the new score"}}},
	{Type: EvSegmentChanged, By: "engine", Node: "the node that scored",
		Doc: "The score moved the lead to another segment.", Data: []DataKey{{DataName, "the new segment"}}},
	{Type: EvSplitAssigned, By: "engine", Node: "the split node",
		Doc: "An A/B split picked (or kept) a variant.", Data: []DataKey{{DataName, "the variant"}, {DataVariant, "the variant"}}},
	{Type: EvGoal, By: "engine", Node: "the goal node",
		Doc: "A goal was reached.", Data: []DataKey{{DataName, "the goal's name"}, {DataNum, "the goal's value"}}},
	{Type: EvHandoffStarted, By: "engine", Node: "the handoff node",
		Doc: "The chat was handed to an operator queue.", Data: []DataKey{{DataName, "the queue"}, {"queue", "the queue"}, {"note", "the note for the operator"}}},
	{Type: EvHandoffEnded, By: "engine", Node: "the handoff node",
		Doc: "The operator handed the chat back to the bot.", Data: []DataKey{{DataOperator, "who handed it back, when known"}}},
	{Type: EvUnsubscribed, By: "engine", Node: "the unsubscribe node (or the node the conversation was at)",
		Doc: "The contact unsubscribed from broadcasts.", Data: []DataKey{{DataName, `the cause when not the node: "stop_word" or "broadcast_button"`}}},
	{Type: EvSubscribed, By: "engine", Node: "the node the conversation was at",
		Doc: "An unsubscribed contact came back with a command.", Data: []DataKey{{DataName, "the command"}}},
	{Type: EvTimerFired, By: "engine", Node: "the delay node", Doc: "A delay ended."},
	{Type: EvReplyTimeout, By: "engine", Node: "the node waiting", Doc: "A reply timeout fired."},
	{Type: EvWebhookCalled, By: "engine", Node: "the webhook node",
		Doc: "A webhook call was asked for.", Data: []DataKey{{DataName, "the method"}, {DataValue, "the URL"}}},
	{Type: EvWebhookFailed, By: "engine", Node: "the webhook node",
		Doc: "A webhook call failed.", Data: []DataKey{{DataNum, "the HTTP status (0: no response)"}, {DataValue, "why"}}},
	{Type: EvConversationEnded, By: "engine", Node: "the last node", Doc: "The run ended."},
	{Type: EvExpired, By: "engine", Node: "the node the conversation was at", Doc: "The run ended idle past the flow's expire."},
	{Type: EvError, By: "engine", Node: "the node that failed", Doc: "A runtime error in a node.", Data: []DataKey{{DataValue, "the error"}}},

	{Type: EvMessageIn, By: "runtime", Node: "the node the conversation was at",
		Doc: "A message (text or press) from the contact was stored.", Data: []DataKey{{DataKind, `"text" or "press"`}}},
	{Type: EvSent, By: "runtime", Node: "the node the conversation was at",
		Doc:  "The platform accepted a message; the event's time is when it was queued.",
		Data: []DataKey{{DataBy, `"bot" or "operator"`}, {DataMS, "queued → accepted, milliseconds"}, {"platform_id", "the platform's message id"}, {"attempts", "sends it took"}, {DataOperator, "the operator, for theirs"}}},
	{Type: EvDelivered, By: "runtime", Node: "the node the conversation was at",
		Doc: "The platform reported the message delivered.", Data: []DataKey{{"platform_id", "the platform's message id"}}},
	{Type: EvRead, By: "runtime", Node: "the node the conversation was at",
		Doc: "The platform reported the message read.", Data: []DataKey{{"platform_id", "the platform's message id"}}},
	{Type: EvFailed, By: "runtime", Node: "the node the conversation was at",
		Doc: "A message was refused for good or given up past the horizon.", Data: []DataKey{{DataError, "why"}, {"attempts", "sends tried"}, {DataBy, `"bot" or "operator"`}, {"platform_id", "the message's id, when the platform reported the failure"}}},
	{Type: EvBlocked, By: "runtime", Node: "the node the conversation was at",
		Doc: "The chat blocked the bot; with an error when a send found out.", Data: []DataKey{{DataError, "the platform's refusal, on a send"}, {DataBy, `"bot" or "operator", on a send`}}},
	{Type: EvUnblocked, By: "runtime", Node: "the node the conversation was at", Doc: "The chat unblocked the bot."},

	{Type: EvAssigned, By: "inbox", Node: "the node the conversation was at",
		Doc: "An operator took (or was given) the conversation.", Data: []DataKey{{DataOperator, "the operator's user id"}, {"queue", "the queue"},
			{DataBy, "who assigned it (the operator, an admin, or auto)"}, {"auto", "the auto-assigner did"}, {"wait_s", "seconds since the handoff"}}},
	{Type: EvOperatorReplied, By: "inbox", Node: "the node the conversation was at",
		Doc: "An operator's message was queued to the contact.", Data: []DataKey{{DataOperator, "the operator's user id"}, {"queue", "the queue"},
			{"first", "the round's first reply (first response time)"}, {"seconds", "on the first reply: seconds since the handoff"}}},
	{Type: EvResolved, By: "inbox", Node: "the node the conversation was at",
		Doc: "An operator closed the conversation (or it was handed back, or its wait timed out).", Data: []DataKey{{DataOperator, "the operator's user id"},
			{"queue", "the queue"}, {"reason", `"resolved", "handback" or "timeout"`}, {"seconds", "seconds since the handoff (resolution time)"}}},
	{Type: EvCSATRequested, By: "inbox", Node: "the node the conversation was at",
		Doc: "A satisfaction survey was sent.", Data: []DataKey{{DataOperator, "the operator surveyed about"}, {"queue", "the queue"}}},
	{Type: EvCSAT, By: "inbox", Node: "the node the conversation was at",
		Doc: "The contact answered a satisfaction survey.", Data: []DataKey{{DataScore, "1 to 5"}, {DataOperator, "the operator surveyed about"}, {"queue", "the queue"}}},
	{Type: EvHandoffReopened, By: "inbox", Node: "the handoff node",
		Doc: "A resolved chat the contact wrote to within a day went back to its queue.", Data: []DataKey{{"queue", "the queue"}}},
	{Type: EvHandoffTimeout, By: "engine", Node: "the handoff node",
		Doc: "Nobody took the chat within the handoff's wait; the bot went on at its timeout.", Data: []DataKey{{DataName, "the queue"}}},
	{Type: EvHandoffOffline, By: "engine", Node: "the handoff node",
		Doc: "A handoff outside the bot's working hours went to its offline branch.", Data: []DataKey{{DataName, "the queue"}}},
	{Type: EvLeadEdited, By: "engine", Node: "the node the conversation was at",
		Doc: "An operator changed the lead's tags or variables."},

	{Type: EvBroadcastSent, By: "runtime", Doc: "The platform took a broadcast's message to the contact; the time is when its send began.",
		Data: []DataKey{{"broadcast", "the broadcast id"}, {DataVariant, "the variant sent"}}},
	{Type: EvBroadcastFailed, By: "runtime", Doc: "The platform refused a broadcast's message to the contact.",
		Data: []DataKey{{"broadcast", "the broadcast id"}, {DataVariant, "the variant"}}},
	{Type: EvBroadcastButton, By: "runtime", Node: "the node the press led to",
		Doc:  "The contact pressed a button of a broadcast message.",
		Data: []DataKey{{"broadcast", "the broadcast id"}, {DataVariant, "the variant"}, {"button", `the button's index, "u" for unsubscribe`}, {"label", "the button's label"}}},
})

func sortedCatalog(specs []EventSpec) []EventSpec {
	sort.Slice(specs, func(i, j int) bool { return specs[i].Type < specs[j].Type })
	return specs
}

// LookupEvent returns the spec of an event type.
func LookupEvent(typ string) (EventSpec, bool) {
	i := sort.Search(len(EventCatalog), func(i int) bool { return EventCatalog[i].Type >= typ })
	if i < len(EventCatalog) && EventCatalog[i].Type == typ {
		return EventCatalog[i], true
	}
	return EventSpec{}, false
}
