package server

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/store"
)

// IDPattern is what a bot, flow or user id looks like: 1 to 64 Latin
// letters, digits, "_" and "-", starting with a letter or a digit. Flow ids
// are a subset (lowercase, the flow format's own rule). An id is part of
// conversation ids ("bot:channel:chat"), preview bot ids ("~"-separated)
// and URLs, so ":", "~", "/", spaces and the like stay out of it.
const IDPattern = `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`

var idRe = regexp.MustCompile(IDPattern)

// errBadID is a refused id; the API answers 400.
var errBadID = errors.New("ids are 1-64 Latin letters, digits, _ and -, starting with a letter or a digit")

// ValidID reports whether id matches IDPattern.
func ValidID(id string) bool { return idRe.MatchString(id) }

// maxConversationIDLen bounds a conversation id: a preview bot id, a
// channel and a chat id fit.
const maxConversationIDLen = 512

// validConversationID reports whether id has the shape of a conversation
// id, "bot:channel:chat", with a bot id or a preview bot id.
func validConversationID(id string) bool {
	if len(id) > maxConversationIDLen || !utf8.ValidString(id) {
		return false
	}
	bot, rest, ok := strings.Cut(id, ":")
	if !ok || (!ValidID(bot) && !strings.HasPrefix(bot, PreviewBotPrefix)) {
		return false
	}
	channel, chat, ok := strings.Cut(rest, ":")
	if !ok || !ValidID(channel) || chat == "" {
		return false
	}
	for _, r := range chat {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// checkIDs refuses a request whose :bot, :flow or :id route parameter (or
// ?bot= query) is not an id with 400 before any handler or the store sees it.
// :id is a conversation id under /conversations and a user id elsewhere.
func checkIDs(c *fiber.Ctx) error {
	for _, name := range c.Route().Params {
		v := c.Params(name)
		switch {
		case name == "id" && strings.Contains(c.Route().Path, "/conversations/"):
			if !validConversationID(v) {
				return badRequest("invalid conversation id", v)
			}
		case name == "bot" || name == "flow" || name == "id":
			if !ValidID(v) {
				return badRequest("invalid "+name+" id: "+errBadID.Error(), v)
			}
		}
	}
	if q := c.Query("bot"); q != "" && !ValidID(q) {
		return badRequest("invalid bot id: "+errBadID.Error(), q)
	}
	return c.Next()
}

// validCursor refuses a ?cursor= that no page of ours ended with (400, not
// the store's 500).
func validCursor(c *fiber.Ctx) error {
	if cur := c.Query("cursor"); cur != "" {
		if _, _, err := store.DecodeCursor(cur); err != nil {
			return badRequest("invalid cursor: pass the next value of the previous page", nil)
		}
	}
	return nil
}
