package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/store"
)

// mountAPI registers the API routes with the roles that may use each:
// marketers work on flows, operators on conversations, admins on everything.
func (s *Server) mountAPI(api fiber.Router) {
	flows := allow(store.RoleMarketer)
	people := allow(store.RoleOperator)
	anyone := allow(store.RoleMarketer, store.RoleOperator)
	api.Get("/spec", flows, s.spec)
	api.Post("/validate", flows, s.validate)
	api.Post("/import", flows, s.importFlow)
	api.Get("/bots", anyone, s.listBots)
	api.Get("/bots/:bot", anyone, s.getBot)
	api.Get("/bots/:bot/channels", anyone, s.botChannels)
	api.Get("/bots/:bot/flows", flows, s.listFlows)
	api.Get("/bots/:bot/flows/:flow/draft", flows, s.getDraft)
	api.Put("/bots/:bot/flows/:flow/draft", flows, s.putDraft)
	api.Delete("/bots/:bot/flows/:flow/draft", flows, s.deleteDraft)
	api.Post("/bots/:bot/flows/:flow/publish", flows, s.publish)
	api.Get("/bots/:bot/flows/:flow/export", flows, s.exportFlow)
	api.Get("/bots/:bot/flows/:flow/preview", flows, s.previewID)
	api.Get("/bots/:bot/flows/:flow/versions", flows, s.listVersions)
	api.Get("/bots/:bot/flows/:flow/versions/:version", flows, s.getVersion)
	api.Get("/bots/:bot/conversations", people, s.inbox)
	api.Get("/conversations/:id", s.conversationAccess, s.getConversation)
	api.Post("/conversations/:id/handback", people, s.handback)
	s.mountUsers(api)
	s.mountBroadcasts(api)
	s.mountBots(api)
	s.mountInbox(api)
	s.mountAnalytics(api)
	api.Use(func(c *fiber.Ctx) error { return notFound("API route") })
}

// problemJSON is a validation problem as the API and the builder see it.
type problemJSON struct {
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Node     string `json:"node,omitempty"`
	Field    string `json:"field,omitempty"`
	Text     string `json:"text"` // file:line:col: message, as voronka validate prints it
	// Format and Args let the builder say the message in its own language.
	Format string `json:"format,omitempty"`
	Args   []any  `json:"args,omitempty"`
}

func problemsJSON(ps flow.Problems) []problemJSON {
	out := make([]problemJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, problemJSON{Line: p.Line, Col: p.Col, Severity: p.Severity.String(), Message: p.Message,
			Node: p.Node, Field: p.Field, Text: p.String(), Format: p.Format, Args: p.Args})
	}
	return out
}

// spec describes every node type and field: the builder draws its palette
// and property panels from it, so they cannot drift from the validator.
func (s *Server) spec(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"format_version": flow.FormatVersion,
		"nodes":          flow.NodeSpecs,
		"expect":         flow.ExpectKinds,
		"methods":        flow.Methods,
		"channels":       s.channelLimits(typeNamesOf(s.types())),
	})
}

// flowDoc reads a flow document from the body: YAML or JSON, as sent.
func flowDoc(c *fiber.Ctx) ([]byte, error) {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil, badRequest("the body must be a flow document (YAML or JSON)", nil)
	}
	return append([]byte(nil), c.Body()...), nil
}

func (s *Server) validate(c *fiber.Ctx) error {
	doc, err := flowDoc(c)
	if err != nil {
		return err
	}
	// With ?bot= buttons are held to that bot's channels, else to every
	// channel type's.
	f, ps := s.loadFor(c.UserContext(), c.Query("bot"), fileName(c, "flow.yaml"), doc)
	return c.JSON(fiber.Map{"ok": !ps.HasErrors(), "id": f.ID, "problems": problemsJSON(ps)})
}

func fileName(c *fiber.Ctx, def string) string {
	if n := c.Query("file"); n != "" {
		return n
	}
	return def
}

func (s *Server) listBots(c *fiber.Ctx) error {
	bots, err := s.cfg.Store.ListBots(c.UserContext())
	if err != nil {
		return fmt.Errorf("list bots: %w", err)
	}
	for i := range bots {
		redactBot(&bots[i])
	}
	if bots == nil {
		bots = []store.Bot{} // an empty store answers [], not null
	}
	return c.JSON(fiber.Map{"bots": bots})
}

// redactBot keeps channel tokens and secrets out of API answers.
func redactBot(b *store.Bot) {
	for i := range b.Channels {
		if b.Channels[i].Token != "" {
			b.Channels[i].Token = "…"
		}
		b.Channels[i].Secret = ""
	}
}

func (s *Server) getBot(c *fiber.Ctx) error {
	b, err := s.cfg.Store.GetBot(c.UserContext(), c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	redactBot(b)
	return c.JSON(b)
}

func botErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("bot")
	}
	return err
}

// flowSummary is one flow of a bot in the list.
type flowSummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Running   bool      `json:"running"` // the flow new conversations of the bot start on
	Draft     bool      `json:"draft"`
	Latest    int       `json:"latest_version,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Errors and Warnings count the draft's problems when it was saved.
	Errors   int `json:"errors,omitempty"`
	Warnings int `json:"warnings,omitempty"`
}

// listFlows lists a bot's flows from what was stored with each draft and
// version: no document is parsed, however large or hostile a saved draft is.
func (s *Server) listFlows(c *fiber.Ctx) error {
	ctx := c.UserContext()
	b, err := s.cfg.Store.GetBot(ctx, c.Params("bot"))
	if err != nil {
		return botErr(err)
	}
	ids, err := s.cfg.Store.ListFlowIDs(ctx, b.ID)
	if err != nil {
		return fmt.Errorf("list flows of %s: %w", b.ID, err)
	}
	drafts, err := s.cfg.Store.ListDrafts(ctx, b.ID)
	if err != nil {
		return fmt.Errorf("list flows of %s: %w", b.ID, err)
	}
	byID := make(map[string]store.FlowDraft, len(drafts))
	for _, d := range drafts {
		byID[d.FlowID] = d
	}
	out := make([]flowSummary, 0, len(ids))
	for _, id := range ids {
		fs := flowSummary{ID: id, Running: id == b.FlowID}
		if d, ok := byID[id]; ok {
			fs.Draft, fs.UpdatedAt, fs.Name, fs.Errors, fs.Warnings = true, d.UpdatedAt, d.Name, d.Errors, d.Warnings
		}
		if v, err := s.cfg.Store.LatestFlowVersion(ctx, b.ID, id); err == nil {
			fs.Latest = v.Version
			if fs.Name == "" {
				fs.Name = v.Name
			}
		}
		out = append(out, fs)
	}
	return c.JSON(fiber.Map{"flows": out})
}

// summarize fills in what the flow list shows of a draft.
func summarize(d *store.FlowDraft, f *flow.Flow, ps flow.Problems) {
	d.Name = f.Name
	d.Errors = len(ps.Errors())
	d.Warnings = len(ps) - d.Errors
}

// draft loads the draft of (bot, id); a missing one is the API's 404.
func (s *Server) draft(ctx context.Context, bot, id string) (*store.FlowDraft, error) {
	d, err := s.cfg.Store.GetDraft(ctx, bot, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("draft")
	}
	return d, err
}

func (s *Server) getDraft(c *fiber.Ctx) error {
	d, err := s.draft(c.UserContext(), c.Params("bot"), c.Params("flow"))
	if err != nil {
		return err
	}
	f, ps := s.loadFor(c.UserContext(), d.Bot, d.FlowID+".yaml", d.Doc)
	return c.JSON(fiber.Map{"bot": d.Bot, "flow": d.FlowID, "doc": string(d.Doc), "updated_at": d.UpdatedAt,
		"updated_by": d.UpdatedBy, "ok": !ps.HasErrors(), "problems": problemsJSON(ps), "json": flowJSON(f)})
}

// putDraft saves a draft even when it has errors — a marketer saves work in
// progress — and returns the problems so the builder can show them in place.
func (s *Server) putDraft(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot, id := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(ctx, bot); err != nil {
		return botErr(err)
	}
	doc, err := flowDoc(c)
	if err != nil {
		return err
	}
	f, ps := s.loadFor(ctx, bot, id+".yaml", doc)
	if f.ID != "" && f.ID != id {
		return badRequest(fmt.Sprintf("the document's id is %q but the URL names flow %q", f.ID, id), problemsJSON(ps))
	}
	d := store.FlowDraft{Bot: bot, FlowID: id, Doc: doc, UpdatedAt: time.Now().UTC(), UpdatedBy: user(c)}
	summarize(&d, f, ps)
	if err := s.cfg.Store.PutDraft(ctx, d); err != nil {
		return fmt.Errorf("save draft %s/%s: %w", bot, id, err)
	}
	return c.JSON(fiber.Map{"ok": !ps.HasErrors(), "updated_at": d.UpdatedAt, "problems": problemsJSON(ps)})
}

// deleteDraft drops the draft of a flow; its published versions, and the
// conversations running on them, are left alone.
func (s *Server) deleteDraft(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot, id := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(ctx, bot); err != nil {
		return botErr(err)
	}
	if err := s.cfg.Store.DeleteDraft(ctx, bot, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("draft")
		}
		return fmt.Errorf("delete draft %s/%s: %w", bot, id, err)
	}
	s.log.Info("draft deleted", "bot", bot, "flow", id, "by", user(c))
	return c.JSON(fiber.Map{"ok": true})
}

// user names who made a change; sessions come with accounts.
func user(c *fiber.Ctx) string {
	if u, ok := c.Locals("user").(string); ok {
		return u
	}
	return "api"
}

// publish makes the draft (or the body, if one is sent) an immutable
// version. A flow with errors is refused with every problem listed.
func (s *Server) publish(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot, id := c.Params("bot"), c.Params("flow")
	if _, err := s.cfg.Store.GetBot(ctx, bot); err != nil {
		return botErr(err)
	}
	var doc []byte
	var note string
	if len(bytes.TrimSpace(c.Body())) > 0 && !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		doc = append([]byte(nil), c.Body()...)
	} else {
		var req struct {
			Note string `json:"note"`
		}
		if len(c.Body()) > 0 {
			if err := json.Unmarshal(c.Body(), &req); err != nil {
				return badRequest("the body must be {\"note\": \"…\"} or a flow document", err.Error())
			}
		}
		note = req.Note
		d, err := s.draft(ctx, bot, id)
		if err != nil {
			return err
		}
		doc = d.Doc
	}
	f, ps := s.loadFor(ctx, bot, id+".yaml", doc)
	if ps.HasErrors() {
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the flow has errors and cannot be published", Details: problemsJSON(ps)}
	}
	if f.ID != id {
		return badRequest(fmt.Sprintf("the document's id is %q but the URL names flow %q", f.ID, id), nil)
	}
	v, err := s.cfg.Store.PublishFlow(ctx, store.FlowVersion{Bot: bot, FlowID: id, Doc: doc, Note: note,
		PublishedAt: time.Now().UTC(), PublishedBy: user(c), Name: f.Name})
	if err != nil {
		return fmt.Errorf("publish %s/%s: %w", bot, id, err)
	}
	s.log.Info("flow published", "bot", bot, "flow", id, "version", v.Version, "by", v.PublishedBy)
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"version": v.Version, "published_at": v.PublishedAt,
		"warnings": problemsJSON(ps)})
}

func (s *Server) listVersions(c *fiber.Ctx) error {
	vs, err := s.cfg.Store.ListFlowVersions(c.UserContext(), c.Params("bot"), c.Params("flow"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"versions": vs})
}

func (s *Server) getVersion(c *fiber.Ctx) error {
	n, err := strconv.Atoi(c.Params("version"))
	if err != nil || n < 1 {
		return badRequest("version must be a positive number", nil)
	}
	v, err := s.cfg.Store.GetFlowVersion(c.UserContext(), c.Params("bot"), c.Params("flow"), n)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("version")
		}
		return err
	}
	f, _ := flow.Parse(v.FlowID+".yaml", v.Doc)
	return c.JSON(fiber.Map{"bot": v.Bot, "flow": v.FlowID, "version": v.Version, "doc": string(v.Doc), "json": flowJSON(f),
		"note": v.Note, "published_at": v.PublishedAt, "published_by": v.PublishedBy})
}

// conversationJSON is a conversation without its engine-internal state.
type conversationJSON struct {
	store.Conversation
	State any `json:"state,omitempty"`
}

func (s *Server) getConversation(c *fiber.Ctx) error {
	if err := validCursor(c); err != nil {
		return err
	}
	ctx := c.UserContext()
	conv, err := s.cfg.Store.GetConversation(ctx, c.Params("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("conversation")
		}
		return err
	}
	if p, _ := c.Locals("principal").(*principal); p != nil && p.Role == store.RoleOperator {
		v, err := s.viewerOf(c)
		if err != nil {
			return err
		}
		if !v.sees(conv.Inbox) {
			return &apiError{Status: fiber.StatusForbidden, Msg: "this chat is not in your queues"}
		}
	}
	limit := c.QueryInt("limit", 100)
	msgs, next, err := s.cfg.Store.ListMessages(ctx, conv.ID, c.Query("cursor"), limit)
	if err != nil {
		return fmt.Errorf("transcript of %s: %w", conv.ID, err)
	}
	lines, err := s.transcriptJSON(ctx, conv, msgs)
	if err != nil {
		return err
	}
	conv.State = nil
	return c.JSON(fiber.Map{"conversation": struct {
		*store.Conversation
		Name string `json:"name"`
	}{conv, displayName(conv)}, "messages": lines, "next": next})
}

func (s *Server) inbox(c *fiber.Ctx) error {
	if err := validCursor(c); err != nil {
		return err
	}
	q := store.InboxQuery{Bot: c.Params("bot"), Status: store.Status(c.Query("status")), Cursor: c.Query("cursor"), Limit: c.QueryInt("limit", 50)}
	items, next, err := s.cfg.Store.ListInbox(c.UserContext(), q)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].State = nil
	}
	return c.JSON(fiber.Map{"conversations": items, "next": next})
}

// handback returns a handed-off chat to the bot (the operator inbox).
func (s *Server) handback(c *fiber.Ctx) error {
	var req struct {
		Goto string `json:"goto"`
	}
	conv, v, err := s.startAction(c, &req, `{"goto": "node"} or empty`, true)
	if err != nil {
		return err
	}
	if req.Goto != "" {
		prog, err := s.cfg.Runtime.ConversationProgram(c.UserContext(), conv)
		if err != nil {
			return err
		}
		if prog.Flow.Node(req.Goto) == nil {
			return badRequest("no node "+req.Goto+" in flow "+prog.Flow.ID, req.Goto)
		}
	}
	if _, err := s.cfg.Runtime.HandbackBy(c.UserContext(), conv.ID, req.Goto, v.actor()); err != nil {
		return inboxErr(err)
	}
	return c.JSON(fiber.Map{"ok": true})
}

// flowJSON is the canonical JSON form of a flow, the form the builder edits,
// or null when the document did not decode.
func flowJSON(f *flow.Flow) json.RawMessage {
	if f == nil {
		return json.RawMessage("null")
	}
	js, err := flow.EncodeJSON(f)
	if err != nil {
		return json.RawMessage("null")
	}
	return js
}

// exportFlow writes a flow as canonical YAML (format=yaml, the default) or
// JSON: the draft, or a published version with ?version=N.
func (s *Server) exportFlow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot, id := c.Params("bot"), c.Params("flow")
	var doc []byte
	if n := c.QueryInt("version"); n > 0 {
		v, err := s.cfg.Store.GetFlowVersion(ctx, bot, id, n)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound("version")
			}
			return err
		}
		doc = v.Doc
	} else {
		d, err := s.draft(ctx, bot, id)
		if err != nil {
			return err
		}
		doc = d.Doc
	}
	f, ps := flow.Parse(id+".yaml", doc)
	if f == nil || (ps.HasErrors() && len(f.Nodes) == 0) {
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the flow does not decode", Details: problemsJSON(ps)}
	}
	if c.Query("format") == "json" {
		js, err := flow.EncodeJSON(f)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(js)
	}
	out, err := flow.Encode(f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	if c.QueryBool("download") {
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+id+`.yaml"`)
	}
	return c.Send(out)
}

// importFlow reads a YAML (or JSON) flow and answers its canonical YAML and
// JSON forms with every problem. With ?bot=ID it also saves it as the draft
// of its flow in that bot, in canonical YAML.
func (s *Server) importFlow(c *fiber.Ctx) error {
	doc, err := flowDoc(c)
	if err != nil {
		return err
	}
	f, ps := flow.Load(fileName(c, "import.yaml"), doc)
	if f == nil || f.ID == "" {
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the document is not a flow with an id", Details: problemsJSON(ps)}
	}
	canon, err := flow.Encode(f)
	if err != nil {
		return err
	}
	resp := fiber.Map{"id": f.ID, "ok": !ps.HasErrors(), "problems": problemsJSON(ps), "yaml": string(canon), "json": flowJSON(f)}
	if bot := c.Query("bot"); bot != "" {
		ctx := c.UserContext()
		if _, err := s.cfg.Store.GetBot(ctx, bot); err != nil {
			return botErr(err)
		}
		d := store.FlowDraft{Bot: bot, FlowID: f.ID, Doc: canon, UpdatedAt: time.Now().UTC(), UpdatedBy: user(c)}
		summarize(&d, f, ps)
		if err := s.cfg.Store.PutDraft(ctx, d); err != nil {
			return fmt.Errorf("save imported draft %s/%s: %w", bot, f.ID, err)
		}
		resp["saved"] = true
	}
	return c.JSON(resp)
}
