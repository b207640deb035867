package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// Bot API limits that Send enforces before a request goes out.
const (
	// MaxTextLen is the longest message text, in UTF-16 code units.
	MaxTextLen = 4096
	// MaxCallbackData is the longest callback_data, in bytes.
	MaxCallbackData = 64
)

// shortLabel is the longest label (in characters) that still shares a
// keyboard row with another button on a phone screen.
const shortLabel = 16

// maxProgress bounds the partly-sent bookkeeping; past it the oldest
// knowledge is dropped (a later retry may then repeat a part).
const maxProgress = 10_000

var _ channel.Sender = (*Adapter)(nil)

// Send delivers msg to its chat: one sendMessage per part of the text (see
// the package documentation for splitting and the keyboard layout), the
// buttons on the last part. Sent.PlatformID is the message id of that last
// part. Errors are *channel.SendError:
//
//   - Retryable with RetryAfter for 429; Retryable for 5xx, network errors
//     and answers that are not JSON (an HTML 502 from a proxy).
//   - Blocked for 403 (blocked, deactivated, kicked) and for 400 "chat not
//     found": the chat is gone, stop writing to it.
//   - neither for every other 4xx (a 400 is a bug in what we sent, a 401 a
//     revoked token: retrying fails the same way), and for messages
//     Telegram would refuse anyway (no text, a payload over 64 bytes, a chat
//     id that is not a number), which are checked here rather than sent
//     into a storm of 400s.
//
// When a split text fails on a later part, the parts already delivered are
// remembered by msg.ID, so the runtime's retry continues where it stopped.
func (a *Adapter) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	chatID, err := strconv.ParseInt(msg.Chat, 10, 64)
	if err != nil || chatID == 0 {
		return channel.Sent{}, invalid("chat %q is not a Telegram chat id", msg.Chat)
	}
	keyboard, err := inlineKeyboard(msg.Buttons)
	if err != nil {
		return channel.Sent{}, invalid("message %s to chat %d: %v", msg.ID, chatID, err)
	}
	text := msg.Text
	if a.cfg.SignOperators && msg.Author != "" {
		text = Signed(msg.Author, text)
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	parts := splitText(text, MaxTextLen)
	if len(parts) == 0 {
		return channel.Sent{}, invalid("message %s to chat %d: empty text (Telegram needs text, even with buttons)", msg.ID, chatID)
	}

	start := a.partsSent(msg.ID)
	if start >= len(parts) {
		start = 0 // the text changed under the same id; send it whole
	}
	var last int64
	for i := start; i < len(parts); i++ {
		mc := tgbotapi.NewMessage(chatID, parts[i])
		if i == len(parts)-1 && keyboard != nil {
			mc.ReplyMarkup = *keyboard
		}
		id, err := a.sendMessage(ctx, mc)
		if err != nil {
			se := classifySend("sendMessage", err)
			if se.Retryable {
				a.setPartsSent(msg.ID, i) // the retry resumes at part i
			} else {
				a.setPartsSent(msg.ID, 0) // no retry is coming
			}
			a.log.Debug("send failed", "chat", chatID, "msg", msg.ID, "part", i+1, "parts", len(parts),
				"retryable", se.Retryable, "blocked", se.Blocked, "err", se.Err)
			return channel.Sent{}, se
		}
		last = id
	}
	a.setPartsSent(msg.ID, 0)
	return channel.Sent{PlatformID: strconv.FormatInt(last, 10)}, nil
}

// maxSignature is the longest operator name put above a message, in
// characters; a longer one is cut.
const maxSignature = 64

// Signed is text as an operator's message shows it on Telegram: their name
// on the first line, then the text.
func Signed(author, text string) string {
	name := strings.Join(strings.Fields(author), " ")
	if name == "" {
		return text
	}
	if r := []rune(name); len(r) > maxSignature {
		name = string(r[:maxSignature-1]) + "…"
	}
	return name + ":\n" + text
}

// invalid is a send Telegram would refuse with a 400: not retryable.
func invalid(format string, args ...any) *channel.SendError {
	return &channel.SendError{Code: 400, Err: fmt.Errorf("telegram: "+format, args...)}
}

// sendMessage makes one sendMessage call and returns the message id. It
// uses Request and decodes only message_id: once Telegram said ok, the
// message is out, and a result the 2021 library's Message type cannot
// decode must not turn into a retry (a duplicate).
func (a *Adapter) sendMessage(ctx context.Context, mc tgbotapi.MessageConfig) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	resp, err := a.api(ctx).Request(mc)
	if err != nil {
		return 0, a.redact(err)
	}
	var m struct {
		MessageID int64 `json:"message_id"`
	}
	if err := json.Unmarshal(resp.Result, &m); err != nil {
		a.log.Warn("sendMessage succeeded but its result did not decode", "chat", mc.ChatID, "err", err)
	}
	return m.MessageID, nil
}

func (a *Adapter) partsSent(id string) int {
	if id == "" {
		return 0
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	return a.progress[id]
}

// setPartsSent records n delivered parts of message id; 0 forgets it.
func (a *Adapter) setPartsSent(id string, n int) {
	if id == "" {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	if n == 0 {
		delete(a.progress, id)
		return
	}
	if len(a.progress) >= maxProgress {
		for k := range a.progress { // drop an arbitrary entry
			delete(a.progress, k)
			break
		}
	}
	a.progress[id] = n
}

// inlineKeyboard lays buttons out two per row when every label is short,
// else one per row; nil for no buttons.
func inlineKeyboard(buttons []engine.Button) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(buttons) == 0 {
		return nil, nil
	}
	perRow := 2
	for i, b := range buttons {
		switch {
		case strings.TrimSpace(b.Label) == "":
			return nil, fmt.Errorf("button %d has an empty label", i+1)
		case b.Payload == "":
			return nil, fmt.Errorf("button %d (%q) has an empty payload", i+1, b.Label)
		case len(b.Payload) > MaxCallbackData:
			return nil, fmt.Errorf("button %d (%q): payload is %d bytes, Telegram's callback_data allows %d",
				i+1, b.Label, len(b.Payload), MaxCallbackData)
		case !utf8.ValidString(b.Payload) || !utf8.ValidString(b.Label):
			return nil, fmt.Errorf("button %d: label or payload is not UTF-8", i+1)
		}
		if utf8.RuneCountInString(b.Label) > shortLabel {
			perRow = 1
		}
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, (len(buttons)+perRow-1)/perRow)
	for i, b := range buttons {
		if i%perRow == 0 {
			rows = append(rows, make([]tgbotapi.InlineKeyboardButton, 0, perRow))
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], tgbotapi.NewInlineKeyboardButtonData(b.Label, b.Payload))
	}
	return &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: rows}, nil
}

// utf16Len measures s as Telegram does, in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16Prefix returns the byte length of the longest prefix of s that fits
// in limit UTF-16 code units, cut at a rune boundary.
func utf16Prefix(s string, limit int) int {
	if len(s) <= limit {
		return len(s) // a byte is at most one code unit
	}
	n := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > limit {
			return i
		}
		n += w
	}
	return len(s)
}

// splitText cuts s into parts of at most limit UTF-16 code units, at the
// last paragraph break, else line break, else space in the second half of
// each window, else (one enormous word) at a character boundary. Parts are
// trimmed, as Telegram trims texts; an all-blank s gives no parts.
func splitText(s string, limit int) []string {
	s = strings.TrimSpace(s)
	var parts []string
	for s != "" {
		cut := utf16Prefix(s, limit)
		if cut == len(s) {
			parts = append(parts, s)
			break
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s) // limit below one character
		}
		at := boundary(s[:cut])
		parts = append(parts, strings.TrimRightFunc(s[:at], unicode.IsSpace))
		s = strings.TrimLeftFunc(s[at:], unicode.IsSpace)
	}
	return parts
}

// boundary picks where to cut head, preferring the latest paragraph, line
// or word break in its second half so parts stay large.
func boundary(head string) int {
	lo := max(1, len(head)/2)
	if i := strings.LastIndex(head, "\n\n"); i >= lo {
		return i
	}
	if i := strings.LastIndexByte(head, '\n'); i >= lo {
		return i
	}
	if i := strings.LastIndexFunc(head, unicode.IsSpace); i >= lo {
		return i
	}
	return len(head)
}
