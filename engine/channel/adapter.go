package channel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/voronka/voronka/engine/notify"
)

// The adapter shape. A messenger is one package under adapters/ that
// registers a Type in its init function:
//
//	func init() { channel.Register(channel.Type{Name: "viber", Caps: …, Limits: …, Open: open}) }
//
// and is compiled in by one blank import in cmd/voronka/adapters.go. The
// server and cmd/voronka name no adapter: they serve every registered
// type's routes, and the live channel set (engine/channel/live) builds
// each bot's stored channels through Type.Open and Adapter.Build.
//
// A Type is opened once per process with an Env (Open → Adapter); the
// Adapter builds one Channel per stored channel of a bot (Build, from a
// Config: token, secret, settings, API URL). A Channel sends and reports
// its Status; it may also implement Receiver (webhook routes under
// /{type}/{bot}, GET included), Runner (long polling or webhook
// registration, run on one replica at a time under a lease in the store),
// Checker (the token check when the channel is connected), Healther (the
// platform's view of the webhook) and Remover (undo Run when the channel is
// deleted). An Adapter may implement SocketServer and FileServer for what
// is served once per process rather than per bot (the web chat's socket
// and widget).

// Capabilities are what a messenger can show and tell. The flow validator
// warns about buttons nodes that exceed the capabilities of a bot's
// channels; senders split texts longer than TextLen themselves.
type Capabilities struct {
	// ButtonsPerMessage is the most buttons one message carries (0: none).
	ButtonsPerMessage int `json:"buttons_per_message"`
	// ButtonTitleLen is the longest button title shown whole, in
	// characters (0: no practical limit).
	ButtonTitleLen int `json:"button_title_len,omitempty"`
	// ListAbove is how many buttons are shown as buttons; more become a
	// list (WhatsApp: 3). 0: never a list.
	ListAbove int `json:"list_above,omitempty"`
	// TextLen is the longest text of one message, in characters (0: no
	// practical limit). Longer texts are split by the adapter.
	TextLen int `json:"text_len,omitempty"`
	// DeliveryReceipts and ReadReceipts say whether the platform reports
	// that a message arrived and that it was read.
	DeliveryReceipts bool `json:"delivery_receipts"`
	ReadReceipts     bool `json:"read_receipts"`
	// StartsConversations says the bot may write first to someone who
	// never wrote to it (a broadcast to a phone number); false means only
	// people who wrote (or opened the chat) can be reached.
	StartsConversations bool `json:"starts_conversations"`
	// FreeFormWindow, when set, is how long after the person's last message
	// the platform takes free-form messages (WhatsApp: 24 h); after it only
	// an approved template goes.
	FreeFormWindow time.Duration `json:"-"`
}

// Type is one kind of channel: a messenger. Name is the {type} of its
// routes, Inbound.Channel of its updates and the channel name in the store.
type Type struct {
	Name  string // "telegram", "web", "whatsapp"…; a-z only
	Title string // "Telegram", for people
	Caps  Capabilities
	// Limits are the platform's send rates, enforced by the runtime.
	Limits Limits
	// IsGroup tells group chats from private ones for the per-group rate;
	// nil means Telegram's rule (group chat ids start with "-").
	IsGroup func(chat string) bool
	// NeedsToken says a channel of this type cannot be connected without a
	// token (the API refuses one without).
	NeedsToken bool
	// Settings lists the keys of Config.Settings the type reads, for the
	// API's validation and the builder's form; others are refused.
	Settings []string
	// Open starts the type in a process. It must not talk to the platform.
	Open func(env Env) (Adapter, error)
}

// Env is what a process gives each adapter once, at Open.
type Env struct {
	// Handler takes every inbound update (the runtime).
	Handler Handler
	Logger  *slog.Logger
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
	// HTTPClient calls the platform; nil means the adapter's default.
	HTTPClient *http.Client
	// PublicURL is where the platform reaches this server ("" if it
	// cannot: poll where the platform allows).
	PublicURL string
	// APIURL overrides the platform's API base for every channel of the
	// type that does not set its own (a fake in tests, a self-hosted Bot
	// API server); "" is the platform's.
	APIURL string
	// RetryMin is the first back-off of a channel that cannot reach its
	// platform (0: the adapter's default); tests shorten it.
	RetryMin time.Duration
	// Bus reaches the other replicas (nil: this process is alone).
	Bus notify.Bus
	// Bots answers questions about bots an adapter may have (nil: every
	// bot is unknown to CheckBot, and nobody hands off).
	Bots BotInfo
}

// BotInfo is what an adapter may ask about the bots it serves.
type BotInfo interface {
	// CheckBot returns nil when bot may chat on channels of type typ (it
	// exists and has such a channel, or is a live preview), an error
	// wrapping ErrUnknownBot when it may not, another error when that
	// cannot be told now.
	CheckBot(ctx context.Context, typ, bot string) error
	// HandoffText is a text that takes a conversation of bot to a person
	// in the flow new conversations start on, "" when there is none.
	HandoffText(ctx context.Context, bot string) string
	// ChannelSettings are the stored settings of bot's channel of type typ
	// (nil when it has none).
	ChannelSettings(ctx context.Context, typ, bot string) map[string]string
}

// ErrUnknownBot means a bot does not exist or has no channel of the type.
var ErrUnknownBot = errors.New("unknown bot")

// Adapter is a Type opened in a process: it builds channels.
type Adapter interface {
	// Build makes the channel cfg describes, without talking to the
	// platform (Checker and Runner do that). A bad configuration is an
	// error wrapping ErrBadConfig.
	Build(cfg Config) (Channel, error)
}

// ErrBadConfig means a channel's configuration cannot work (a malformed
// token or API URL, an unknown setting); retrying cannot help.
var ErrBadConfig = errors.New("bad channel configuration")

// Config is one stored channel of a bot, its secrets decrypted.
type Config struct {
	// ID is the channel's id within its bot.
	ID  string
	Bot string
	// Token authenticates us to the platform; Secret checks what the
	// platform sends us (an app secret for signatures), when it has one.
	Token  string
	Secret string
	// APIURL overrides the platform's API base ("" is Env.APIURL, or the
	// platform's own).
	APIURL   string
	Settings map[string]string
	// WebhookURL is PublicURL + "/{type}/{bot}", "" without a public URL.
	WebhookURL string
}

// Channel is one bot's connection to one messenger.
type Channel interface {
	Sender
	// Status is the channel's state as this process sees it.
	Status() Status
}

// Receiver is a channel that takes webhooks: the server serves its routes
// under /{type}/{bot}.
type Receiver interface {
	Routes() []Route
}

// Route is one webhook endpoint of a channel. Handle answers 2xx only once
// what it received is recorded (Handler.Handle returned nil), so the
// platform redelivers what a crash would lose.
type Route struct {
	Method string // "GET", "POST"…
	// Path follows /{type}/{bot}: "" for the root, or "/status" and the like.
	Path   string
	Handle func(ctx context.Context, r *Request) Response
}

// Request is a webhook request, free of any HTTP framework.
type Request struct {
	// Bot is the {bot} of the path.
	Bot    string
	Method string
	Path   string // after /{type}/{bot}
	Header func(name string) string
	Query  func(name string) string
	Body   []byte
}

// Response is what a Route answers.
type Response struct {
	Status      int // 0 is 200
	ContentType string
	Body        []byte
}

// Runner is a channel that must act to receive updates: register its
// webhook, or long-poll. The live set runs Run on one replica at a time
// per channel (a lease in the store), with the channel's status shared
// with the others. Run returns nil once a webhook is set up, keeps polling
// until ctx ends otherwise, retries passing failures itself, and returns an
// error wrapping ErrBadConfig (or the platform's refusal) when retrying
// cannot help.
type Runner interface {
	Run(ctx context.Context) error
}

// Checker is a channel that can check its token before it is saved:
// Check asks the platform who the bot is.
type Checker interface {
	Check(ctx context.Context) (Account, error)
}

// Account is who a channel's bot is on its platform.
type Account struct {
	Name string `json:"name"`           // "@shop_bot"
	Link string `json:"link,omitempty"` // "https://t.me/shop_bot"
	// DeepLink is Link with a start payload placeholder "{payload}", when
	// the platform carries one ("https://t.me/shop_bot?start={payload}").
	DeepLink string `json:"deep_link,omitempty"`
}

// Healther is a channel whose platform reports on its webhook.
type Healther interface {
	Health(ctx context.Context) (Health, error)
}

// Health is the platform's view of a channel.
type Health struct {
	// LastError is the platform's last delivery error ("" if none), and
	// LastErrorAt when it happened.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Pending is how many updates wait at the platform.
	Pending int `json:"pending"`
	// Webhook is the URL the platform delivers to ("" when polling).
	Webhook string `json:"webhook,omitempty"`
}

// Remover is a channel that leaves something at the platform (a webhook):
// Remove undoes it when the channel is deleted (not when a process stops).
type Remover interface {
	Remove(ctx context.Context) error
}

// SocketServer is an adapter that takes connections of its own (the web
// chat's WebSocket at SocketPath), once per process, not per bot.
type SocketServer interface {
	SocketPath() string
	// ServeSocket speaks on conn until it closes; bot is the ?bot= of the
	// request ("" when the client names it later), admit is asked before a
	// new conversation starts.
	ServeSocket(ctx context.Context, conn SocketConn, bot string, admit func() error) error
}

// SocketConn is the part of a WebSocket connection an adapter uses: the
// method set of gorilla/websocket and Fiber's websocket.Conn.
type SocketConn interface {
	ReadMessage() (messageType int, data []byte, err error)
	WriteMessage(messageType int, data []byte) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// FileServer is an adapter with files to serve (the widget, a demo page).
type FileServer interface {
	Files() []Files
}

// Files are served under Prefix; a Prefix of "/" is served last, after
// every other route, with Index for directories.
type Files struct {
	Prefix string
	FS     fs.FS
	Index  string
	MaxAge int // seconds
}

// Pager is an adapter with pages of its own for each bot, at fixed paths
// with a {bot} parameter (the hosted web chat at /c/{bot}).
type Pager interface {
	Pages() []Route // Route.Path is absolute: "/c/{bot}"
}

// Gauger is an adapter with figures for /metrics.
type Gauger interface {
	Gauges() []Gauge
}

// Gauge is one metric: Name (voronka_…), Help, and its value.
type Gauge struct {
	Name, Help string
	Value      int64
}

// Registry is a set of channel types by name. Tests make their own with
// NewRegistry; the binary uses Registered, filled by the adapters' init.
type Registry struct {
	mu    sync.RWMutex
	types map[string]Type
}

// NewRegistry returns a registry of types (each checked as Add does).
func NewRegistry(types ...Type) (*Registry, error) {
	r := &Registry{types: map[string]Type{}}
	for _, t := range types {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add adds t; a second type of the same name, an empty or non a-z name or
// a missing Open is an error.
func (r *Registry) Add(t Type) error {
	if t.Name == "" || len(t.Name) > 32 || !isLower(t.Name) {
		return fmt.Errorf("channel type %q: the name must be 1-32 letters a-z", t.Name)
	}
	if t.Open == nil {
		return fmt.Errorf("channel type %s: Open is nil", t.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("channel type %s registered twice", t.Name)
	}
	if t.Title == "" {
		t.Title = t.Name
	}
	t.Settings = slices.Clone(t.Settings)
	r.types[t.Name] = t
	return nil
}

// Lookup returns the type named name.
func (r *Registry) Lookup(name string) (Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Types returns every type, sorted by name.
func (r *Registry) Types() []Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Type) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// registered is the one package-level registry: adapters are compiled in
// by blank imports (a new messenger is its package plus one import line),
// and an import cannot hand a value to anyone, so their init functions
// add themselves here. Nothing else is global: the binary takes a copy
// with Registered and passes that around; tests build their own.
var registered = &Registry{types: map[string]Type{}}

// Register adds an adapter's type to the process's registry; adapters
// call it from init. A bad or duplicate type panics, at start-up, as a
// duplicate database/sql driver does: it is a programming error.
func Register(t Type) {
	if err := registered.Add(t); err != nil {
		panic(err)
	}
}

// Registered returns a copy of the types adapters registered.
func Registered() *Registry {
	r, _ := NewRegistry(registered.Types()...)
	return r
}
