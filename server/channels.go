package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

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
// The gate caps connections in all and per client address, and new chats
// per address and minute: over a cap the request gets 503 or 429 before
// the upgrade, or, when the cap filled meanwhile, close code 1013.
func (s *Server) mountWebChat() {
	s.app.Use("/ws/chat", func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return &apiError{Status: fiber.StatusUpgradeRequired, Msg: "this is a WebSocket endpoint"}
		}
		addr := c.IP()
		if lim := s.webChat.full(addr); lim != nil {
			s.webChatRefused.Add(1)
			c.Set(fiber.HeaderRetryAfter, lim.retryAfter())
			// The connection goes too: a flood must not keep its sockets.
			c.Context().SetConnectionClose()
			return &apiError{Status: lim.Status, Msg: lim.Reason}
		}
		c.Locals("addr", addr)
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
		addr, _ := conn.Locals("addr").(string)
		release, lim := s.webChat.acquire(addr)
		if lim != nil {
			s.webChatRefused.Add(1)
			closeWebSocket(conn, webchatTryAgainLater, lim.Reason)
			return
		}
		defer release()
		admit := webchat.AdmitNewSession(func() error {
			if err := s.webChat.newSession(addr); err != nil {
				s.webChatRefused.Add(1)
				return err
			}
			return nil
		})
		if err := s.cfg.WebChat.Serve(context.Background(), conn, bot, admit); err != nil {
			s.log.Debug("web chat connection ended", "bot", bot, "err", err)
		}
	}, websocket.Config{
		// The read buffer lives as long as the connection; frames larger
		// than it still arrive whole. Write buffers are only needed while a
		// frame is written, so idle connections share a pool of them.
		ReadBufferSize: 1024, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{},
	}))
}

// webchatTryAgainLater is the WebSocket close code "Try Again Later".
const webchatTryAgainLater = 1013

// closeWebSocket ends a connection with a close frame saying why.
func closeWebSocket(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = conn.Close()
}
