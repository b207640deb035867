package whatsapp

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/internal/msgkit"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

var _ channel.Sender = (*Adapter)(nil)

// Send delivers msg (see the package documentation). Sent.PlatformID is
// the wamid of the last part, which the statuses refer to. Errors are
// *channel.SendError: 130429 and 131056 retryable after a pause, 5xx and
// network errors retryable, 131047 (and a send not attempted outside the
// window) wrapping channel.ErrNeedsTemplate, 131026 blocked.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	if msg.Chat == "" {
		return channel.Sent{}, invalid("empty chat (wa_id)")
	}
	if !msg.LastInbound.IsZero() && a.now().Sub(msg.LastInbound) > Window {
		if msg.Template == nil {
			a.log.Debug("send not attempted: outside the 24-hour window", "chat", msg.Chat, "msg", msg.ID)
			return channel.Sent{}, &channel.SendError{Code: 131047, Err: fmt.Errorf(
				"whatsapp: not sent: the person last wrote %s ago, over WhatsApp's 24 hours: %w",
				a.now().Sub(msg.LastInbound).Round(1e9), channel.ErrNeedsTemplate)}
		}
		return a.sendTemplate(ctx, msg)
	}
	interactive, err := a.interactive(msg.Buttons)
	if err != nil {
		return channel.Sent{}, invalid("message %s: %v", msg.ID, err)
	}
	lastLimit := MaxText
	if interactive != nil && interactive.Type == "button" {
		lastLimit = MaxButtonBody
	}
	parts := msgkit.SplitLast(msg.Text, MaxText, lastLimit)
	if len(parts) == 0 {
		if interactive == nil {
			return channel.Sent{}, invalid("message %s: empty text", msg.ID)
		}
		parts = []string{"…"} // an interactive message needs a body
	}
	start := a.progress.Get(msg.ID)
	if start >= len(parts) {
		start = 0
	}
	var last string
	for i := start; i < len(parts); i++ {
		var body any
		if i == len(parts)-1 && interactive != nil {
			in := *interactive
			in.Body = &textObj{Text: parts[i]}
			body = outMessage{MessagingProduct: "whatsapp", RecipientType: "individual", To: msg.Chat, Type: "interactive", Interactive: &in}
		} else {
			body = outMessage{MessagingProduct: "whatsapp", RecipientType: "individual", To: msg.Chat, Type: "text", Text: &textBody{Body: parts[i]}}
		}
		id, err := a.post(ctx, body)
		if err != nil {
			se := classify(err)
			if se.Retryable {
				a.progress.Set(msg.ID, i)
			} else {
				a.progress.Set(msg.ID, 0)
			}
			a.noteFailure(se)
			return channel.Sent{}, se
		}
		last = id
	}
	a.progress.Set(msg.ID, 0)
	a.status.Connected("")
	return channel.Sent{PlatformID: last}, nil
}

func (a *Adapter) noteFailure(se *channel.SendError) {
	if se.Retryable && se.Code == 0 {
		a.status.Degraded(se.Error(), a.now().Add(se.RetryAfter))
	}
	if se.Code == 190 {
		a.status.Failed("the access token was rejected (190)")
	}
}

// sendTemplate sends msg's template (outside the 24-hour window).
func (a *Adapter) sendTemplate(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	t := msg.Template
	if t.Name == "" || t.Language == "" {
		return channel.Sent{}, invalid("message %s: template needs a name and a language", msg.ID)
	}
	tb := &templateBody{Name: t.Name, Language: templateLang{Code: t.Language}}
	if len(t.Params) > 0 {
		c := templateComponent{Type: "body"}
		for _, p := range t.Params {
			c.Parameters = append(c.Parameters, templateParam{Type: "text", Text: p})
		}
		tb.Components = []templateComponent{c}
	}
	id, err := a.post(ctx, outMessage{MessagingProduct: "whatsapp", RecipientType: "individual", To: msg.Chat, Type: "template", Template: tb})
	if err != nil {
		se := classify(err)
		a.noteFailure(se)
		return channel.Sent{}, se
	}
	return channel.Sent{PlatformID: id}, nil
}

func invalid(format string, args ...any) *channel.SendError {
	return &channel.SendError{Code: 400, Err: fmt.Errorf("whatsapp: "+format, args...)}
}

type outMessage struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type"`
	To               string        `json:"to"`
	Type             string        `json:"type"`
	Text             *textBody     `json:"text,omitempty"`
	Interactive      *interactive  `json:"interactive,omitempty"`
	Template         *templateBody `json:"template,omitempty"`
}

type textBody struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type textObj struct {
	Text string `json:"text"`
}

type interactive struct {
	Type   string   `json:"type"` // button, list
	Body   *textObj `json:"body"`
	Action action   `json:"action"`
}

type action struct {
	Button   string      `json:"button,omitempty"`
	Buttons  []replyBtn  `json:"buttons,omitempty"`
	Sections []listGroup `json:"sections,omitempty"`
}

type replyBtn struct {
	Type  string `json:"type"`
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

type listGroup struct {
	Title string    `json:"title,omitempty"`
	Rows  []listRow `json:"rows"`
}

type listRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type templateBody struct {
	Name       string              `json:"name"`
	Language   templateLang        `json:"language"`
	Components []templateComponent `json:"components,omitempty"`
}

type templateLang struct {
	Code string `json:"code"`
}

type templateComponent struct {
	Type       string          `json:"type"`
	Parameters []templateParam `json:"parameters"`
}

type templateParam struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Layout says how buttons go out on WhatsApp: "buttons" (reply buttons),
// "list", or "" for none; an error if WhatsApp cannot show them. The flow
// validator uses it to warn.
func Layout(buttons []engine.Button) (string, error) {
	if len(buttons) == 0 {
		return "", nil
	}
	if len(buttons) > MaxRows {
		return "", fmt.Errorf("%d buttons: WhatsApp shows at most %d (as a list)", len(buttons), MaxRows)
	}
	for i, b := range buttons {
		if b.Payload == "" || utf8.RuneCountInString(b.Payload) > MaxRowID {
			return "", fmt.Errorf("button %d: payload must be 1 to %d characters", i+1, MaxRowID)
		}
		if b.Label == "" {
			return "", fmt.Errorf("button %d has an empty label", i+1)
		}
	}
	if len(buttons) <= MaxButtons {
		short := true
		for _, b := range buttons {
			short = short && utf8.RuneCountInString(b.Label) <= MaxButtonTitle
		}
		if short && uniqueLabels(buttons) {
			return "buttons", nil
		}
	}
	return "list", nil
}

func uniqueLabels(buttons []engine.Button) bool {
	seen := map[string]bool{}
	for _, b := range buttons {
		if seen[b.Label] {
			return false
		}
		seen[b.Label] = true
	}
	return true
}

// interactive builds the action part for buttons; nil for none.
func (a *Adapter) interactive(buttons []engine.Button) (*interactive, error) {
	layout, err := Layout(buttons)
	if err != nil || layout == "" {
		return nil, err
	}
	if layout == "buttons" {
		in := &interactive{Type: "button"}
		for _, b := range buttons {
			var rb replyBtn
			rb.Type, rb.Reply.ID, rb.Reply.Title = "reply", b.Payload, b.Label
			in.Action.Buttons = append(in.Action.Buttons, rb)
		}
		return in, nil
	}
	g := listGroup{}
	for _, b := range buttons {
		row := listRow{ID: b.Payload, Title: msgkit.Truncate(b.Label, MaxRowTitle)}
		if row.Title != b.Label {
			row.Description = msgkit.Truncate(b.Label, MaxRowDesc)
		}
		g.Rows = append(g.Rows, row)
	}
	return &interactive{Type: "list", Action: action{Button: msgkit.Truncate(a.cfg.ListButton, MaxListButton), Sections: []listGroup{g}}}, nil
}
