// Package webchat is Voronka's web chat channel: a JSON protocol over
// WebSocket, a Hub that serves it and delivers the runtime's messages
// (channel.Sender), and an embeddable widget with a demo page (Static).
//
// The hub knows no HTTP framework. The server upgrades the request and hands
// the connection to Hub.Serve; anything with the gorilla-style methods of
// Conn works (Fiber's websocket.Conn, fasthttp/websocket, gorilla).
//
// # Protocol, version 1
//
// Every frame is one JSON object in a WebSocket text message with a "type".
// Unknown fields are ignored in both directions, so a field added later does
// not break an older peer; a change that would is a new version.
//
// Client → server:
//
//	{"type":"hello","v":1,"session":"<id or empty>","bot":"<bot id>",
//	 "profile":{"first_name":"…","last_name":"…","language":"ru"},"last_seen":<seq>}
//	{"type":"text","id":"<client msg id>","text":"…"}
//	{"type":"press","id":"<client msg id>","payload":"…","label":"…"}
//	{"type":"ping"}
//
// Server → client:
//
//	{"type":"welcome","v":1,"session":"<id>","seq":<last seq of the session>,"handoff":"<text>"}
//	{"type":"message","seq":N,"id":"<message id>","text":"…","buttons":[{"label":"…","payload":"…"}],"at":<ms>}
//	{"type":"ack","id":"<client msg id>"}
//	{"type":"error","code":"…","id":"<client msg id, when it concerns one>","message":"…"}
//	{"type":"pong"}
//	{"type":"typing"}
//
// A connection starts with hello, answered by welcome. An empty or unknown
// session starts a conversation: the welcome carries a new session id (128
// random bits, base64url) that the client keeps (the widget: localStorage,
// per bot) and sends back to resume the same conversation after a reload.
// A well-formed id the hub does not know (after a restart) is resumed as it
// is: the conversation lives in the store, keyed by bot, "web" and the id.
//
// The hello is refused with an error frame and a close (1008) when its v is
// newer than this hub speaks (code unsupported_version; no v means 1), when
// Options.CheckBot does not know its bot (code unknown_bot: no such bot, no
// web chat for it, or a preview id that expired or was revoked), or when it
// is malformed (code bad_hello). When the bot cannot be checked (the store
// is down) the error is handler_failed and the close 1013, "try again later".
// A bot that goes away while connected (a revoked preview) ends the
// connection the same way at the next message: unknown_bot, then 1008.
//
// The welcome's handoff (Options.Handoff; absent when the bot has none) is
// a text that reaches a person: a keyword of a trigger whose goto is a
// handoff node. The widget offers it as a "talk to a person" button and
// sends it as an ordinary text frame. A message's at is when the hub took
// it to send, in Unix milliseconds (the widget shows it as HH:MM, local).
// typing is sent when a text or press arrives, before the Handler runs,
// when Options.Typing is on; the widget also shows its indicator from the
// moment it sends, until the next message or 8 s. All three are optional
// additions to version 1: older clients ignore them.
//
// Buttons: only the latest message with buttons is live in the widget
// (answered, replaced and ended keyboards are disabled). Other clients may
// still send a stale payload; the engine ignores a press after the
// conversation ended instead of starting it over.
//
// Messages to the client carry a per-session seq that only grows. The hub
// keeps the last Options.Backlog messages of each session; after the welcome
// it replays those with seq > last_seen, so a client that reconnects misses
// nothing that is still kept. If last_seen is ahead of the hub (it restarted)
// the kept messages are renumbered after last_seen. A client should also
// drop a message whose id it has shown already.
//
// Text and presses carry a client-chosen id, unique within the session. The
// hub hands them to the channel.Handler with UpdateID "web:<session>:<id>"
// and answers ack only after Handle returned nil, that is once the message is
// durably recorded. Until then the client keeps the message and sends it
// again, with the same id, after a reconnect; the runtime drops the
// duplicate and the hub acks it again. An error frame with code
// handler_failed or rate_limited and that id means "try again later";
// bad_frame, too_large or unknown_bot mean the frame will never be accepted.
//
// Limits (Options): text up to 4 KB, frames up to 16 KB (a larger frame
// closes the connection with 1009), 5 frames a second with bursts of 10 per
// connection, hello within 10 s, silence up to 75 s (the client pings every
// 25 s). A malformed frame gets an error frame and the connection stays.
//
// Each connection has one writer goroutine with a bounded queue: Send never
// waits for a client, and a client that cannot keep up is disconnected (it
// reconnects and catches up from the backlog).
//
// # Wiring
//
// The hub is both ends of the web channel: the server routes connections to
// Serve, and the runtime gets it as the Sender for channel "web". With Fiber
// and github.com/gofiber/contrib/websocket:
//
//	hub := webchat.New(nil, log, webchat.SystemClock{}, webchat.DefaultOptions)
//	cfg.Channels[webchat.Channel] = runtime.Channel{Sender: hub, Limits: webchat.Limits(), IsGroup: webchat.IsGroup}
//	rt, err := runtime.New(cfg)
//	hub.SetHandler(rt) // the runtime is the channel.Handler
//	app.Use("/widget", filesystem.New(filesystem.Config{Root: webchat.StaticHTTP()}))
//	app.Get("/", func(c *fiber.Ctx) error { // the demo page
//		c.Type("html")
//		return c.Send(mustRead(webchat.Static(), "index.html"))
//	})
//	app.Use("/ws/chat", func(c *fiber.Ctx) error {
//		if !websocket.IsWebSocketUpgrade(c) {
//			return fiber.ErrUpgradeRequired
//		}
//		return c.Next()
//	})
//	app.Get("/ws/chat", websocket.New(func(conn *websocket.Conn) {
//		if err := hub.Serve(serverCtx, conn, conn.Query("bot")); err != nil {
//			log.Info("web chat connection refused", "err", err)
//		}
//	}))
//
// With several replicas, hub.UseBus(ctx, bus) (an engine/notify bus on the
// shared store) makes Send reach a session's connections on every replica.
//
// Serve blocks for the life of the connection, as Fiber's handler expects.
// An empty bot lets the hello name it; pass a bot id from the route to pin
// the connection to one bot. cmd/webchat-demo does the same on net/http.
package webchat
