package telegram

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// allowedUpdates are the update types Voronka asks for, in setWebhook and
// getUpdates: everything else would be acknowledged and dropped anyway.
const allowedUpdates = `["message","callback_query","my_chat_member"]`

// The wire types hold only the fields the mapping reads (see the package
// documentation for why not tgbotapi.Update).
type (
	wireUpdate struct {
		UpdateID      int64          `json:"update_id"`
		Message       *wireMessage   `json:"message"`
		CallbackQuery *wireCallback  `json:"callback_query"`
		MyChatMember  *wireMemberUpd `json:"my_chat_member"`
	}
	wireUser struct {
		ID           int64  `json:"id"`
		IsBot        bool   `json:"is_bot"`
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name"`
		Username     string `json:"username"`
		LanguageCode string `json:"language_code"`
	}
	wireChat struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	wireMessage struct {
		MessageID int64     `json:"message_id"`
		From      *wireUser `json:"from"`
		Chat      wireChat  `json:"chat"`
		Date      int64     `json:"date"`
		Text      *string   `json:"text"`
	}
	wireCallback struct {
		ID      string       `json:"id"`
		From    wireUser     `json:"from"`
		Message *wireMessage `json:"message"`
		Data    *string      `json:"data"`
	}
	wireMemberUpd struct {
		Chat          wireChat   `json:"chat"`
		From          wireUser   `json:"from"`
		Date          int64      `json:"date"`
		NewChatMember wireMember `json:"new_chat_member"`
	}
	wireMember struct {
		Status string `json:"status"`
	}
)

// decodeUpdate parses one Update. It never panics, whatever the input.
func decodeUpdate(body []byte) (*wireUpdate, error) {
	var u wireUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedUpdate, err)
	}
	if u.UpdateID <= 0 {
		return nil, fmt.Errorf("%w: no positive update_id", ErrMalformedUpdate)
	}
	return &u, nil
}

// mapped is an update in Voronka's terms, plus what the adapter must do
// once the handler has accepted it.
type mapped struct {
	in channel.Inbound
	// ok is false for updates Voronka ignores (acknowledged, not handled).
	ok bool
	// why says why an update is ignored, for the debug log.
	why string
	// answerQuery is the callback query to answer after handling, "" if none.
	answerQuery string
}

// mapUpdate turns an update into an Inbound; see the package documentation
// for the rules. now stamps updates that carry no date.
func (a *Adapter) mapUpdate(u *wireUpdate, now func() time.Time) mapped {
	base := channel.Inbound{
		Bot:      a.cfg.BotID,
		Channel:  ChannelName,
		UpdateID: "tg:" + strconv.FormatInt(u.UpdateID, 10),
	}
	switch {
	case u.Message != nil:
		m := u.Message
		if m.Chat.ID == 0 {
			return mapped{why: "message without a chat"}
		}
		if m.Text == nil && m.Chat.Type != "private" {
			return mapped{why: "non-text message in a " + m.Chat.Type + " chat"}
		}
		in := base
		in.Kind = channel.KindText
		in.Chat = strconv.FormatInt(m.Chat.ID, 10)
		if m.Text != nil {
			in.Text = *m.Text
			in.Source = StartPayload(in.Text)
		}
		if m.From != nil {
			in.Contact = contact(m.From)
		}
		in.Time = unixTime(m.Date, now)
		return mapped{in: in, ok: true}

	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.Data == nil {
			// A game or a URL-less button we never send: answer, ignore.
			return mapped{why: "callback query without data", answerQuery: q.ID}
		}
		chat := q.From.ID
		if q.Message != nil && q.Message.Chat.ID != 0 {
			chat = q.Message.Chat.ID
		}
		if chat == 0 {
			return mapped{why: "callback query without a chat or sender", answerQuery: q.ID}
		}
		in := base
		in.Kind = channel.KindPress
		in.Chat = strconv.FormatInt(chat, 10)
		in.Payload = *q.Data
		in.Contact = contact(&q.From)
		in.Time = now().UTC()
		return mapped{in: in, ok: true, answerQuery: q.ID}

	case u.MyChatMember != nil:
		mc := u.MyChatMember
		if mc.Chat.Type != "private" || mc.Chat.ID == 0 {
			return mapped{why: "membership change in a " + mc.Chat.Type + " chat"}
		}
		in := base
		switch mc.NewChatMember.Status {
		case "kicked":
			in.Kind = channel.KindBlocked
		case "member":
			in.Kind = channel.KindUnblocked
		default:
			return mapped{why: "membership status " + mc.NewChatMember.Status}
		}
		in.Chat = strconv.FormatInt(mc.Chat.ID, 10)
		in.Contact = contact(&mc.From)
		in.Time = unixTime(mc.Date, now)
		return mapped{in: in, ok: true}
	}
	return mapped{why: "update type not handled"}
}

// StartPayload is the deep-link payload of a "/start <payload>" message
// (t.me/<bot>?start=<payload>), "" for any other text. Telegram allows
// 1-64 characters of A-Z, a-z, 0-9, _ and -; anything else is not a
// payload Telegram would send and is not taken as a source.
func StartPayload(text string) string {
	rest, ok := strings.CutPrefix(text, "/start ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if rest == "" || len(rest) > 64 {
		return ""
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return ""
		}
	}
	return rest
}

func contact(u *wireUser) engine.Contact {
	return engine.Contact{
		FirstName: u.FirstName,
		LastName:  u.LastName,
		Username:  u.Username,
		Language:  u.LanguageCode,
		Channel:   ChannelName,
	}
}

// unixTime converts a Bot API date; a missing one (0) becomes now.
func unixTime(sec int64, now func() time.Time) time.Time {
	if sec <= 0 {
		return now().UTC()
	}
	return time.Unix(sec, 0).UTC()
}
