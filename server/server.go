// Package server is Voronka's HTTP face, built on Fiber: Telegram webhooks,
// the web chat socket, health, readiness and metrics, and the REST API the
// builder and the inbox use. It wires the runtime to the adapters; it holds
// no conversation state of its own.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/live"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/sealed"
)

// Config is what the server serves. Store and Handler are required.
type Config struct {
	Store   store.Store
	Handler channel.Handler // the runtime, usually
	// Runtime gives /metrics its counters and the API handback; optional in tests.
	Runtime *runtime.Runtime
	// Live is the process's live channel set: the server serves every
	// channel type's webhooks (/{type}/{bot}), sockets, pages and files,
	// and the channels API changes it. Nil serves no channel.
	Live *live.Set
	// Bots answers the sockets' questions about bots before an upgrade
	// (the same value the adapters got in channel.Env.Bots).
	Bots channel.BotInfo
	// Box seals channel tokens before they are stored (nil: stored as they are).
	Box    *sealed.Box
	Logger *slog.Logger
	// APIToken lets automation use /api with "Authorization: Bearer <token>"
	// and admin rights; people sign in with a session cookie instead. Without
	// a token and without users, the API lets nobody in.
	APIToken string
	// PublicURL is where users reach the server; an https URL makes session
	// cookies Secure even behind a TLS-terminating proxy.
	PublicURL string
	// TrustedProxies are reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For names the client: the sign-in limit per address and
	// the logs then see the person, not the proxy. Without them the header
	// is ignored, as anyone could send it.
	TrustedProxies []string
	// SessionTTL is how long an unused session lives [12h].
	SessionTTL time.Duration
	// Now is the clock of sessions and sign-in limits [time.Now]; tests move it.
	Now     func() time.Time
	Version string
	// BodyLimit bounds every request body [1 MiB]: Telegram updates and API
	// documents are far smaller, a 100 MB body is refused before it is read.
	BodyLimit int
	// ReadTimeout, WriteTimeout and IdleTimeout bound slow clients [30s, 30s, 120s].
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Preview issues the bot ids of the builder's preview; nil switches the preview off.
	Preview *PreviewBots
	// UI is the built builder (builder-ui), served at /app/; the web chat
	// demo page stays at /.
	UI fs.FS
	// MetricsToken puts /metrics on the public port, for scrapers that send
	// "Authorization: Bearer <token>". Without it the public port has no
	// /metrics; ServeMetrics serves them on a listener of their own (with
	// the token too, when one is set).
	MetricsToken string
	// WebChatLimits cap the web chat socket's connections and new chats
	// [DefaultWebChatLimits].
	WebChatLimits WebChatLimits
	// Channels reports the state of every bot's channels, for /readyz,
	// /metrics and GET /api/bots/{bot}/channels; nil reports Live's.
	Channels func() []channel.Status
}

// proxyHeader is X-Forwarded-For when there are proxies to believe it from.
func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// Server is the HTTP server of one Voronka process.
type Server struct {
	cfg        Config
	app        *fiber.App
	metricsApp *fiber.App // ServeMetrics' own listener
	log        *slog.Logger
	sessions   *sessions
	signins    *signinLimiter
	// dummyHash is checked for unknown logins, made once on first use.
	dummyOnce sync.Once
	dummyHash []byte
	reqs      struct {
		ok, clientErr, serverErr atomic.Uint64
	}
	webChat        *webChatGate
	webChatRefused atomic.Uint64
	bots           channel.BotInfo
	healths        healthCache
	events         *inboxHub
	tally          queueTally
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Handler == nil {
		return nil, errors.New("server: Store and Handler are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Channels == nil && cfg.Live != nil {
		cfg.Channels = cfg.Live.Statuses
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sessions: newSessions(cfg.Store, cfg.SessionTTL, cfg.Now, cfg.Logger),
		signins: newSigninLimiter(cfg.Now), webChat: newWebChatGate(cfg.WebChatLimits, cfg.Now), bots: cfg.Bots}
	s.app = fiber.New(fiber.Config{
		AppName:               "voronka",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		// Behind a load balancer the client address comes from the proxy;
		// without one, X-Forwarded-For must not be trusted.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
		// The header's first valid address, not whatever text it holds.
		EnableIPValidation: true,
		// An idle keep-alive connection gives its read and write buffers
		// back to the pool instead of holding 8 KB while it waits.
		ReduceMemoryUsage: true,
	})
	s.events = newInboxHub(s)
	if cfg.Runtime != nil {
		cfg.Runtime.SetInboxObserver(s.events)
	}
	s.app.Use(recover.New(recover.Config{EnableStackTrace: false}))
	s.app.Use(s.count)
	s.app.Use(securityHeaders)
	s.routes()
	s.metricsApp = fiber.New(fiber.Config{AppName: "voronka-metrics", DisableStartupMessage: true,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, ErrorHandler: s.errorHandler})
	s.metricsApp.Get("/metrics", s.metricsAuth, s.metrics)
	return s, nil
}

// App exposes the Fiber app, for tests (app.Test) and for mounting.
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown. Accept errors, a full file table
// included, are waited out and retried, never the end of serving.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.app.Listener(newRetryListener(ln, s.log)); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// ServeMetrics serves /metrics alone on ln (VORONKA_METRICS_LISTEN), an
// address scrapers reach and the public does not, until Shutdown.
func (s *Server) ServeMetrics(ln net.Listener) error {
	if err := s.metricsApp.Listener(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.events.close() // event streams never end on their own
	if err := s.metricsApp.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("shut down metrics: %w", err)
	}
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}

func (s *Server) routes() {
	app := s.app
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok", "version": s.cfg.Version})
	})
	app.Get("/readyz", s.ready)
	app.Get("/favicon.ico", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	if s.cfg.MetricsToken != "" {
		app.Get("/metrics", s.metricsAuth, s.metrics)
	}
	app.Use("/api", noFraming(apiCSP), s.sameOrigin)
	s.mountAuth(app)
	api := app.Group("/api", s.guard)
	s.mountAPI(api)
	root := s.mountChannels()
	s.mountUI()
	for _, f := range root {
		app.Use("/", filesystem.New(filesystem.Config{Root: http.FS(f.FS), Index: f.Index, MaxAge: f.MaxAge}))
	}
}

// utf8Scripts names UTF-8 on the widget's script: without a charset a
// browser reads a classic script in the host page's encoding, and the
// widget's Russian text would be garbled on a windows-1251 site.
func utf8Scripts(c *fiber.Ctx) error {
	err := c.Next()
	if ct := string(c.Response().Header.ContentType()); strings.HasPrefix(ct, "text/javascript") && !strings.Contains(ct, "charset") {
		c.Set(fiber.HeaderContentType, ct+"; charset=utf-8")
	}
	return err
}

// count tallies responses by class for /metrics.
func (s *Server) count(c *fiber.Ctx) error {
	err := c.Next()
	code := c.Response().StatusCode()
	var fe *fiber.Error
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		code = ae.Status
	case errors.As(err, &fe):
		code = fe.Code
	case err != nil:
		code = 500
	}
	switch {
	case code >= 500:
		s.reqs.serverErr.Add(1)
	case code >= 400:
		s.reqs.clientErr.Add(1)
	default:
		s.reqs.ok.Add(1)
	}
	return err
}

// apiError is an error with the status and JSON body a client gets.
type apiError struct {
	Status  int
	Msg     string
	Details any
}

func (e *apiError) Error() string { return e.Msg }

func badRequest(msg string, details any) error {
	return &apiError{Status: fiber.StatusBadRequest, Msg: msg, Details: details}
}

func notFound(what string) error {
	return &apiError{Status: fiber.StatusNotFound, Msg: what + " not found"}
}

// errorHandler answers every error as {error, details} and never leaks a
// stack trace or an internal error text to the client; the log has those.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var ae *apiError
	var fe *fiber.Error
	body := fiber.Map{}
	status := fiber.StatusInternalServerError
	switch {
	case errors.As(err, &ae):
		status, body["error"] = ae.Status, ae.Msg
		if ae.Details != nil {
			body["details"] = ae.Details
		}
	case errors.As(err, &fe):
		status, body["error"] = fe.Code, strings.ToLower(fe.Message)
	case errors.Is(err, store.ErrNotFound):
		status, body["error"] = fiber.StatusNotFound, "not found"
	case errors.Is(err, store.ErrVersionConflict):
		status, body["error"] = fiber.StatusConflict, "changed by someone else, reload and retry"
	case errors.Is(err, context.DeadlineExceeded):
		status, body["error"] = fiber.StatusServiceUnavailable, "timed out"
	default:
		body["error"] = "internal error"
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}
	return c.Status(status).JSON(body)
}
