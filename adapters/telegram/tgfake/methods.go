package tgfake

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bot API limits.
const (
	maxTextLen         = 4096 // UTF-16 code units
	maxCallbackData    = 64   // bytes
	maxCallbackTextLen = 200  // UTF-16 code units
)

// utf16Len counts s in UTF-16 code units, as Telegram measures text.
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

func (f *Fake) getMe(context.Context, params) ([]byte, string, *apiError) {
	b, err := json.Marshal(f.bot)
	if err != nil {
		return nil, "", internal(err)
	}
	return b, "", nil
}

func internal(err error) *apiError {
	return &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error: " + err.Error()}
}

// chatIDParam reads chat_id: absent → "chat_id is empty"; not a known
// numeric id (e.g. an unknown @channel) → "chat not found".
func chatIDParam(p params) (int64, *apiError) {
	s := strings.TrimSpace(p["chat_id"])
	if s == "" {
		return 0, badRequest(DescChatIDEmpty)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id == 0 {
		return 0, badRequest(DescChatNotFound)
	}
	return id, nil
}

// parsedMarkup is a decoded reply_markup.
type parsedMarkup struct {
	inline    *InlineKeyboardMarkup // nil unless an inline keyboard with buttons
	canonical []byte                // canonical JSON of inline; nil when none
	raw       string                // reply_markup as sent
}

// parseMarkup decodes and validates reply_markup.
func parseMarkup(s string) (parsedMarkup, *apiError) {
	pm := parsedMarkup{raw: s}
	if strings.TrimSpace(s) == "" {
		return pm, nil
	}
	var m struct {
		InlineKeyboard [][]InlineKeyboardButton `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return pm, badRequest(DescBadMarkup)
	}
	n := 0
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && (len(*b.CallbackData) == 0 || len(*b.CallbackData) > maxCallbackData) {
				return pm, badRequest(DescButtonDataInvalid)
			}
			n++
		}
	}
	if n == 0 {
		return pm, nil
	}
	pm.inline = &InlineKeyboardMarkup{InlineKeyboard: m.InlineKeyboard}
	canon, err := json.Marshal(pm.inline)
	if err != nil {
		return pm, internal(err)
	}
	pm.canonical = canon
	return pm, nil
}

// validText applies Telegram's text rules: UTF-8, non-empty after
// trimming, at most max UTF-16 code units.
func validText(text string, max int, tooLong string) *apiError {
	if !utf8.ValidString(text) {
		return badRequest(DescNotUTF8)
	}
	t := strings.TrimSpace(text)
	if t == "" {
		return badRequest(DescTextEmpty)
	}
	if len(t) > max && utf16Len(t) > max {
		return badRequest(tooLong)
	}
	return nil
}

// writableChatLocked resolves a chat the bot may write to.
func (f *Fake) writableChatLocked(id int64) (*chatState, *apiError) {
	c, ok := f.chats[id]
	if !ok {
		return nil, badRequest(DescChatNotFound)
	}
	if c.chat.Type == "private" {
		if us := f.users[id]; us != nil {
			if us.deactivated {
				return nil, forbidden(DescDeactivated)
			}
			if us.blocked {
				return nil, forbidden(DescBlocked)
			}
		}
	}
	return c, nil
}

// floodLocked takes one message from the chat's and the bot's buckets, or
// returns the 429 to send.
func (f *Fake) floodLocked(c *chatState) *apiError {
	l := &f.limits
	if l.Unlimited {
		return nil
	}
	now := f.clock.Now()
	rate, burst := l.PrivatePerSecond, l.PrivateBurst
	if c.chat.Type != "private" {
		rate, burst = l.GroupPerMinute/60, l.GroupBurst
	}
	if w := c.bucket.Wait(now, rate, burst); w > 0 {
		return tooMany(w)
	}
	if w := f.global.Wait(now, l.GlobalPerSecond, l.GlobalBurst); w > 0 {
		return tooMany(w)
	}
	c.bucket.Take()
	f.global.Take()
	return nil
}

func (f *Fake) sendMessage(_ context.Context, p params) ([]byte, string, *apiError) {
	chatID, aerr := chatIDParam(p)
	if aerr != nil {
		return nil, "", aerr
	}
	text := p["text"]
	if aerr := validText(text, maxTextLen, DescTextTooLong); aerr != nil {
		return nil, "", aerr
	}
	pm, aerr := parseMarkup(p["reply_markup"])
	if aerr != nil {
		return nil, "", aerr
	}

	f.mu.Lock()
	c, aerr := f.writableChatLocked(chatID)
	if aerr == nil {
		aerr = f.floodLocked(c)
	}
	if aerr != nil {
		f.mu.Unlock()
		return nil, "", aerr
	}
	now := f.clock.Now()
	c.nextMsgID++
	msg := Message{
		MessageID:   c.nextMsgID,
		From:        &f.bot,
		Date:        now.Unix(),
		Chat:        c.chat,
		Text:        text,
		ReplyMarkup: pm.inline,
	}
	if f.opts.Lean && c.lastBot != 0 {
		delete(f.msgs, msgKey{chatID, c.lastBot})
	}
	c.lastBot = msg.MessageID
	f.msgs[msgKey{chatID, msg.MessageID}] = &botMessage{msg: msg, markup: pm.canonical}
	if pm.inline != nil {
		c.lastMarkup = msg.MessageID
	}
	f.recordLocked(SentMessage{
		Method: "sendMessage", ChatID: chatID, MessageID: msg.MessageID, Text: text,
		ParseMode: p["parse_mode"], ReplyMarkup: markupJSON(pm), Keyboard: pm.inline, Time: now,
	})
	f.mu.Unlock()

	b, err := json.Marshal(&msg)
	if err != nil {
		return nil, "", internal(err)
	}
	return b, "", nil
}

func markupJSON(pm parsedMarkup) json.RawMessage {
	if pm.canonical != nil {
		return pm.canonical
	}
	if s := strings.TrimSpace(pm.raw); s != "" {
		return json.RawMessage(s)
	}
	return nil
}

func (f *Fake) answerCallbackQuery(_ context.Context, p params) ([]byte, string, *apiError) {
	id := p["callback_query_id"]
	text := p["text"]
	if !utf8.ValidString(text) {
		return nil, "", badRequest(DescNotUTF8)
	}
	if utf16Len(text) > maxCallbackTextLen {
		return nil, "", badRequest(DescCallbackTextLong)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	q, ok := f.queries[id]
	if !ok || q.answered || now.Sub(q.created) > f.opts.CallbackQueryTTL {
		return nil, "", badRequest(DescQueryTooOld)
	}
	q.answered = true
	f.answers = append(f.answers, CallbackAnswer{
		QueryID: id, Text: text, ShowAlert: p.bool("show_alert"), URL: p["url"], Time: now,
	})
	f.changedLocked()
	return trueJSON, "", nil
}

func (f *Fake) editMessageReplyMarkup(_ context.Context, p params) ([]byte, string, *apiError) {
	if p["inline_message_id"] != "" {
		return nil, "", badRequest("Bad Request: MESSAGE_ID_INVALID")
	}
	chatID, aerr := chatIDParam(p)
	if aerr != nil {
		return nil, "", aerr
	}
	msgID := int(p.int64("message_id", 0))
	if msgID <= 0 {
		return nil, "", badRequest(DescMessageIDEmpty)
	}
	pm, aerr := parseMarkup(p["reply_markup"])
	if aerr != nil {
		return nil, "", aerr
	}

	f.mu.Lock()
	c, aerr := f.writableChatLocked(chatID)
	if aerr != nil {
		f.mu.Unlock()
		return nil, "", aerr
	}
	bm, ok := f.msgs[msgKey{chatID, msgID}]
	if !ok {
		f.mu.Unlock()
		if msgID <= c.nextMsgID {
			return nil, "", badRequest(DescMessageCantBeEdited)
		}
		return nil, "", badRequest(DescMessageToEditAbsent)
	}
	if string(bm.markup) == string(pm.canonical) {
		f.mu.Unlock()
		return nil, "", badRequest(DescNotModified)
	}
	if aerr := f.floodLocked(c); aerr != nil {
		f.mu.Unlock()
		return nil, "", aerr
	}
	now := f.clock.Now()
	msg := bm.msg
	msg.ReplyMarkup = pm.inline
	msg.EditDate = now.Unix()
	f.msgs[msgKey{chatID, msgID}] = &botMessage{msg: msg, markup: pm.canonical}
	if pm.inline != nil && msgID > c.lastMarkup {
		c.lastMarkup = msgID
	}
	f.recordLocked(SentMessage{
		Method: "editMessageReplyMarkup", ChatID: chatID, MessageID: msgID, Text: msg.Text,
		ReplyMarkup: markupJSON(pm), Keyboard: pm.inline, Time: now,
	})
	f.mu.Unlock()

	b, err := json.Marshal(&msg)
	if err != nil {
		return nil, "", internal(err)
	}
	return b, "", nil
}
