package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// PreviewBots issues and checks the bot ids of the builder's preview,
// "preview~<bot>~<flow>~<signature>": the runtime runs the draft of that
// flow for them. Only a signed-in marketer or admin gets an id (GET
// /api/bots/{bot}/flows/{flow}/preview), so nobody else can chat with an
// unpublished draft over the public web chat socket.
type PreviewBots struct {
	key []byte
}

// NewPreviewBots makes a signer with a random key: preview ids live as
// long as the process.
func NewPreviewBots() (*PreviewBots, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("preview key: %w", err)
	}
	return &PreviewBots{key: key}, nil
}

func (p *PreviewBots) sign(bot, flow string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(bot + "\x00" + flow))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:9])
}

// ID returns the preview bot id of a flow.
func (p *PreviewBots) ID(bot, flow string) string {
	return PreviewBotPrefix + bot + "~" + flow + "~" + p.sign(bot, flow)
}

// Parse checks a preview bot id and returns its bot and flow.
func (p *PreviewBots) Parse(id string) (bot, flow string, ok bool) {
	rest, found := strings.CutPrefix(id, PreviewBotPrefix)
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "~")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(p.sign(parts[0], parts[1]))) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// previewID answers the preview bot id of a flow (marketers and admins).
func (s *Server) previewID(c *fiber.Ctx) error {
	if s.cfg.Preview == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "preview is not available"}
	}
	bot, flow := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(c.UserContext(), bot); err != nil {
		return botErr(err)
	}
	id := s.cfg.Preview.ID(bot, flow)
	if len(id) > 64 {
		return badRequest("the bot and flow ids are too long for a preview (64 characters in all)", nil)
	}
	return c.JSON(fiber.Map{"bot": id})
}
