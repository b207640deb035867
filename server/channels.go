package server

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/adapters/telegram"
	"github.com/voronka/voronka/adapters/webchat"
	"github.com/voronka/voronka/engine/channel"
)

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// telegramWebhook hands one update to the bot's adapter. The answer is 200
// only once the update is durably recorded; anything else makes Telegram
// deliver it again, so a crash or a store outage never loses a message.
func (s *Server) telegramWebhook(c *fiber.Ctx) error {
	a := s.cfg.Telegram[c.Params("bot")]
	if a == nil {
		return notFound("bot")
	}
	status, err := a.HandleWebhook(c.UserContext(), s.cfg.Handler, c.Get("X-Telegram-Bot-Api-Secret-Token"), c.Body())
	if err != nil && status >= 500 {
		s.log.Warn("telegram update not accepted; Telegram will retry", "bot", c.Params("bot"), "err", err)
	}
	if status == 0 {
		status = fiber.StatusOK
	}
	if status >= 400 {
		msg := "update not accepted"
		switch status {
		case fiber.StatusUnauthorized:
			msg = "wrong secret token"
		case fiber.StatusBadRequest:
			msg = "malformed update"
		}
		return &apiError{Status: status, Msg: msg}
	}
	return c.SendStatus(status)
}

// TelegramSender routes each message to the adapter of the bot that sends
// it, so one runtime channel serves every Telegram bot of the process.
type TelegramSender map[string]*telegram.Adapter

// Send implements channel.Sender.
func (t TelegramSender) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	a := t[msg.Bot]
	if a == nil {
		return channel.Sent{}, &channel.SendError{Err: errors.New("no Telegram adapter for bot " + msg.Bot)}
	}
	return a.Send(ctx, msg)
}

// mountWebChat serves the chat socket: GET /ws/chat upgrades to a WebSocket
// that the hub speaks its protocol on. The bot comes from ?bot=ID, checked
// before the upgrade, or else from the client's hello (the widget's way).
func (s *Server) mountWebChat() {
	s.app.Use("/ws/chat", func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return &apiError{Status: fiber.StatusUpgradeRequired, Msg: "this is a WebSocket endpoint"}
		}
		bot := c.Query("bot")
		if bot == "" {
			return c.Next()
		}
		if err := WebChatBots(s.cfg.Store, s.cfg.Preview)(c.UserContext(), bot); err != nil {
			if errors.Is(err, webchat.ErrUnknownBot) {
				return notFound("bot")
			}
			return err
		}
		c.Locals("bot", bot)
		return c.Next()
	})
	s.app.Get("/ws/chat", websocket.New(func(conn *websocket.Conn) {
		bot, _ := conn.Locals("bot").(string)
		if err := s.cfg.WebChat.Serve(context.Background(), conn, bot); err != nil {
			s.log.Debug("web chat connection ended", "bot", bot, "err", err)
		}
	}, websocket.Config{ReadBufferSize: 4096, WriteBufferSize: 4096}))
}
