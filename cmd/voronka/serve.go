package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/voronka/voronka/adapters/telegram"
	"github.com/voronka/voronka/adapters/webchat"
	builderui "github.com/voronka/voronka/builder-ui"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/notify"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/egress"
	"github.com/voronka/voronka/server"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadServeConfig(args, os.Getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voronka serve: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	tuneGC(os.Getenv)
	startPprof(os.Getenv("VORONKA_PPROF"), log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("voronka stopped", "err", err)
		return 1
	}
	return 0
}

// serveGCPercent is the garbage collector's target for `serve` unless GOGC
// says otherwise. Go's default (100) collects whenever the heap doubles;
// the server's live heap is small (tens of MB) and most of what a message
// allocates dies at once, so under load the default spends a fifth of the
// CPU collecting. 400 trades a few tens of MB for most of that CPU;
// GOMEMLIMIT still caps the heap where memory is tight.
const serveGCPercent = 400

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs Voronka until ctx ends. ready, if set, receives the address the
// server listens on (tests listen on port 0).
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, ready chan<- string) error {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := st.Close(cctx); err != nil {
			log.Warn("close store", "err", err)
		}
	}()

	files, err := loadFlowFiles(cfg.Flows, log)
	if err != nil {
		return err
	}
	bots := configuredBots(cfg, files)
	if len(bots) == 0 {
		return fmt.Errorf("no bots: put flow files in %s or list bots in voronka.yaml", cfg.Flows)
	}
	for _, b := range bots {
		if err := setUpBot(ctx, st, b, files, log); err != nil {
			return err
		}
	}

	// The hub and the runtime need each other: the hub hands inbound frames
	// to the runtime, the runtime sends replies through the hub. The hub gets
	// its handler once the runtime exists.
	previews, err := server.SharedPreviewBots(ctx, st, nil)
	if err != nil {
		return err
	}
	flows := server.NewPreviewFlows(runtime.NewStoreFlows(st, 0), st, previews)
	hub := webchat.New(nil, log.With("channel", "web"), webchat.SystemClock{},
		webchat.Options{CheckBot: server.WebChatBots(st, previews), Handoff: server.WebChatHandoff(flows, log),
			Typing: webchat.DefaultOptions.Typing})
	// Telegram adapters are opened without talking to Telegram: each
	// connects in the background once the server serves (see below), so a
	// messenger that is down never keeps the web chat, the builder or the
	// other bots from starting.
	adapters := map[string]*telegram.Adapter{}
	started := time.Now().UTC()
	var board channelBoard
	for _, b := range bots {
		if b.Web == nil || *b.Web {
			board.add(fixedStatus(channel.Status{Bot: b.ID, Type: "web", State: channel.StateConnected, Since: started, Mode: "socket"}))
		}
		if b.Telegram == nil || b.Telegram.Token == "" {
			continue
		}
		api := b.Telegram.API
		if api == "" {
			api = cfg.TelegramAPI
		}
		a, err := telegram.Open(telegram.Config{BotID: b.ID, Token: b.Telegram.Token, APIEndpoint: api,
			Logger: log.With("channel", "telegram"), WebhookSecret: webhookSecret(b.Telegram.Token)})
		if err != nil {
			// A configuration mistake in one bot must not stop the others.
			log.Error("telegram channel not started", "bot", b.ID, "err", err)
			board.add(fixedStatus(channel.Status{Bot: b.ID, Type: telegram.ChannelName, State: channel.StateFailed, Since: started, LastError: err.Error()}))
			continue
		}
		adapters[b.ID] = a
		board.add(a.Status)
	}
	tgLimits := channel.TelegramLimits
	if cfg.TelegramRate > 0 {
		tgLimits.PerSecond = cfg.TelegramRate
		tgLimits.Burst = max(tgLimits.Burst, int(cfg.TelegramRate))
	}
	if cfg.telegramLimits != nil {
		tgLimits = *cfg.telegramLimits
	}
	allow, err := egress.ParseAllowlist(cfg.HTTPAllow)
	if err != nil {
		return fmt.Errorf("http allow-list: %w", err)
	}
	if !allow.Empty() {
		log.Info("webhook nodes may call these internal destinations", "allow", allow.String())
	}
	rt, err := runtime.New(runtime.Config{
		Store: st,
		Flows: flows,
		Channels: map[string]runtime.Channel{
			"telegram": {Sender: server.TelegramSender(adapters), Limits: tgLimits},
			"web":      {Sender: hub, Limits: webchat.Limits(), IsGroup: webchat.IsGroup},
		},
		Logger: log,
		Options: runtime.Options{
			SendHorizon: cfg.sendHorizon,
			Retention:   cfg.retention,
			// Flows name the URLs their webhook nodes call: nothing inside
			// the network unless the deployment allows it.
			HTTPClient: egress.NewClient(egress.Options{Allow: allow}),
		},
	})
	if err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	hub.SetHandler(rt)
	if err := setUpAccounts(ctx, st, log); err != nil {
		return err
	}
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Store: st, Handler: rt, Runtime: rt, Telegram: adapters, WebChat: hub,
		Logger: log, APIToken: cfg.APIToken, PublicURL: cfg.PublicURL, TrustedProxies: proxies, Version: version, UI: builderui.FS(), Preview: previews,
		MetricsToken: cfg.MetricsToken, Channels: board.all,
		WebChatLimits: server.WebChatLimits{MaxConns: webChatConnsFor(cfg.WebChatMaxConns, server.DefaultWebChatLimits.MaxConns, openFilesLimit(), log),
			MaxConnsPerAddr:      cfg.WebChatMaxConnsPerAddr,
			NewSessionsPerMinute: cfg.WebChatNewPerMinute}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var wg sync.WaitGroup
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	// Replicas sharing a MongoDB relay web chat messages for a socket held
	// by another replica through the store; one process (bolt) needs none.
	if ns, ok := st.(store.Notifications); ok {
		bus, err := notify.NewPolled(ctx, ns, notify.PolledOptions{Logger: log})
		if err != nil {
			ln.Close()
			return err
		}
		hub.UseBus(runCtx, bus)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = bus.Run(runCtx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := rt.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("runtime stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		newMemoryReturner(srv.WebChatConnections, log).run(runCtx)
	}()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsListen, err)
		}
		log.Info("metrics are served", "addr", mln.Addr().String())
		go func() {
			if err := srv.ServeMetrics(mln); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}

	chanCtx, stopChannels := context.WithCancel(ctx)
	defer stopChannels()
	for id, a := range adapters {
		opts := telegram.RunOptions{RetryMin: cfg.channelRetry, RetryMax: cfg.channelRetry * 4}
		if cfg.PublicURL != "" {
			opts.WebhookURL = cfg.PublicURL + "/telegram/" + id
		}
		wg.Add(1)
		go func(id string, a *telegram.Adapter) {
			defer wg.Done()
			err := a.Run(chanCtx, rt, opts)
			switch {
			case err == nil:
				log.Info("telegram webhook set", "bot", id, "url", opts.WebhookURL)
			case errors.Is(err, context.Canceled):
			default:
				log.Error("telegram channel is down; the bot does not receive Telegram messages (the web chat and the other bots go on)", "bot", id, "err", err)
			}
		}(id, a)
	}
	addr := ln.Addr().String()
	log.Info("voronka is serving", "addr", addr, "store", storeName(cfg), "bots", len(bots),
		"web_chat", "http://"+displayAddr(addr)+"/", "builder", "http://"+displayAddr(addr)+"/app/")
	if ready != nil {
		ready <- addr
	}

	select {
	case <-ctx.Done():
	case err := <-httpDone:
		if err != nil {
			return err
		}
	}
	log.Info("shutting down: finishing accepted work")
	stopChannels()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := rt.Shutdown(sctx); err != nil {
		log.Warn("runtime shutdown", "err", err)
	}
	stopRun()
	wg.Wait()
	return nil
}

func storeName(cfg serveConfig) string {
	if cfg.MongoURI != "" {
		return "mongodb"
	}
	return "bolt " + cfg.Data
}

func displayAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") {
		_, port, _ := net.SplitHostPort(addr)
		return "localhost:" + port
	}
	return addr
}

func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (store.Store, error) {
	if cfg.MongoURI != "" {
		st, err := mongo.Open(ctx, cfg.MongoURI, cfg.MongoDB, &mongo.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open MongoDB: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Data), 0o755); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	st, err := bolt.Open(cfg.Data, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Data, err)
	}
	return st, nil
}

// webhookSecret derives the webhook secret from the bot token: every
// replica computes the same value without sharing state, and nobody can
// forge it without the token.
func webhookSecret(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("voronka telegram webhook"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// channelBoard collects the state of every channel of the process, for
// /readyz and the builder.
type channelBoard []func() channel.Status

func (b *channelBoard) add(f func() channel.Status) { *b = append(*b, f) }

func (b channelBoard) all() []channel.Status {
	out := make([]channel.Status, len(b))
	for i, f := range b {
		out[i] = f()
	}
	return out
}

// fixedStatus is the state of a channel that does not change while the
// process runs (the web chat; a channel whose configuration is wrong).
func fixedStatus(s channel.Status) func() channel.Status {
	return func() channel.Status { return s }
}

// flowFile is a valid flow document found in the flows folder.
type flowFile struct {
	Path     string
	Doc      []byte
	Flow     *flow.Flow
	Warnings int
}

// loadFlowFiles reads every flow in dir. A broken flow is logged with all
// its problems and left out; it never stops the others from serving.
func loadFlowFiles(dir string, log *slog.Logger) (map[string]flowFile, error) {
	out := map[string]flowFile{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			log.Warn("no flows folder", "path", dir)
			return out, nil
		}
		return nil, fmt.Errorf("read flows folder %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".test.yaml") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) {
			continue
		}
		path := filepath.Join(dir, name)
		doc, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		f, ps := flow.Load(path, doc)
		if ps.HasErrors() {
			log.Error("flow has errors and is not served", "file", path, "problems", ps.Errors().Error())
			continue
		}
		if prev, dup := out[f.ID]; dup {
			log.Error("two files define the same flow id; the first one is served", "id", f.ID, "first", prev.Path, "second", path)
			continue
		}
		out[f.ID] = flowFile{Path: path, Doc: doc, Flow: f, Warnings: len(ps)}
	}
	return out, nil
}

// configuredBots returns the bots of voronka.yaml, or, without one, a web
// chat bot per flow file, the one running VORONKA_FLOW also on Telegram
// when a token is given.
func configuredBots(cfg serveConfig, files map[string]flowFile) []botConfig {
	if len(cfg.Bots) > 0 {
		return cfg.Bots
	}
	var bots []botConfig
	for id, f := range files {
		b := botConfig{ID: id, Name: f.Flow.Name, Flow: id}
		if id == cfg.Flow && cfg.Telegram != "" {
			b.Telegram = &struct {
				Token string `yaml:"token"`
				API   string `yaml:"api"`
			}{Token: cfg.Telegram}
		}
		bots = append(bots, b)
	}
	// The demo page (a coffee shop) talks to bot "demo": the coffee quiz when
	// it is there, else the default flow.
	demo := "coffee-quiz"
	if _, ok := files[demo]; !ok {
		demo = cfg.Flow
	}
	if f, ok := files[demo]; ok {
		bots = append(bots, botConfig{ID: "demo", Name: f.Flow.Name + " (demo)", Flow: demo})
	}
	if _, ok := files[cfg.Flow]; !ok && cfg.Telegram != "" {
		// Telegram was asked for but its flow is missing: say so rather than
		// silently serve nothing there.
		bots = append(bots, botConfig{ID: cfg.Flow, Flow: cfg.Flow, Telegram: &struct {
			Token string `yaml:"token"`
			API   string `yaml:"api"`
		}{Token: cfg.Telegram}})
	}
	return bots
}

// setUpBot stores the bot and publishes its flow file when it changed, so a
// restart with the same files creates no new version and an edited file
// goes live. A draft edited in the builder is left alone.
func setUpBot(ctx context.Context, st store.Store, b botConfig, files map[string]flowFile, log *slog.Logger) error {
	sb := store.Bot{ID: b.ID, Name: b.Name, FlowID: b.Flow, UpdatedAt: time.Now().UTC()}
	if old, err := st.GetBot(ctx, b.ID); err == nil {
		sb.CreatedAt, sb.Settings = old.CreatedAt, old.Settings
	} else {
		sb.CreatedAt = sb.UpdatedAt
	}
	if b.Web == nil || *b.Web {
		sb.Channels = append(sb.Channels, store.Channel{Type: "web"})
	}
	if b.Telegram != nil && b.Telegram.Token != "" {
		sb.Channels = append(sb.Channels, store.Channel{Type: "telegram", Token: b.Telegram.Token})
	}
	if b.TimeZone != "" {
		sb.Settings.TimeZone = b.TimeZone
	}
	if b.QuietHours != "" {
		from, to, ok := strings.Cut(b.QuietHours, "-")
		if !ok {
			return fmt.Errorf("bot %s: quiet_hours %q must look like 21:00-09:00", b.ID, b.QuietHours)
		}
		sb.Settings.QuietHours = &store.QuietHours{Start: strings.TrimSpace(from), End: strings.TrimSpace(to)}
	}
	if len(b.Env) > 0 {
		sb.Settings.AllowedEnv = b.Env
	}
	if err := st.PutBot(ctx, sb); err != nil {
		return fmt.Errorf("save bot %s: %w", b.ID, err)
	}
	f, ok := files[b.Flow]
	if !ok {
		if _, err := st.LatestFlowVersion(ctx, b.ID, b.Flow); err == nil {
			return nil // published before, e.g. from the builder
		}
		log.Error("bot has no flow to run", "bot", b.ID, "flow", b.Flow)
		return nil
	}
	latest, err := st.LatestFlowVersion(ctx, b.ID, b.Flow)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bot %s: latest version of %s: %w", b.ID, b.Flow, err)
	}
	if latest != nil && bytes.Equal(latest.Doc, f.Doc) {
		return nil
	}
	draft, derr := st.GetDraft(ctx, b.ID, b.Flow)
	v, err := st.PublishFlow(ctx, store.FlowVersion{Bot: b.ID, FlowID: b.Flow, Doc: f.Doc, Note: "from " + f.Path,
		PublishedAt: time.Now().UTC(), PublishedBy: "voronka serve", Name: f.Flow.Name})
	if err != nil {
		return fmt.Errorf("bot %s: publish %s: %w", b.ID, f.Path, err)
	}
	log.Info("flow published", "bot", b.ID, "flow", b.Flow, "version", v.Version, "file", f.Path)
	if errors.Is(derr, store.ErrNotFound) || (derr == nil && latest != nil && bytes.Equal(draft.Doc, latest.Doc)) {
		if err := st.PutDraft(ctx, store.FlowDraft{Bot: b.ID, FlowID: b.Flow, Doc: f.Doc, UpdatedAt: time.Now().UTC(), UpdatedBy: "voronka serve",
			Name: f.Flow.Name, Warnings: f.Warnings}); err != nil {
			return fmt.Errorf("bot %s: draft of %s: %w", b.ID, b.Flow, err)
		}
	}
	return nil
}

// setUpAccounts makes sure somebody can sign in to the builder. When the
// store has no users, it creates the first admin from VORONKA_ADMIN_LOGIN
// and VORONKA_ADMIN_PASSWORD, or else an "admin" with a random password
// that it logs once (change it, or add users with voronka user add).
func setUpAccounts(ctx context.Context, st store.Store, log *slog.Logger) error {
	login, password := os.Getenv("VORONKA_ADMIN_LOGIN"), os.Getenv("VORONKA_ADMIN_PASSWORD")
	generated := false
	if login == "" || password == "" {
		users, err := st.ListUsers(ctx)
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		if len(users) > 0 {
			return nil
		}
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		login, password, generated = "admin", base64.RawURLEncoding.EncodeToString(b), true
	}
	created, err := server.EnsureAdmin(ctx, st, login, password)
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	switch {
	case created && generated:
		log.Warn("first admin created with a random password: sign in to the builder with it and keep it safe (or set VORONKA_ADMIN_LOGIN/VORONKA_ADMIN_PASSWORD before the first start)",
			"login", login, "password", password)
	case created:
		log.Info("first admin created", "login", login)
	}
	return nil
}
