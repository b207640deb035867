package main

import (
	"bytes"
	"context"
	"crypto/rand"
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

	builderui "github.com/voronka/voronka/builder-ui"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/live"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/notify"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/egress"
	"github.com/voronka/voronka/internal/sealed"
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

	box, err := sealed.New(cfg.SecretKey)
	if err != nil {
		return err
	}
	files, err := loadFlowFiles(cfg.Flows, log)
	if err != nil {
		return err
	}
	bots := configuredBots(cfg, files)
	for _, b := range bots {
		if err := setUpBot(ctx, st, b, files, box, log); err != nil {
			return err
		}
	}
	if stored, err := st.ListBots(ctx); err != nil {
		return fmt.Errorf("list bots: %w", err)
	} else if len(stored) == 0 {
		log.Info("no bots yet: create one in the builder (Боты и каналы) or with POST /api/bots")
	}
	warnUnsealed(ctx, st, box, log)

	// Replicas sharing a MongoDB relay what another replica must learn now
	// (web chat messages for a socket held elsewhere) through the store;
	// one process (bolt) needs none.
	var bus notify.Bus
	var polled *notify.Polled
	if ns, ok := st.(store.Notifications); ok {
		if polled, err = notify.NewPolled(ctx, ns, notify.PolledOptions{Logger: log}); err != nil {
			return err
		}
		bus = polled
	}

	previews, err := server.SharedPreviewBots(ctx, st, nil)
	if err != nil {
		return err
	}
	flows := server.NewPreviewFlows(runtime.NewStoreFlows(st, 0), st, previews)
	botInfo := server.NewBotInfo(st, previews, flows, log)
	owner := processOwner()
	// Every channel of every bot in the store runs through the live set:
	// built here without talking to any messenger, connected in the
	// background once the server serves (a messenger that is down never
	// keeps the web chat, the builder or the other bots from starting),
	// and kept in step with the store as bots and channels change.
	limits := map[string]channel.Limits{}
	if cfg.TelegramRate > 0 {
		l := channel.TelegramLimits
		l.PerSecond = cfg.TelegramRate
		l.Burst = max(l.Burst, int(cfg.TelegramRate))
		limits["telegram"] = l
	}
	if cfg.telegramLimits != nil {
		limits["telegram"] = *cfg.telegramLimits
	}
	for name, rate := range cfg.ChannelRates {
		t, ok := channel.Registered().Lookup(name)
		if !ok {
			return fmt.Errorf("channel_rates: no channel type %q", name)
		}
		l := t.Limits
		l.PerSecond, l.Burst = rate, max(l.Burst, int(rate))
		limits[name] = l
	}
	set, err := live.New(live.Config{Store: st, Registry: channel.Registered(), Box: box, Owner: owner, Logger: log,
		Limits: limits, APIURLs: map[string]string{"telegram": cfg.TelegramAPI},
		Borrows: func(bot string) bool { return strings.HasPrefix(bot, server.PreviewBotPrefix) },
		Env:     channel.Env{Logger: log, PublicURL: cfg.PublicURL, RetryMin: cfg.channelRetry, Bus: bus, Bots: botInfo}})
	if err != nil {
		return err
	}
	chans := map[string]runtime.Channel{}
	for _, t := range set.Types() {
		chans[t.Name] = runtime.Channel{Sender: set.Sender(t.Name), Limits: set.Limits(t), IsGroup: t.IsGroup,
			Window: t.Caps.FreeFormWindow}
	}
	allow, err := egress.ParseAllowlist(cfg.HTTPAllow)
	if err != nil {
		return fmt.Errorf("http allow-list: %w", err)
	}
	if !allow.Empty() {
		log.Info("webhook nodes may call these internal destinations", "allow", allow.String())
	}
	rt, err := runtime.New(runtime.Config{
		Store:    st,
		Flows:    flows,
		Channels: chans,
		Logger:   log,
		Options: runtime.Options{
			SendHorizon: cfg.sendHorizon,
			Retention:   cfg.retention,
			// Flows name the URLs their webhook nodes call: nothing inside
			// the network unless the deployment allows it.
			HTTPClient: egress.NewClient(egress.Options{Allow: allow}),
			Owner:      owner,
		},
	})
	if err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	set.SetHandler(rt)
	if err := setUpAccounts(ctx, st, log); err != nil {
		return err
	}
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Store: st, Handler: rt, Runtime: rt, Live: set, Bots: botInfo, Box: box,
		Logger: log, APIToken: cfg.APIToken, PublicURL: cfg.PublicURL, TrustedProxies: proxies, Version: version, UI: builderui.FS(), Preview: previews,
		MetricsToken: cfg.MetricsToken,
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
	if polled != nil {
		srv.UseBus(runCtx, polled)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = polled.Run(runCtx)
		}()
	}
	// The channels exist before the first request; they connect to their
	// messengers in the background.
	if err := set.Reconcile(ctx); err != nil {
		log.Warn("channels not started yet; retrying", "err", err)
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Analytics rollups: pending events folded every second, off the message path.
		(&analytics.Roller{St: st, Log: log}).Run(runCtx)
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

	chanCtx, stopChannels := context.WithCancel(context.Background())
	defer stopChannels()
	chansDone := make(chan struct{})
	go func() {
		defer close(chansDone)
		_ = set.Run(chanCtx)
	}()
	addr := ln.Addr().String()
	log.Info("voronka is serving", "addr", addr, "store", storeName(cfg), "configured_bots", len(bots),
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
	// Receivers stop and give their leases back, so another replica
	// takes over polling at once.
	stopChannels()
	<-chansDone
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
	// The demo page (a coffee shop) talks to bot "demo" (named in Russian,
	// like the examples): the coffee quiz when it is there, else the default
	// flow.
	demo := "coffee-quiz"
	if _, ok := files[demo]; !ok {
		demo = cfg.Flow
	}
	if f, ok := files[demo]; ok {
		bots = append(bots, botConfig{ID: "demo", Name: f.Flow.Name + " (демо)", Flow: demo})
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

// setUpBot stores a bot that voronka.yaml, the environment or the flows
// folder declares (config as code, marked so in the builder) and
// publishes its flow file when it changed, so a restart with the same
// files creates no new version and an edited file goes live. A draft
// edited in the builder is left alone, and so are channels connected in
// the builder to a type the configuration does not declare.
func setUpBot(ctx context.Context, st store.Store, b botConfig, files map[string]flowFile, box *sealed.Box, log *slog.Logger) error {
	sb := store.Bot{ID: b.ID, Name: b.Name, FlowID: b.Flow, UpdatedAt: time.Now().UTC(), ConfigAsCode: true}
	var old *store.Bot
	if o, err := st.GetBot(ctx, b.ID); err == nil {
		old = o
		sb.CreatedAt, sb.Settings = old.CreatedAt, old.Settings
		if sb.Name == "" {
			sb.Name = old.Name
		}
	} else {
		sb.CreatedAt = sb.UpdatedAt
	}
	if sb.Name == "" {
		sb.Name = b.ID
	}
	if b.Web == nil || *b.Web {
		sb.Channels = append(sb.Channels, store.Channel{ID: "web", Type: "web"})
	}
	if b.Telegram != nil && b.Telegram.Token != "" {
		c := store.Channel{ID: "telegram", Type: "telegram", APIURL: b.Telegram.API}
		if old != nil {
			if prev, ok := findChannel(old, "telegram"); ok {
				c.Account, c.Link, c.DeepLink, c.Settings = prev.Account, prev.Link, prev.DeepLink, prev.Settings
				if tok, err := box.Open(prev.Token); err == nil && tok == b.Telegram.Token && sealed.IsSealed(prev.Token) == box.Encrypts() {
					c.Token = prev.Token // unchanged: keep the stored form, so the channel is not rebuilt
				}
			}
		}
		if c.Token == "" {
			tok, err := box.Seal(b.Telegram.Token)
			if err != nil {
				return fmt.Errorf("bot %s: %w", b.ID, err)
			}
			c.Token = tok
		}
		sb.Channels = append(sb.Channels, c)
	}
	if old != nil {
		for _, c := range old.Channels {
			if _, declared := findChannel(&sb, c.Type); !declared {
				sb.Channels = append(sb.Channels, c)
			}
		}
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
	if b.StopWords != nil {
		sb.Settings.StopWords = append([]string{}, *b.StopWords...)
	}
	if b.BroadcastsPerWeek > 0 {
		sb.Settings.BroadcastsPerWeek = b.BroadcastsPerWeek
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

func findChannel(b *store.Bot, typ string) (store.Channel, bool) {
	for _, c := range b.Channels {
		if c.Type == typ {
			return c, true
		}
	}
	return store.Channel{}, false
}

// warnUnsealed says once at start-up what the secret key means for the
// stored tokens: without one they are stored as they are; a sealed one
// this key cannot open keeps its channel down.
func warnUnsealed(ctx context.Context, st store.Bots, box *sealed.Box, log *slog.Logger) {
	bots, err := st.ListBots(ctx)
	if err != nil {
		return
	}
	plain := 0
	for _, b := range bots {
		for _, c := range b.Channels {
			switch {
			case c.Token == "":
			case sealed.IsSealed(c.Token):
				if _, err := box.Open(c.Token); err != nil {
					log.Error("a channel token cannot be decrypted; the channel stays down", "bot", b.ID, "type", c.Type, "err", err)
				}
			default:
				plain++
			}
		}
	}
	if plain > 0 && !box.Encrypts() {
		log.Warn("channel tokens are stored unencrypted: set VORONKA_SECRET_KEY to encrypt them (AES-GCM) as they are next saved", "tokens", plain)
	}
}

// processOwner names this process in leases: host, pid and a random part.
func processOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
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
