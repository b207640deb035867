package webchat

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ProtocolVersion is the version of the frame protocol this package speaks.
// A client names the version it speaks in hello's "v" (absent means 1); the
// hub answers with its own in welcome. Additions that old clients can ignore
// (a new optional field, a new server frame type they skip) keep the version;
// anything else bumps it.
const ProtocolVersion = 1

// Frame types, client → server.
const (
	TypeHello = "hello"
	TypeText  = "text"
	TypePress = "press"
	TypePing  = "ping"
)

// Frame types, server → client.
const (
	TypeWelcome = "welcome"
	TypeMessage = "message"
	TypeAck     = "ack"
	TypeError   = "error"
	TypePong    = "pong"
	TypeTyping  = "typing"
)

// Error codes carried by error frames. A client retries a message only after
// a retryable code (rate_limited, handler_failed); the others mean the same
// frame will never be accepted.
const (
	CodeBadFrame    = "bad_frame"    // not JSON, unknown type, a missing or invalid field
	CodeTooLarge    = "too_large"    // text over the limit
	CodeRateLimited = "rate_limited" // too many frames per second: retry later
	CodeNoHello     = "no_hello"     // text or press before hello
	CodeBadHello    = "bad_hello"    // hello refused (session id, a malformed bot id); the hub closes
	// CodeUnknownBot: the hello names no bot this server runs (or a preview
	// that expired or was revoked); the hub closes (1008, "unknown bot").
	CodeUnknownBot = "unknown_bot"
	// CodeUnsupportedVersion: the hello's v is newer than ProtocolVersion;
	// the hub closes (1008, "unsupported protocol version").
	CodeUnsupportedVersion = "unsupported_version"
	CodeFailed             = "handler_failed"
)

// Field limits. They keep one frame small and cheap to check; the text limit
// itself is Options.MaxTextBytes.
const (
	maxClientIDLen = 64
	maxPayloadLen  = 64 // engine.Button: fits Telegram's callback_data
	maxLabelLen    = 256
	maxNameLen     = 128
	maxLangLen     = 16
	maxSourceLen   = 128
	maxUTMLen      = 1024
	maxBotLen      = 256 // a preview bot id carries its signature and binding
	sessionIDLen   = 22  // 16 random bytes, unpadded base64url
)

// Profile is what the widget knows about the person: the name they may have
// typed into the host page and the UI language.
type Profile struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Language  string `json:"language,omitempty"`
	// Source is where the person came from (the widget's data-source, or
	// ?source= of the hosted page); UTM is the utm_* parameters of the
	// page, as a URL query. Both are kept on the conversation's contact.
	Source string `json:"source,omitempty"`
	UTM    string `json:"utm,omitempty"`
}

// ClientFrame is one decoded client → server frame. Which fields matter
// depends on Type; DecodeFrame has checked them.
type ClientFrame struct {
	Type     string   `json:"type"`
	V        int      `json:"v,omitempty"`
	Session  string   `json:"session,omitempty"`
	Bot      string   `json:"bot,omitempty"`
	Profile  *Profile `json:"profile,omitempty"`
	LastSeen uint64   `json:"last_seen,omitempty"`
	ID       string   `json:"id,omitempty"`
	Text     string   `json:"text,omitempty"`
	Payload  string   `json:"payload,omitempty"`
	Label    string   `json:"label,omitempty"`
}

// Button is a button of a message frame.
type Button struct {
	Label   string `json:"label"`
	Payload string `json:"payload"`
}

// ServerFrame is one server → client frame.
type ServerFrame struct {
	Type    string   `json:"type"`
	V       int      `json:"v,omitempty"`
	Session string   `json:"session,omitempty"`
	Seq     uint64   `json:"seq,omitempty"`
	ID      string   `json:"id,omitempty"`
	Text    string   `json:"text,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	// At is when the hub took a message to send, in Unix milliseconds.
	At int64 `json:"at,omitempty"`
	// Handoff, in a welcome, is the text that asks the bot for a person
	// (Options.Handoff); empty when the bot's flow has no way to one.
	Handoff string `json:"handoff,omitempty"`
	// Author, in a message, is the operator who wrote it ("" for the bot).
	Author string `json:"author,omitempty"`
	// Notice, in a message, makes it a notice instead ("operator_joined":
	// Author joined the chat); older widgets show its empty text as nothing.
	Notice string `json:"notice,omitempty"`
}

// FrameError is a frame the hub refuses; Code goes to the client as the error
// frame's code, ID names the client message it refers to when known.
type FrameError struct {
	Code   string
	ID     string
	Reason string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("webchat: %s: %s", e.Code, e.Reason)
}

func badFrame(id, format string, args ...any) *FrameError {
	return &FrameError{Code: CodeBadFrame, ID: id, Reason: fmt.Sprintf(format, args...)}
}

// DecodeFrame parses and checks one client frame. maxText is the largest
// text in bytes a text frame may carry. Every refusal is a *FrameError, so a
// hostile or broken client gets an error frame, never a panic or a crash of
// the connection. Unknown fields are ignored so newer clients stay readable.
func DecodeFrame(data []byte, maxText int) (ClientFrame, error) {
	var f ClientFrame
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return f, badFrame("", "a frame is a JSON object")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return ClientFrame{}, badFrame("", "invalid JSON: %v", err)
	}
	switch f.Type {
	case TypeHello:
		if f.V < 0 {
			return f, badFrame("", "v must be a positive version")
		}
		if f.V > ProtocolVersion {
			return f, &FrameError{Code: CodeUnsupportedVersion,
				Reason: fmt.Sprintf("protocol version %d is not supported; this server speaks %d", f.V, ProtocolVersion)}
		}
		if f.Session != "" && !ValidSessionID(f.Session) {
			return f, &FrameError{Code: CodeBadHello, Reason: "session is not an id this server gave out"}
		}
		if len(f.Bot) > maxBotLen || !printable(f.Bot) {
			return f, &FrameError{Code: CodeBadHello, Reason: "invalid bot id"}
		}
		if p := f.Profile; p != nil {
			p.FirstName = clip(p.FirstName, maxNameLen)
			p.LastName = clip(p.LastName, maxNameLen)
			p.Language = clip(p.Language, maxLangLen)
			p.Source = clip(p.Source, maxSourceLen)
			if len(p.UTM) > maxUTMLen {
				p.UTM = "" // cut, a query would be garbled: rather none
			}
		}
	case TypeText:
		if err := checkID(f.ID); err != nil {
			return f, err
		}
		if strings.TrimSpace(f.Text) == "" {
			return f, badFrame(f.ID, "text is empty")
		}
		if len(f.Text) > maxText {
			return f, &FrameError{Code: CodeTooLarge, ID: f.ID,
				Reason: fmt.Sprintf("text is %d bytes, at most %d allowed", len(f.Text), maxText)}
		}
	case TypePress:
		if err := checkID(f.ID); err != nil {
			return f, err
		}
		if f.Payload == "" || len(f.Payload) > maxPayloadLen {
			return f, badFrame(f.ID, "payload must be 1 to %d bytes", maxPayloadLen)
		}
		f.Label = clip(f.Label, maxLabelLen)
	case TypePing:
	case "":
		return f, badFrame("", "type is missing")
	default:
		return f, badFrame("", "unknown type %q", clip(f.Type, 32))
	}
	return f, nil
}

// checkID makes sure a client message id can end an update id: short and
// printable (it is the last component, so a colon inside is harmless).
func checkID(id string) error {
	if id == "" || len(id) > maxClientIDLen || !printable(id) {
		return badFrame("", "id must be 1 to %d printable characters", maxClientIDLen)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// NewSessionID returns a fresh session id: 128 random bits, url-safe, so it
// can sit in localStorage, a URL or a log line as it is, and cannot be
// guessed to read someone else's conversation.
//
// An id never starts with "-": the runtime's default rule takes such chat
// ids for Telegram group chats and would throttle them as groups.
func NewSessionID() (string, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("webchat: session id: %w", err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}

// ValidSessionID says whether s has the shape of an id NewSessionID makes.
// The hub accepts such an id even when it does not know it (after a restart
// the conversation lives on in the store), but nothing else.
func ValidSessionID(s string) bool {
	if len(s) != sessionIDLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 16
}

func encode(f ServerFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// ServerFrame holds only strings and numbers, so this is unreachable;
		// still, a frame the client can read beats a panic.
		return []byte(`{"type":"error","code":"internal","message":"internal error"}`)
	}
	return b
}
