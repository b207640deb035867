package flow

// Kind is how a field's value is written and checked.
type Kind string

// Field kinds. The builder's property panel picks an input per kind.
const (
	KindString    Kind = "string"    // plain text
	KindTemplate  Kind = "template"  // text with {{ expression }} holes
	KindCondition Kind = "condition" // expression that yields a boolean
	KindNodeRef   Kind = "node"      // id of another node
	KindDuration  Kind = "duration"  // 90s, 30m, 2h, 1d, 1w, 1h30m
	KindInt       Kind = "int"
	KindNumber    Kind = "number"
	KindBool      Kind = "bool"
	KindStrings   Kind = "strings"  // list of strings
	KindVar       Kind = "variable" // name of a declared variable
	KindExpect    Kind = "expect"   // text|number|email|phone|date|choice or {regex: '...'}
	KindMethod    Kind = "method"   // HTTP method
	KindButtons   Kind = "buttons"
	KindBranches  Kind = "branches"
	KindVariants  Kind = "variants"
	KindTimeout   Kind = "timeout"
	KindAssign    Kind = "assignments" // map of variable → expression
	KindHeaders   Kind = "headers"     // map of header → template
	KindBody      Kind = "body"        // any JSON value; strings are templates
	KindUI        Kind = "ui"
)

// FieldSpec describes one key a node type accepts.
type FieldSpec struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	Required bool   `json:"required,omitempty"`
	Doc      string `json:"doc"`
}

// NodeSpec describes a node type: the single source for decoding, the JSON
// Schema and the builder's property panel.
type NodeSpec struct {
	Type   string      `json:"type"`
	Doc    string      `json:"doc"`
	Waits  bool        `json:"waits"`
	Fields []FieldSpec `json:"fields"`
}

var commonFields = []FieldSpec{
	{Name: "type", Kind: KindString, Required: true, Doc: "node type"},
	{Name: "note", Kind: KindString, Doc: "a note for humans; for handoff, the note shown to the operator"},
	{Name: "ui", Kind: KindUI, Doc: "position on the builder canvas: {x, y}"},
}

var textField = FieldSpec{Name: "text", Kind: KindTemplate, Required: true, Doc: "what the bot says; {{ expressions }} allowed"}
var optText = FieldSpec{Name: "text", Kind: KindTemplate, Doc: "what the bot says; {{ expressions }} allowed"}
var nextField = FieldSpec{Name: "next", Kind: KindNodeRef, Doc: "the node to go on to; without it the conversation ends here"}
var reqNext = FieldSpec{Name: "next", Kind: KindNodeRef, Required: true, Doc: "the node to go on to"}

// WhatsApp sends free-form messages only within 24 hours of the person's
// last message; after that only an approved template goes out.
var templateFields = []FieldSpec{
	{Name: "template", Kind: KindString, Doc: "WhatsApp: the approved template sent instead of this text outside the 24-hour window (without one nothing is sent there)"},
	{Name: "template_language", Kind: KindString, Doc: "the template's language code, such as ru or en_US"},
	{Name: "template_params", Kind: KindStrings, Doc: "the template's {{1}}, {{2}}… in order; {{ expressions }} allowed"},
}

var timeoutField = FieldSpec{Name: "timeout", Kind: KindTimeout, Doc: "no reply within {after} goes to {next}"}

// NodeSpecs lists every node type in the order the builder's palette shows them.
var NodeSpecs = []NodeSpec{
	{Type: "message", Doc: "Sends a message and goes on.", Fields: append([]FieldSpec{textField, nextField}, templateFields...)},
	{Type: "buttons", Doc: "Sends a message with buttons and waits for a press.", Waits: true, Fields: []FieldSpec{
		textField,
		{Name: "buttons", Kind: KindButtons, Required: true, Doc: "buttons: {label, next, score, tags}"},
		timeoutField,
		templateFields[0], templateFields[1], templateFields[2],
	}},
	{Type: "question", Doc: "Asks a question, checks and saves the answer.", Waits: true, Fields: []FieldSpec{
		textField,
		{Name: "save", Kind: KindVar, Doc: "variable the answer is saved to, converted to its type"},
		{Name: "expect", Kind: KindExpect, Doc: "text | number | email | phone | date | choice | {regex: '^...$'}"},
		{Name: "choices", Kind: KindStrings, Doc: "accepted answers for expect: choice (shown as buttons)"},
		{Name: "invalid", Kind: KindTemplate, Doc: "re-ask text after an answer that does not fit"},
		{Name: "attempts", Kind: KindInt, Doc: "invalid answers before on_fail (default 3)"},
		{Name: "on_fail", Kind: KindNodeRef, Doc: "where to go after too many invalid answers"},
		reqNext,
		timeoutField,
	}},
	{Type: "condition", Doc: "Goes to the first branch whose condition holds.", Fields: []FieldSpec{
		{Name: "branches", Kind: KindBranches, Required: true, Doc: "branches: {when, next}, tried in order"},
		{Name: "else", Kind: KindNodeRef, Doc: "where to go when no branch holds; without it the conversation ends"},
	}},
	{Type: "score", Doc: "Adds to the lead score and tags.", Fields: []FieldSpec{
		{Name: "add", Kind: KindNumber, Doc: "points added to the score (negative subtracts)"},
		{Name: "tags", Kind: KindStrings, Doc: "tags added to the conversation"},
		nextField,
	}},
	{Type: "handoff", Doc: "Hands the chat to a human operator and waits until it is handed back.", Waits: true, Fields: []FieldSpec{
		optText,
		{Name: "queue", Kind: KindString, Doc: "operator queue, e.g. sales"},
		{Name: "resume", Kind: KindNodeRef, Doc: "where the bot continues when the operator hands the chat back (default: start)"},
		{Name: "wait", Kind: KindDuration, Doc: "how long the chat waits for an operator to take it before the bot goes on at timeout: 15m"},
		{Name: "timeout", Kind: KindNodeRef, Doc: "where the bot continues when nobody took the chat within wait"},
		{Name: "offline", Kind: KindNodeRef, Doc: "where the bot continues outside the bot's working hours (without it the chat waits and away is sent)"},
		{Name: "away", Kind: KindTemplate, Doc: "sent outside working hours when there is no offline branch, at most once a day"},
	}},
	{Type: "delay", Doc: "Waits for a while, then goes on.", Waits: true, Fields: []FieldSpec{
		{Name: "for", Kind: KindDuration, Required: true, Doc: "how long to wait: 30m, 2h, 1d"},
		reqNext,
	}},
	{Type: "split", Doc: "A/B test: picks a weighted variant once per conversation.", Fields: []FieldSpec{
		{Name: "variants", Kind: KindVariants, Required: true, Doc: "variants: {name, weight, next}"},
	}},
	{Type: "webhook", Doc: "Calls an HTTP endpoint (a CRM) and saves the JSON answer.", Waits: true, Fields: []FieldSpec{
		{Name: "method", Kind: KindMethod, Doc: "GET, POST, PUT, PATCH or DELETE (default POST)"},
		{Name: "url", Kind: KindTemplate, Required: true, Doc: "URL; {{ expressions }} allowed"},
		{Name: "headers", Kind: KindHeaders, Doc: "request headers; values are templates"},
		{Name: "body", Kind: KindBody, Doc: "JSON body; strings in it are templates"},
		{Name: "save", Kind: KindVar, Doc: "variable the JSON response is saved to"},
		reqNext,
		{Name: "on_error", Kind: KindNodeRef, Doc: "where to go when the call fails (default: next)"},
	}},
	{Type: "set", Doc: "Sets variables from expressions.", Fields: []FieldSpec{
		{Name: "vars", Kind: KindAssign, Required: true, Doc: "variable: expression"},
		nextField,
	}},
	{Type: "goal", Doc: "Counts a conversion in analytics.", Fields: []FieldSpec{
		{Name: "name", Kind: KindString, Required: true, Doc: "goal name, e.g. qualified_lead"},
		{Name: "value", Kind: KindNumber, Doc: "value of the conversion, e.g. revenue"},
		nextField,
	}},
	{Type: "unsubscribe", Doc: "Turns consent off: no broadcasts reach this contact any more.", Fields: []FieldSpec{optText, nextField}},
	{Type: "end", Doc: "Ends the conversation; the next message starts over.", Waits: true, Fields: []FieldSpec{optText}},
}

var nodeSpecs = func() map[string]*NodeSpec {
	m := make(map[string]*NodeSpec, len(NodeSpecs))
	for i := range NodeSpecs {
		s := &NodeSpecs[i]
		s.Fields = append(append([]FieldSpec(nil), commonFields...), s.Fields...)
		m[s.Type] = s
	}
	return m
}()

// Spec returns the description of a node type.
func Spec(nodeType string) (*NodeSpec, bool) {
	s, ok := nodeSpecs[nodeType]
	return s, ok
}

// NodeTypes returns the node type names in palette order.
func NodeTypes() []string {
	out := make([]string, len(NodeSpecs))
	for i, s := range NodeSpecs {
		out[i] = s.Type
	}
	return out
}

func (s *NodeSpec) field(name string) (FieldSpec, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}

// ExpectKinds are the answer kinds a question accepts.
var ExpectKinds = []string{"text", "number", "email", "phone", "date", "choice", "regex"}

// Methods are the HTTP methods a webhook may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
