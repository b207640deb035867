package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/voronka/voronka/engine/channel"
)

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// mountChannels serves what the channel types declare: each type's
// webhooks under /{type}/{bot}, the sockets, pages and files of the
// adapters. The server names no adapter.
func (s *Server) mountChannels() (rootFiles []channel.Files) {
	set := s.cfg.Live
	if set == nil {
		return nil
	}
	adapters := set.Adapters()
	for _, t := range set.Types() {
		h := s.channelWebhook(t.Name)
		s.app.All("/"+t.Name+"/:bot", h)
		s.app.All("/"+t.Name+"/:bot/*", h)
		a := adapters[t.Name]
		if ss, ok := a.(channel.SocketServer); ok {
			s.mountSocket(t.Name, ss)
		}
		if p, ok := a.(channel.Pager); ok {
			for _, r := range p.Pages() {
				s.app.Add(r.Method, strings.ReplaceAll(r.Path, "{bot}", ":bot"), s.channelPage(r))
			}
		}
		if fsrv, ok := a.(channel.FileServer); ok {
			for _, f := range fsrv.Files() {
				if f.Prefix == "/" {
					rootFiles = append(rootFiles, f)
					continue
				}
				s.app.Use(f.Prefix, utf8Scripts, filesystem.New(filesystem.Config{Root: http.FS(f.FS), Index: f.Index, MaxAge: f.MaxAge}))
			}
		}
	}
	return rootFiles
}

// channelRequest is the framework-free request a channel route takes.
func channelRequest(c *fiber.Ctx, path string) *channel.Request {
	return &channel.Request{Bot: c.Params("bot"), Method: c.Method(), Path: path,
		Header: func(name string) string { return c.Get(name) },
		Query:  func(name string) string { return c.Query(name) },
		Body:   c.Body()}
}

// channelWebhook hands a request under /{type}/{bot} to the route of the
// bot's channel of that type that matches its method and path. Channels
// answer 2xx only once an update is durably recorded.
func (s *Server) channelWebhook(typ string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		bot := c.Params("bot")
		ch, ok := s.cfg.Live.Channel(typ, bot)
		rc, isReceiver := ch.(channel.Receiver)
		if !ok || !isReceiver {
			return notFound("bot")
		}
		path := ""
		if rest := c.Params("*"); rest != "" {
			path = "/" + rest
		}
		methodOK := false
		for _, r := range rc.Routes() {
			if r.Path != path {
				continue
			}
			if r.Method != c.Method() {
				methodOK = true
				continue
			}
			resp := r.Handle(c.UserContext(), channelRequest(c, path))
			return sendChannelResponse(c, resp)
		}
		if methodOK {
			return &apiError{Status: fiber.StatusMethodNotAllowed, Msg: "method not allowed"}
		}
		return notFound("route")
	}
}

// channelPage serves an adapter's page for a bot.
func (s *Server) channelPage(r channel.Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !ValidID(c.Params("bot")) {
			return notFound("bot")
		}
		return sendChannelResponse(c, r.Handle(c.UserContext(), channelRequest(c, c.Path())))
	}
}

func sendChannelResponse(c *fiber.Ctx, resp channel.Response) error {
	status := resp.Status
	if status == 0 {
		status = fiber.StatusOK
	}
	if resp.ContentType != "" {
		c.Set(fiber.HeaderContentType, resp.ContentType)
	}
	if len(resp.Body) == 0 {
		return c.SendStatus(status)
	}
	return c.Status(status).Send(resp.Body)
}

// mountSocket serves an adapter's socket (the web chat): GET upgrades to
// a WebSocket the adapter speaks its protocol on. The bot comes from
// ?bot=ID, checked before the upgrade, or else from what the client says.
// The gate caps connections in all and per client address, and new chats
// per address and minute: over a cap the request gets 503 or 429 before
// the upgrade, or, when the cap filled meanwhile, close code 1013.
func (s *Server) mountSocket(typ string, ss channel.SocketServer) {
	path := ss.SocketPath()
	s.app.Use(path, func(c *fiber.Ctx) error {
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
		if s.bots == nil {
			return notFound("bot")
		}
		if err := s.bots.CheckBot(c.UserContext(), typ, bot); err != nil {
			if errors.Is(err, channel.ErrUnknownBot) {
				return notFound("bot")
			}
			return err
		}
		c.Locals("bot", bot)
		return c.Next()
	})
	s.app.Get(path, websocket.New(func(conn *websocket.Conn) {
		bot, _ := conn.Locals("bot").(string)
		addr, _ := conn.Locals("addr").(string)
		release, lim := s.webChat.acquire(addr)
		if lim != nil {
			s.webChatRefused.Add(1)
			closeWebSocket(conn, webchatTryAgainLater, lim.Reason)
			return
		}
		defer release()
		admit := func() error {
			if err := s.webChat.newSession(addr); err != nil {
				s.webChatRefused.Add(1)
				return err
			}
			return nil
		}
		if err := ss.ServeSocket(context.Background(), conn, bot, admit); err != nil {
			s.log.Debug("socket connection ended", "path", path, "bot", bot, "err", err)
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
