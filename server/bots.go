package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/store"
)

// mountBots registers the routes that create, change and delete bots and
// their channels (marketers and admins).
func (s *Server) mountBots(api fiber.Router) {
	flows := allow(store.RoleMarketer)
	api.Post("/bots", flows, s.createBot)
	api.Put("/bots/:bot", flows, s.updateBot)
	api.Delete("/bots/:bot", flows, s.deleteBot)
	api.Post("/bots/:bot/channels", flows, s.addChannel)
	api.Put("/bots/:bot/channels/:id", flows, s.updateChannel)
	api.Delete("/bots/:bot/channels/:id", flows, s.deleteChannel)
	api.Get("/channel-types", allow(store.RoleMarketer, store.RoleOperator), s.channelTypes)
}

// botBody is what POST /api/bots and PUT /api/bots/{bot} take; absent
// fields keep their value on PUT.
type botBody struct {
	ID       string  `json:"id"`
	Name     *string `json:"name"`
	FlowID   *string `json:"flow_id"`
	Settings *struct {
		TimeZone     *string             `json:"time_zone"`
		QuietHours   *store.QuietHours   `json:"quiet_hours"`
		WorkingHours *store.WorkingHours `json:"working_hours"`
		AllowedEnv   *[]string           `json:"allowed_env"`
		// Clear names settings to remove: "quiet_hours", "working_hours".
		Clear []string `json:"clear"`
	} `json:"settings"`
	// Web, on POST, says whether the bot starts with the channels that need
	// no token, the web chat (default true: the Share panel works at once).
	Web *bool `json:"web"`
	// Rev, on PUT, is the revision the change was made on: when the bot
	// has changed since, the answer is 409 instead of a silent overwrite.
	Rev *int64 `json:"rev"`
}

func readBotBody(c *fiber.Ctx) (botBody, error) {
	var b botBody
	if err := json.Unmarshal(c.Body(), &b); err != nil {
		return b, badRequest("the body must be a JSON object", err.Error())
	}
	return b, nil
}

// apply checks body and writes it into b; ctx and st check the flow.
func (s *Server) applyBot(ctx context.Context, b *store.Bot, body botBody) error {
	if body.Name != nil {
		name := strings.TrimSpace(*body.Name)
		if name == "" || utf8.RuneCountInString(name) > 100 {
			return badRequest("name: 1-100 characters", nil)
		}
		b.Name = name
	}
	if body.FlowID != nil && *body.FlowID != b.FlowID {
		id := *body.FlowID
		if id != "" {
			if _, err := s.cfg.Store.LatestFlowVersion(ctx, b.ID, id); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: fmt.Sprintf("flow %q of bot %s has no published version: publish it first", id, b.ID)}
				}
				return fmt.Errorf("check flow %s: %w", id, err)
			}
		}
		b.FlowID = id
	}
	if st := body.Settings; st != nil {
		if st.TimeZone != nil {
			if *st.TimeZone != "" {
				if _, err := time.LoadLocation(*st.TimeZone); err != nil {
					return badRequest(fmt.Sprintf("time_zone %q is not an IANA time zone such as Europe/Moscow", *st.TimeZone), nil)
				}
			}
			b.Settings.TimeZone = *st.TimeZone
		}
		if st.QuietHours != nil {
			if err := checkQuietHours(*st.QuietHours); err != nil {
				return badRequest(err.Error(), nil)
			}
			q := *st.QuietHours
			b.Settings.QuietHours = &q
		}
		if st.WorkingHours != nil {
			if err := st.WorkingHours.Validate(); err != nil {
				return badRequest(err.Error(), nil)
			}
			w := *st.WorkingHours
			b.Settings.WorkingHours = &w
		}
		if st.AllowedEnv != nil {
			env := []string{}
			for _, n := range *st.AllowedEnv {
				n = strings.TrimSpace(n)
				if n == "" {
					continue
				}
				if !envNameOK(n) {
					return badRequest(fmt.Sprintf("allowed_env: %q is not a variable name (A-Z, 0-9, _)", n), nil)
				}
				if strings.HasPrefix(n, "VORONKA_") {
					return badRequest(fmt.Sprintf("allowed_env: %s is Voronka's own setting and may not be read by flows", n), nil)
				}
				env = append(env, n)
			}
			b.Settings.AllowedEnv = env
		}
		for _, c := range st.Clear {
			switch c {
			case "quiet_hours":
				b.Settings.QuietHours = nil
			case "working_hours":
				b.Settings.WorkingHours = nil
			default:
				return badRequest(fmt.Sprintf("settings.clear: %q is not quiet_hours or working_hours", c), nil)
			}
		}
	}
	return nil
}

func envNameOK(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' && i > 0 || c == '_') {
			return false
		}
	}
	return len(n) > 0 && len(n) <= 64
}

func checkQuietHours(q store.QuietHours) error {
	w := store.WorkingHours{Mon: []store.Interval{{Start: q.Start, End: q.End}}}
	if err := w.Validate(); err != nil {
		return fmt.Errorf("quiet_hours: %s-%s must be two times like 21:00 and 09:00", q.Start, q.End)
	}
	return nil
}

// createBot answers POST /api/bots: 201 with the bot, 409 when the id is
// taken.
func (s *Server) createBot(c *fiber.Ctx) error {
	ctx := c.UserContext()
	body, err := readBotBody(c)
	if err != nil {
		return err
	}
	if !ValidID(body.ID) {
		return badRequest("id: 1-64 Latin letters, digits, _ and -, starting with a letter or a digit", nil)
	}
	if strings.HasPrefix(body.ID, strings.TrimSuffix(PreviewBotPrefix, "~")) {
		return badRequest("id: "+strings.TrimSuffix(PreviewBotPrefix, "~")+"… is reserved for previews", nil)
	}
	if _, err := s.cfg.Store.GetBot(ctx, body.ID); err == nil {
		return &apiError{Status: fiber.StatusConflict, Msg: fmt.Sprintf("bot %s exists", body.ID)}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := s.cfg.Now().UTC()
	b := store.Bot{ID: body.ID, Name: body.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.applyBot(ctx, &b, body); err != nil {
		return err
	}
	if body.Web == nil || *body.Web {
		// Channels that need no token (the web chat) come with the bot,
		// so its Share panel works at once.
		for _, t := range s.types() {
			if !t.NeedsToken {
				b.Channels = append(b.Channels, store.Channel{ID: t.Name, Type: t.Name, CreatedAt: now})
			}
		}
	}
	if err := s.cfg.Store.CreateBot(ctx, &b); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return &apiError{Status: fiber.StatusConflict, Msg: fmt.Sprintf("bot %s exists", body.ID)}
		}
		return fmt.Errorf("create bot %s: %w", b.ID, err)
	}
	s.log.Info("bot created", "bot", b.ID, "by", user(c))
	s.reconcile(ctx)
	redactBot(&b)
	return c.Status(fiber.StatusCreated).JSON(b)
}

// types are the binary's channel types.
func (s *Server) types() []channel.Type {
	if s.cfg.Live == nil {
		return nil
	}
	return s.cfg.Live.Types()
}

// updateBot answers PUT /api/bots/{bot}: rename, pick the entry flow,
// change the settings. The bot's new conversations start on the new flow's
// latest version at once, on every replica (each reads the bot when a
// conversation starts); running ones keep their version.
func (s *Server) updateBot(c *fiber.Ctx) error {
	ctx := c.UserContext()
	body, err := readBotBody(c)
	if err != nil {
		return err
	}
	b, err := s.editBot(ctx, c.Params("bot"), body.Rev, func(b *store.Bot) error {
		if body.ID != "" && body.ID != b.ID {
			return badRequest("a bot's id cannot change (rename it with name)", nil)
		}
		return s.applyBot(ctx, b, body)
	})
	if err != nil {
		return err
	}
	s.log.Info("bot changed", "bot", b.ID, "flow", b.FlowID, "by", user(c))
	redactBot(b)
	return c.JSON(b)
}

// deleteBot answers DELETE /api/bots/{bot}: its webhooks are deleted at
// the platforms, then the bot. Its flows, versions and conversations stay
// in the store (a bot created again with the id finds them).
func (s *Server) deleteBot(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	for _, ch := range b.Channels {
		s.removeAtPlatform(ctx, ch.Type, b.ID)
	}
	if err := s.cfg.Store.DeleteBot(ctx, b.ID); err != nil {
		return botErr(err)
	}
	s.log.Info("bot deleted", "bot", b.ID, "by", user(c))
	s.reconcile(ctx)
	return c.SendStatus(fiber.StatusNoContent)
}

// removeAtPlatform undoes what a channel left at its platform; a failure
// is logged, not fatal: the channel goes anyway, and the platform's
// webhook then fails with 404 until it gives up.
func (s *Server) removeAtPlatform(ctx context.Context, typ, bot string) {
	if s.cfg.Live == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.cfg.Live.Remove(rctx, typ, bot); err != nil {
		s.log.Warn("channel removed, but its webhook could not be deleted at the platform", "bot", bot, "type", typ, "err", err)
	}
}

// reconcile applies a change to the store to this replica's channels at
// once (the others follow within their poll).
func (s *Server) reconcile(ctx context.Context) {
	if s.cfg.Live == nil {
		return
	}
	if err := s.cfg.Live.Reconcile(ctx); err != nil {
		s.log.Warn("channels not brought up to date now; they will be shortly", "err", err)
	}
}

// channelBody is what POST /api/bots/{bot}/channels takes.
type channelBody struct {
	Type     string            `json:"type"`
	Token    string            `json:"token"`
	Secret   string            `json:"secret"`
	APIURL   string            `json:"api_url"`
	Settings map[string]string `json:"settings"`
}

// channelOut is one channel of a bot in the API: its stored form without
// secrets (the token shortened), its state and the platform's view.
type channelOut struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Token     string            `json:"token,omitempty"`
	APIURL    string            `json:"api_url,omitempty"`
	Settings  map[string]string `json:"settings,omitempty"`
	Account   string            `json:"account,omitempty"`
	Link      string            `json:"link,omitempty"`
	DeepLink  string            `json:"deep_link,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
	channel.Status
	// Platform is what the platform says (Telegram's getWebhookInfo).
	Platform *channel.Health `json:"platform,omitempty"`
}

// maskToken shows the start and end of a token, never the middle: enough
// to tell two tokens apart, never enough to use one.
func maskToken(t string) string {
	switch {
	case t == "":
		return ""
	case len(t) <= 12:
		return "…"
	}
	if i := strings.IndexByte(t, ':'); i > 0 && i < 16 {
		return t[:i+1] + "…" + t[len(t)-3:] // Telegram: the bot's numeric id, then the secret
	}
	return t[:3] + "…" + t[len(t)-3:]
}

func (s *Server) channelOut(ctx context.Context, bot string, c store.Channel, health bool) channelOut {
	out := channelOut{ID: c.ChannelID(), Type: c.Type, Title: c.Type, APIURL: c.APIURL, Settings: c.Settings,
		Account: c.Account, Link: c.Link, DeepLink: c.DeepLink, CreatedAt: c.CreatedAt}
	if s.cfg.Live != nil {
		if t, ok := s.cfg.Live.Type(c.Type); ok {
			out.Title = t.Title
		}
		if cfg, err := s.cfg.Live.Config(bot, c); err == nil {
			out.Token = maskToken(cfg.Token)
		} else {
			out.Token = "…"
		}
		if st, ok := s.cfg.Live.Status(c.Type, bot); ok {
			out.Status = st
		}
		if health {
			out.Platform = s.health(ctx, c.Type, bot)
		}
	}
	if out.Status.Type == "" {
		out.Status = channel.Status{Bot: bot, Type: c.Type, State: channel.StateConnecting}
		for _, st := range s.channelStatuses() {
			if st.Bot == bot && st.Type == c.Type {
				out.Status = st
			}
		}
	}
	// The outer Account hides the status's in JSON; a channel from config
	// (never connected through the API) knows its account only from the
	// running status.
	if out.Account == "" {
		out.Account = out.Status.Account
	}
	return out
}

// healthCache keeps what platforms said about channels for a few seconds:
// the builder asks every 3 s while a channel is down.
type healthCache struct {
	mu sync.Mutex
	m  map[string]healthEntry
}

type healthEntry struct {
	at time.Time
	h  *channel.Health
}

const healthTTL = 10 * time.Second

func (s *Server) health(ctx context.Context, typ, bot string) *channel.Health {
	ch, ok := s.cfg.Live.Channel(typ, bot)
	if !ok {
		return nil
	}
	hh, ok := ch.(channel.Healther)
	if !ok {
		return nil
	}
	k := typ + ":" + bot
	now := s.cfg.Now()
	s.healths.mu.Lock()
	if e, ok := s.healths.m[k]; ok && now.Sub(e.at) < healthTTL {
		s.healths.mu.Unlock()
		return e.h
	}
	s.healths.mu.Unlock()
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h, err := hh.Health(hctx)
	var out *channel.Health
	if err == nil {
		out = &h
	}
	s.healths.mu.Lock()
	if s.healths.m == nil {
		s.healths.m = map[string]healthEntry{}
	}
	s.healths.m[k] = healthEntry{at: now, h: out}
	s.healths.mu.Unlock()
	return out
}

// botChannels answers GET /api/bots/{bot}/channels: the bot's channels
// with their states (as this replica sees them, or as the replica running
// a channel's receiver reported) and what the platform says.
func (s *Server) botChannels(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	out := []channelOut{}
	for _, ch := range b.Channels {
		out = append(out, s.channelOut(ctx, b.ID, ch, true))
	}
	slices.SortFunc(out, func(a, b channelOut) int { return strings.Compare(a.ID, b.ID) })
	return c.JSON(fiber.Map{"channels": out})
}

// addChannel answers POST /api/bots/{bot}/channels: the token is checked
// with the platform (Telegram's getMe) before anything is stored, then the
// channel is stored (its token sealed) and started on every replica: the
// webhook registered when a public URL is set, long polling otherwise.
func (s *Server) addChannel(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if s.cfg.Live == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "this server runs no channels"}
	}
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	var body channelBody
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return badRequest("the body must be {type, token, settings}", err.Error())
	}
	t, ok := s.cfg.Live.Type(body.Type)
	if !ok {
		return badRequest(fmt.Sprintf("type %q is not a channel type of this server (%s)", body.Type, typeNames(s.cfg.Live.Types())), nil)
	}
	if _, dup := channelOf(b, t.Name); dup {
		return &apiError{Status: fiber.StatusConflict, Msg: fmt.Sprintf("bot %s has a %s channel already: remove it first", b.ID, t.Title)}
	}
	body.Token = strings.TrimSpace(body.Token)
	if t.NeedsToken && body.Token == "" {
		return badRequest(fmt.Sprintf("a %s channel needs a token", t.Title), nil)
	}
	if err := checkSettings(t, body.Settings); err != nil {
		return err
	}
	sc := store.Channel{ID: t.Name, Type: t.Name, Token: body.Token, Secret: body.Secret, APIURL: strings.TrimSpace(body.APIURL),
		Settings: body.Settings, CreatedAt: s.cfg.Now().UTC()}
	ch, err := s.cfg.Live.Build(b.ID, sc)
	if err != nil {
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the channel's configuration is unusable", Details: err.Error()}
	}
	if ck, ok := ch.(channel.Checker); ok {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		acct, err := ck.Check(cctx)
		cancel()
		switch {
		case errors.Is(err, channel.ErrBadConfig):
			return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: fmt.Sprintf("%s refused the token", t.Title), Details: err.Error()}
		case err != nil:
			return &apiError{Status: fiber.StatusBadGateway, Msg: fmt.Sprintf("%s cannot be reached to check the token; try again", t.Title), Details: err.Error()}
		}
		sc.Account, sc.Link, sc.DeepLink = acct.Name, acct.Link, acct.DeepLink
	}
	if sc.Token, err = s.cfg.Box.Seal(sc.Token); err != nil {
		return err
	}
	if sc.Secret, err = s.cfg.Box.Seal(sc.Secret); err != nil {
		return err
	}
	// Written over the bot as it is now: a change made while the platform
	// was asked is kept.
	b, err = s.editBot(ctx, b.ID, nil, func(b *store.Bot) error {
		if _, dup := channelOf(b, t.Name); dup {
			return &apiError{Status: fiber.StatusConflict, Msg: fmt.Sprintf("bot %s has a %s channel already: remove it first", b.ID, t.Title)}
		}
		b.Channels = append(b.Channels, sc)
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("channel connected", "bot", b.ID, "type", t.Name, "account", sc.Account, "by", user(c))
	s.reconcile(ctx)
	return c.Status(fiber.StatusCreated).JSON(s.channelOut(ctx, b.ID, sc, false))
}

// updateChannel answers PUT /api/bots/{bot}/channels/{id}: new settings
// (the web chat's title, colour, greeting, position) or a new token.
func (s *Server) updateChannel(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if s.cfg.Live == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "this server runs no channels"}
	}
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	i := slices.IndexFunc(b.Channels, func(ch store.Channel) bool { return ch.ChannelID() == c.Params("id") })
	if i < 0 {
		return notFound("channel")
	}
	var body channelBody
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return badRequest("the body must be {settings} or {token}", err.Error())
	}
	cur := b.Channels[i]
	t, ok := s.cfg.Live.Type(cur.Type)
	if !ok {
		return badRequest(fmt.Sprintf("type %q is not a channel type of this server", cur.Type), nil)
	}
	if body.Type != "" && body.Type != cur.Type {
		return badRequest("a channel's type cannot change: remove it and connect another", nil)
	}
	if body.Settings != nil {
		if err := checkSettings(t, body.Settings); err != nil {
			return err
		}
		cur.Settings = maps.Clone(body.Settings)
		// A value the adapter cannot use is refused here, not found
		// when every replica fails to rebuild the channel.
		if _, err := s.cfg.Live.Build(b.ID, cur); err != nil {
			return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the channel's configuration is unusable", Details: err.Error()}
		}
	}
	if tok := strings.TrimSpace(body.Token); tok != "" {
		probe := cur
		probe.Token = tok
		ch, err := s.cfg.Live.Build(b.ID, probe)
		if err != nil {
			return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the channel's configuration is unusable", Details: err.Error()}
		}
		if ck, ok := ch.(channel.Checker); ok {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			acct, err := ck.Check(cctx)
			cancel()
			if errors.Is(err, channel.ErrBadConfig) {
				return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: fmt.Sprintf("%s refused the token", t.Title), Details: err.Error()}
			} else if err != nil {
				return &apiError{Status: fiber.StatusBadGateway, Msg: fmt.Sprintf("%s cannot be reached to check the token; try again", t.Title), Details: err.Error()}
			}
			cur.Account, cur.Link, cur.DeepLink = acct.Name, acct.Link, acct.DeepLink
		}
		if cur.Token, err = s.cfg.Box.Seal(tok); err != nil {
			return err
		}
	}
	// Written over the bot as it is now, the rest of it as it stands.
	if _, err := s.editBot(ctx, b.ID, nil, func(b *store.Bot) error {
		i := slices.IndexFunc(b.Channels, func(ch store.Channel) bool { return ch.ChannelID() == cur.ChannelID() })
		if i < 0 {
			return notFound("channel")
		}
		b.Channels[i] = cur
		return nil
	}); err != nil {
		return err
	}
	s.reconcile(ctx)
	return c.JSON(s.channelOut(ctx, b.ID, cur, false))
}

// deleteChannel answers DELETE /api/bots/{bot}/channels/{id}: the webhook
// is deleted at the platform, then the channel, everywhere.
func (s *Server) deleteChannel(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	i := slices.IndexFunc(b.Channels, func(ch store.Channel) bool { return ch.ChannelID() == c.Params("id") })
	if i < 0 {
		return notFound("channel")
	}
	ch := b.Channels[i]
	s.removeAtPlatform(ctx, ch.Type, b.ID)
	if _, err := s.editBot(ctx, b.ID, nil, func(b *store.Bot) error {
		b.Channels = slices.DeleteFunc(b.Channels, func(c store.Channel) bool { return c.ChannelID() == ch.ChannelID() })
		return nil
	}); err != nil {
		return err
	}
	s.log.Info("channel removed", "bot", b.ID, "type", ch.Type, "by", user(c))
	s.reconcile(ctx)
	return c.SendStatus(fiber.StatusNoContent)
}

func checkSettings(t channel.Type, settings map[string]string) error {
	for k, v := range settings {
		if !slices.Contains(t.Settings, k) {
			return badRequest(fmt.Sprintf("setting %q is not one a %s channel takes (%s)", k, t.Title, strings.Join(t.Settings, ", ")), nil)
		}
		if utf8.RuneCountInString(v) > 500 {
			return badRequest(fmt.Sprintf("setting %q: at most 500 characters", k), nil)
		}
	}
	return nil
}

func typeNames(ts []channel.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// typeOut is one channel type in GET /api/channel-types.
type typeOut struct {
	Name       string               `json:"name"`
	Title      string               `json:"title"`
	Caps       channel.Capabilities `json:"caps"`
	NeedsToken bool                 `json:"needs_token"`
	Settings   []string             `json:"settings"`
}

// channelTypes answers GET /api/channel-types: what can be connected.
func (s *Server) channelTypes(c *fiber.Ctx) error {
	out := []typeOut{}
	if s.cfg.Live != nil {
		for _, t := range s.cfg.Live.Types() {
			settings := t.Settings
			if settings == nil {
				settings = []string{} // [], not null, for the builder
			}
			out = append(out, typeOut{Name: t.Name, Title: t.Title, Caps: t.Caps, NeedsToken: t.NeedsToken, Settings: settings})
		}
	}
	return c.JSON(fiber.Map{"types": out})
}

// channelLimits are the flow validator's limits for the channel types
// named: what the bot's messengers can show.
func (s *Server) channelLimits(types []string) []flow.ChannelLimit {
	out := []flow.ChannelLimit{}
	if s.cfg.Live == nil {
		return out
	}
	for _, name := range types {
		if t, ok := s.cfg.Live.Type(name); ok && t.Caps.ButtonsPerMessage > 0 {
			out = append(out, flow.ChannelLimit{Channel: t.Title, MaxButtons: t.Caps.ButtonsPerMessage, MaxLabel: t.Caps.ButtonTitleLen,
				ListAbove: t.Caps.ListAbove, MaxText: t.Caps.TextLen})
		}
	}
	return out
}

// loadFor parses and validates a flow of bot against the limits of the
// bot's channels; without the bot (not found), against every type's.
func (s *Server) loadFor(ctx context.Context, bot, file string, doc []byte) (*flow.Flow, flow.Problems) {
	var types []string
	if b, err := s.cfg.Store.GetBot(ctx, bot); err == nil {
		for _, c := range b.Channels {
			types = append(types, c.Type)
		}
	} else {
		types = typeNamesOf(s.types())
	}
	return flow.LoadFor(file, doc, s.channelLimits(types))
}

func typeNamesOf(ts []channel.Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
