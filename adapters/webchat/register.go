package webchat

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/voronka/voronka/engine/channel"
)

// Caps are what the widget shows: any number of buttons (10 keep a phone
// screen readable, and that is what the validator holds flows to), texts
// of any length, no receipts, and only people who opened the chat.
var Caps = channel.Capabilities{ButtonsPerMessage: 10}

// Settings are the keys of a web chat channel's settings: the panel's
// title, accent colour, the greeting shown before the first message, and
// the bubble's corner ("right" or "left").
var Settings = []string{"title", "color", "greeting", "position"}

// Type is the web chat as a channel type.
var Type = channel.Type{
	Name:     Channel,
	Title:    "Web chat",
	Caps:     Caps,
	Limits:   Limits(),
	IsGroup:  IsGroup,
	Settings: Settings,
	Open:     openType,
}

func init() { channel.Register(Type) }

// SocketPath is where the widget connects.
const SocketPath = "/ws/chat"

// typeAdapter is the web chat of one process: one hub serves every bot.
type typeAdapter struct {
	hub *Hub
	env channel.Env
}

func openType(env channel.Env) (channel.Adapter, error) {
	opts := DefaultOptions
	opts.CheckBot = func(ctx context.Context, bot string) error {
		if env.Bots == nil {
			return ErrUnknownBot
		}
		return env.Bots.CheckBot(ctx, Channel, bot)
	}
	if env.Bots != nil {
		opts.Handoff = env.Bots.HandoffText
	}
	var clock Clock = SystemClock{}
	if env.Now != nil {
		clock = funcClock(env.Now)
	}
	return &typeAdapter{hub: New(env.Handler, env.Logger, clock, opts), env: env}, nil
}

type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f() }

// HubOf returns the hub behind an opened web chat adapter (nil for any
// other adapter), for tests and tools.
func HubOf(a channel.Adapter) *Hub {
	if t, ok := a.(*typeAdapter); ok {
		return t.hub
	}
	return nil
}

// Build makes a bot's web chat channel: the shared hub, for that bot.
func (t *typeAdapter) Build(cfg channel.Config) (channel.Channel, error) {
	now := time.Now
	if t.env.Now != nil {
		now = t.env.Now
	}
	st := channel.NewStatusTracker(cfg.Bot, Channel, "socket", now)
	st.Connected("")
	return &botChannel{hub: t.hub, status: st}, nil
}

// Run relays messages between replicas over the bus, if there is one,
// until ctx ends.
func (t *typeAdapter) Run(ctx context.Context) error {
	if t.env.Bus != nil {
		t.hub.UseBus(ctx, t.env.Bus)
	}
	<-ctx.Done()
	return ctx.Err()
}

// SocketPath implements channel.SocketServer.
func (t *typeAdapter) SocketPath() string { return SocketPath }

// ServeSocket implements channel.SocketServer.
func (t *typeAdapter) ServeSocket(ctx context.Context, conn channel.SocketConn, bot string, admit func() error) error {
	return t.hub.Serve(ctx, conn, bot, AdmitNewSession(admit))
}

// Files serve the widget at /widget/ and the demo page at /.
func (t *typeAdapter) Files() []channel.Files {
	return []channel.Files{{Prefix: "/widget", FS: Static(), MaxAge: 300}, {Prefix: "/", FS: Static(), Index: "index.html"}}
}

// Gauges are the hub's sessions and connections.
func (t *typeAdapter) Gauges() []channel.Gauge {
	st := t.hub.Stats()
	return []channel.Gauge{
		{Name: "voronka_webchat_sessions", Help: "Web chat sessions in memory.", Value: int64(st.Sessions)},
		{Name: "voronka_webchat_connections", Help: "Open web chat connections.", Value: int64(st.Connections)},
	}
}

// Pages serve the hosted chat: a whole page for one bot at /c/{bot}, for
// a link in a bio or an ad when there is no site to embed the widget in.
func (t *typeAdapter) Pages() []channel.Route {
	return []channel.Route{{Method: http.MethodGet, Path: "/c/{bot}", Handle: t.page}}
}

func (t *typeAdapter) page(ctx context.Context, r *channel.Request) channel.Response {
	notFound := channel.Response{Status: http.StatusNotFound, ContentType: "text/plain; charset=utf-8", Body: []byte("no such chat\n")}
	if t.env.Bots == nil || t.env.Bots.CheckBot(ctx, Channel, r.Bot) != nil {
		return notFound
	}
	settings := t.env.Bots.ChannelSettings(ctx, Channel, r.Bot)
	d := pageData{Bot: r.Bot, Title: settings["title"], Color: settings["color"], Greeting: settings["greeting"],
		Position: settings["position"], Layout: "page", Start: "/start", Source: r.Query("source"), Lang: r.Query("lang")}
	if r.Query("preview") == "1" {
		// The Share panel's live preview: the settings being edited, the
		// widget as a site shows it, and no conversation started by
		// merely looking.
		for k, v := range map[string]*string{"title": &d.Title, "color": &d.Color, "greeting": &d.Greeting, "position": &d.Position} {
			if q := r.Query(k); q != "" {
				*v = clip(q, 500)
			}
		}
		d.Layout, d.Start = "", ""
	}
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, d)
	if err != nil {
		return channel.Response{Status: http.StatusInternalServerError}
	}
	return channel.Response{ContentType: "text/html; charset=utf-8", Body: b.Bytes()}
}

type pageData struct {
	Bot, Title, Color, Greeting, Position, Layout, Start, Source, Lang string
}

// pageTemplate is the hosted chat: the widget, open, filling the window.
// html/template escapes every value, in attributes too.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{if .Lang}}{{.Lang}}{{else}}ru{{end}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Title}}{{.Title}}{{else}}Чат{{end}}</title>
<style>html,body{margin:0;height:100%;background:#f4f5f7;font-family:system-ui,sans-serif}</style>
</head>
<body>
<script src="/widget/voronka-widget.js" data-bot="{{.Bot}}" data-open="true" data-start="{{.Start}}"
{{- if .Layout}} data-layout="{{.Layout}}"{{end}}
{{- if .Position}} data-position="{{.Position}}"{{end}}
{{- if .Title}} data-title="{{.Title}}"{{end}}
{{- if .Color}} data-accent="{{.Color}}"{{end}}
{{- if .Greeting}} data-greeting="{{.Greeting}}"{{end}}
{{- if .Source}} data-source="{{.Source}}"{{end}}
{{- if .Lang}} data-lang="{{.Lang}}"{{end}}></script>
</body>
</html>
`))

// botChannel is one bot's web chat: sends go through the shared hub.
type botChannel struct {
	hub    *Hub
	status *channel.StatusTracker
}

// Joined implements channel.Noticer.
func (c *botChannel) Joined(ctx context.Context, bot, chat, name string) error {
	return c.hub.Joined(ctx, bot, chat, name)
}

func (c *botChannel) Send(ctx context.Context, msg channel.Outbound) (channel.Sent, error) {
	return c.hub.Send(ctx, msg)
}

func (c *botChannel) Status() channel.Status { return c.status.Status() }
