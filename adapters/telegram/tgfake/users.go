package tgfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by the user-simulation methods.
var (
	// ErrNoSuchMessage: the bot message to press a button on does not exist.
	ErrNoSuchMessage = errors.New("tgfake: no such bot message")
	// ErrNoSuchButton: the message has no inline button matching the press.
	ErrNoSuchButton = errors.New("tgfake: no such inline button")
	// ErrUserDeactivated: a deactivated user cannot act.
	ErrUserDeactivated = errors.New("tgfake: user is deactivated")
	// ErrNoChange: the user is already in the requested block state.
	ErrNoChange = errors.New("tgfake: nothing changed")
	// ErrBadChat: the chat id does not fit the requested chat type.
	ErrBadChat = errors.New("tgfake: bad chat id")
)

type userState struct {
	user        User
	blocked     bool
	deactivated bool
}

type chatState struct {
	chat       Chat
	nextMsgID  int
	lastMarkup int // id of the latest bot message carrying an inline keyboard
	lastBot    int // id of the latest bot message (the only one kept when Lean)
	bucket     bucket
}

type msgKey struct {
	chat int64
	id   int
}

// botMessage is a message the bot sent, as it stands now.
type botMessage struct {
	msg    Message
	markup []byte // canonical inline keyboard JSON; nil when none
}

type queryState struct {
	created  time.Time
	answered bool
}

// AddUser registers a simulated user or updates its profile. Users are
// also created on first use with a generated name, so calling AddUser is
// optional.
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	us := f.userLocked(u.ID)
	u.IsBot = false
	if u.FirstName == "" {
		u.FirstName = us.user.FirstName
	}
	us.user = u
	if c, ok := f.chats[u.ID]; ok {
		c.chat.FirstName, c.chat.LastName, c.chat.Username = u.FirstName, u.LastName, u.Username
	}
}

func (f *Fake) userLocked(id int64) *userState {
	us, ok := f.users[id]
	if !ok {
		us = &userState{user: User{ID: id, FirstName: fmt.Sprintf("User%d", id), Username: fmt.Sprintf("user%d", id)}}
		f.users[id] = us
	}
	return us
}

func (f *Fake) privateChatLocked(us *userState) *chatState {
	c, ok := f.chats[us.user.ID]
	if !ok {
		c = &chatState{chat: Chat{
			ID: us.user.ID, Type: "private",
			FirstName: us.user.FirstName, LastName: us.user.LastName, Username: us.user.Username,
		}}
		f.chats[us.user.ID] = c
	}
	return c
}

// SendText simulates user userID sending text to the bot in their private
// chat (chat id = user id), which makes the chat exist for sendMessage. A
// leading /command gets a bot_command entity. A user who had blocked the
// bot unblocks it first, as the Telegram app does on "Restart bot", which
// produces a my_chat_member update before the message. The returned
// Update has UpdateID 0 when allowed_updates filtered it out.
func (f *Fake) SendText(userID int64, text string) (Update, error) {
	if userID <= 0 {
		return Update{}, fmt.Errorf("%w: user id %d must be positive", ErrBadChat, userID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	us := f.userLocked(userID)
	if us.deactivated {
		return Update{}, ErrUserDeactivated
	}
	if us.blocked {
		f.setBlockedLocked(us, false)
	}
	c := f.privateChatLocked(us)
	return f.userMessageLocked(us, c, text), nil
}

// SendGroupText simulates user userID writing text in group groupID (a
// negative id) titled title, where the bot is a member.
func (f *Fake) SendGroupText(userID, groupID int64, title, text string) (Update, error) {
	if groupID >= 0 || userID <= 0 {
		return Update{}, fmt.Errorf("%w: group id %d must be negative, user id %d positive", ErrBadChat, groupID, userID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	us := f.userLocked(userID)
	if us.deactivated {
		return Update{}, ErrUserDeactivated
	}
	c, ok := f.chats[groupID]
	if !ok {
		c = &chatState{chat: Chat{ID: groupID, Type: "group", Title: title}}
		f.chats[groupID] = c
	}
	if title != "" {
		c.chat.Title = title
	}
	return f.userMessageLocked(us, c, text), nil
}

func (f *Fake) userMessageLocked(us *userState, c *chatState, text string) Update {
	now := f.clock.Now()
	c.nextMsgID++
	from := us.user
	msg := &Message{
		MessageID: c.nextMsgID,
		From:      &from,
		Date:      now.Unix(),
		Chat:      c.chat,
		Text:      text,
		Entities:  commandEntities(text),
	}
	u := Update{Message: msg}
	f.addUpdateLocked(&u, c.chat.ID, now, time.Unix(msg.Date, 0).Add(f.opts.UpdateTTL))
	return u
}

// commandEntities marks a leading /command (with an optional @botname).
func commandEntities(text string) []MessageEntity {
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return nil
	}
	end := strings.IndexAny(text, " \t\n")
	if end < 0 {
		end = len(text)
	}
	if end < 2 {
		return nil
	}
	return []MessageEntity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:end])}}
}

// PressButton simulates user userID pressing the inline button whose
// callback_data is data on bot message messageID in chat chatID
// (messageID 0 = the chat's latest bot message with an inline keyboard).
// The callback query can be answered for Options.CallbackQueryTTL.
func (f *Fake) PressButton(userID, chatID int64, messageID int, data string) (Update, error) {
	return f.press(userID, chatID, messageID, func(b InlineKeyboardButton) bool {
		return b.CallbackData != nil && *b.CallbackData == data
	})
}

// PressButtonText is PressButton choosing the callback button by its label.
func (f *Fake) PressButtonText(userID, chatID int64, messageID int, label string) (Update, error) {
	return f.press(userID, chatID, messageID, func(b InlineKeyboardButton) bool {
		return b.CallbackData != nil && b.Text == label
	})
}

func (f *Fake) press(userID, chatID int64, messageID int, match func(InlineKeyboardButton) bool) (Update, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	us := f.userLocked(userID)
	if us.deactivated {
		return Update{}, ErrUserDeactivated
	}
	c, ok := f.chats[chatID]
	if !ok {
		return Update{}, fmt.Errorf("%w: chat %d has no messages", ErrNoSuchMessage, chatID)
	}
	if messageID == 0 {
		messageID = c.lastMarkup
	}
	bm, ok := f.msgs[msgKey{chatID, messageID}]
	if !ok {
		return Update{}, fmt.Errorf("%w: message %d in chat %d", ErrNoSuchMessage, messageID, chatID)
	}
	var btn *InlineKeyboardButton
	if bm.msg.ReplyMarkup != nil {
	rows:
		for _, row := range bm.msg.ReplyMarkup.InlineKeyboard {
			for i := range row {
				if match(row[i]) {
					btn = &row[i]
					break rows
				}
			}
		}
	}
	if btn == nil {
		return Update{}, fmt.Errorf("%w: message %d in chat %d", ErrNoSuchButton, messageID, chatID)
	}
	now := f.clock.Now()
	f.nextQueryID++
	id := fmt.Sprintf("%d%010d", userID, f.nextQueryID)
	f.queries[id] = &queryState{created: now}
	msg := bm.msg
	u := Update{CallbackQuery: &CallbackQuery{
		ID:           id,
		From:         us.user,
		Message:      &msg,
		ChatInstance: fmt.Sprintf("%d", chatInstance(chatID)),
		Data:         *btn.CallbackData,
	}}
	// Callback queries are ordered per user and live CallbackQueryTTL.
	f.addUpdateLocked(&u, userID, now, now.Add(f.opts.CallbackQueryTTL))
	return u, nil
}

// chatInstance is a stable opaque id for a chat, like Telegram's.
func chatInstance(chatID int64) int64 {
	x := uint64(chatID)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	return int64(x >> 1)
}

// Block simulates the user blocking the bot: a my_chat_member update
// (member → kicked) and 403 "bot was blocked by the user" on sends.
func (f *Fake) Block(userID int64) (Update, error) { return f.setBlocked(userID, true) }

// Unblock reverses Block with a my_chat_member update (kicked → member).
func (f *Fake) Unblock(userID int64) (Update, error) { return f.setBlocked(userID, false) }

func (f *Fake) setBlocked(userID int64, blocked bool) (Update, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	us := f.userLocked(userID)
	if us.deactivated {
		return Update{}, ErrUserDeactivated
	}
	if us.blocked == blocked {
		return Update{}, ErrNoChange
	}
	return f.setBlockedLocked(us, blocked), nil
}

func (f *Fake) setBlockedLocked(us *userState, blocked bool) Update {
	us.blocked = blocked
	c := f.privateChatLocked(us)
	now := f.clock.Now()
	oldS, newS := "member", "kicked"
	if !blocked {
		oldS, newS = newS, oldS
	}
	u := Update{MyChatMember: &ChatMemberUpdated{
		Chat:          c.chat,
		From:          us.user,
		Date:          now.Unix(),
		OldChatMember: ChatMember{User: f.bot, Status: oldS},
		NewChatMember: ChatMember{User: f.bot, Status: newS},
	}}
	f.addUpdateLocked(&u, c.chat.ID, now, time.Unix(now.Unix(), 0).Add(f.opts.UpdateTTL))
	return u
}

// Deactivate marks the user's account deleted: sends to them fail with
// 403 "user is deactivated". Telegram sends no update for this.
func (f *Fake) Deactivate(userID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userLocked(userID).deactivated = true
}

// marshalUpdate encodes an update for getUpdates and webhooks.
func marshalUpdate(u *Update) []byte {
	b, err := json.Marshal(u)
	if err != nil {
		// Every field is a plain value; this cannot fail.
		panic(fmt.Sprintf("tgfake: marshal update: %v", err))
	}
	return b
}
