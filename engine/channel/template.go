package channel

import "errors"

// Template is a platform-approved message template (WhatsApp's message
// templates), named in a flow's message node for sends outside the
// platform's free-form window.
type Template struct {
	Name     string
	Language string // e.g. "ru", "en_US"
	// Params fill the template body's {{1}}, {{2}}… in order, already
	// rendered.
	Params []string
}

// ErrNeedsTemplate: the platform would refuse a free-form message now
// (outside WhatsApp's 24-hour window) and the message has no template, so
// the send was not attempted.
var ErrNeedsTemplate = errors.New("outside the platform's free-form window and the message has no template")
