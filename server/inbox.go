package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// The operator inbox's API (issue 12): the list, a conversation's
// transcript and lead card, operator actions, canned replies and the event
// stream (inboxstream.go). Operators see the chats of their queues (and
// those assigned to them), admins every chat, marketers none.

// mountInbox registers the inbox routes.
func (s *Server) mountInbox(api fiber.Router) {
	ops := allow(store.RoleOperator)
	canned := allow(store.RoleOperator, store.RoleMarketer)
	api.Get("/inbox", ops, s.inboxList)
	api.Get("/inbox/events", ops, s.inboxEvents)
	api.Get("/inbox/counts", ops, s.inboxCounts)
	api.Get("/inbox/operators", ops, s.inboxOperators)
	api.Get("/conversations/:id/card", ops, s.leadCard)
	api.Patch("/conversations/:id", ops, s.editLead)
	api.Post("/conversations/:id/messages", ops, s.reply)
	api.Post("/conversations/:id/notes", ops, s.note)
	api.Post("/conversations/:id/assign", ops, s.assign)
	api.Post("/conversations/:id/read", ops, s.markRead)
	api.Post("/conversations/:id/resolve", ops, s.resolve)
	api.Post("/conversations/:id/canned/:canned", ops, s.renderCanned)
	api.Get("/bots/:bot/canned", canned, s.listCanned)
	api.Post("/bots/:bot/canned", canned, s.createCanned)
	api.Put("/bots/:bot/canned/:id", canned, s.updateCanned)
	api.Delete("/bots/:bot/canned/:id", canned, s.deleteCanned)
}

// viewer is who looks at the inbox, with what they may see.
type viewer struct {
	p *principal
	// queues the viewer works; nil means every queue (admins, the API
	// token, operators without queues).
	queues []string
}

func (v *viewer) admin() bool { return v.p.Role == store.RoleAdmin }

func (v *viewer) actor() runtime.Actor {
	return runtime.Actor{ID: v.id(), Name: orDefault(v.p.Name, v.p.Login), Admin: v.admin()}
}

func (v *viewer) id() string {
	if v.p.UserID == "" {
		return v.p.Login // the API token: "api"
	}
	return v.p.UserID
}

// sees reports whether the viewer may see a chat with inbox in (nil: never
// handed off).
func (v *viewer) sees(in *store.Inbox) bool {
	if v.queues == nil {
		return true
	}
	if in == nil {
		return false
	}
	return slices.Contains(v.queues, in.Queue) || in.Assignee == v.id()
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// viewerOf reads the caller's queues from their user (fresh: an admin's
// change applies at once).
func (s *Server) viewerOf(c *fiber.Ctx) (*viewer, error) {
	p, _ := c.Locals("principal").(*principal)
	if p == nil {
		return nil, &apiError{Status: fiber.StatusUnauthorized, Msg: "sign in or send the API token"}
	}
	v := &viewer{p: p}
	if p.Role == store.RoleAdmin || p.UserID == "" {
		return v, nil
	}
	u, err := s.cfg.Store.GetUser(c.UserContext(), p.UserID)
	if err != nil {
		return nil, fmt.Errorf("read user %s: %w", p.UserID, err)
	}
	if len(u.Queues) > 0 {
		v.queues = slices.Clone(u.Queues)
	}
	return v, nil
}

// itemJSON is a conversation as the inbox list shows it.
type itemJSON struct {
	ID            string        `json:"id"`
	Bot           string        `json:"bot"`
	Channel       string        `json:"channel"`
	Status        store.Status  `json:"status,omitempty"`
	Contact       store.Contact `json:"contact"`
	Name          string        `json:"name"`
	Inbox         *store.Inbox  `json:"inbox,omitempty"`
	Score         float64       `json:"score"`
	Segment       string        `json:"segment,omitempty"`
	Tags          []string      `json:"tags"`
	UpdatedAt     time.Time     `json:"updated_at,omitzero"`
	LastInboundAt time.Time     `json:"last_inbound_at,omitzero"`
	Version       int64         `json:"version"`
	Reason        string        `json:"reason,omitempty"`
}

func toItem(c *store.Conversation) itemJSON {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return itemJSON{ID: c.ID, Bot: c.Bot, Channel: c.Channel, Status: c.Status, Contact: c.Contact, Name: displayName(c),
		Inbox: c.Inbox, Score: c.Score, Segment: c.Segment, Tags: tags, UpdatedAt: c.UpdatedAt,
		LastInboundAt: c.LastInboundAt, Version: c.Version}
}

// displayName is how the inbox names a contact.
func displayName(c *store.Conversation) string {
	ct := c.Contact
	if n := strings.TrimSpace(ct.FirstName + " " + ct.LastName); n != "" {
		return n
	}
	if ct.Username != "" {
		return "@" + ct.Username
	}
	if ct.Phone != "" {
		return ct.Phone
	}
	return c.Chat
}

// authorJSON names who wrote an operator message or note.
type authorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// messageJSON is a transcript line as the inbox shows it.
type messageJSON struct {
	ID        string          `json:"id"`
	Direction store.Direction `json:"direction"`
	Text      string          `json:"text,omitempty"`
	Buttons   []store.Button  `json:"buttons,omitempty"`
	Author    *authorJSON     `json:"author,omitempty"`
	At        time.Time       `json:"at"`
	Delivery  string          `json:"delivery,omitempty"`
	Error     string          `json:"error,omitempty"`
	Event     string          `json:"event,omitempty"`
	Data      map[string]any  `json:"data,omitempty"`
}

// Delivery states of bot and operator lines.
const (
	deliveryPending = "pending"
	deliverySent    = "sent"
	deliveryFailed  = "failed"
	deliveryBlocked = "blocked"
)

func toMessageJSON(m store.Message) messageJSON {
	out := messageJSON{ID: m.ID, Direction: m.Direction, Text: m.Text, Buttons: m.Buttons, At: m.At, Event: m.Event, Data: m.Data}
	if m.Operator != "" && (m.Direction == store.DirectionOperator || m.Direction == store.DirectionNote) {
		out.Author = &authorJSON{ID: m.Operator, Name: orDefault(m.Author, m.Operator)}
	}
	return out
}

// blockedText is how the runtime words a message not sent to a chat that
// blocked the bot.
const blockedText = "blocked"

// transcriptJSON folds each "…/failed" line into its message and gives
// every bot and operator line its delivery state: failed or blocked from
// those lines, pending while the item waits in the outbox with no delivery
// event, sent otherwise.
func (s *Server) transcriptJSON(ctx context.Context, conv *store.Conversation, msgs []store.Message) ([]messageJSON, error) {
	failed := map[string]store.Message{}
	for _, m := range msgs {
		if id, ok := strings.CutSuffix(m.ID, "/failed"); ok && m.Status == store.MessageFailed {
			failed[id] = m
		}
	}
	queued := map[string]store.OutMessage{}
	var keys []store.EventKey
	for _, o := range conv.Outbox {
		queued[o.ID] = o
	}
	for _, m := range msgs {
		if o, ok := queued[m.ID]; ok && (m.Direction == store.DirectionBot || m.Direction == store.DirectionOperator) {
			for _, typ := range [...]string{"sent", "failed", "blocked"} {
				keys = append(keys, store.EventKey{Bot: conv.Bot, ID: o.ID + "/" + typ, At: o.At})
			}
		}
	}
	done := map[string]bool{}
	if len(keys) > 0 {
		ids, err := s.cfg.Store.StoredEvents(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("delivery of %s: %w", conv.ID, err)
		}
		for _, id := range ids {
			done[id[:strings.LastIndexByte(id, '/')]] = true
		}
	}
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		if _, ok := strings.CutSuffix(m.ID, "/failed"); ok && m.Status == store.MessageFailed {
			continue
		}
		j := toMessageJSON(m)
		if m.Direction == store.DirectionBot || m.Direction == store.DirectionOperator {
			switch f, isFailed := failed[m.ID]; {
			case isFailed && strings.Contains(f.Error, blockedText):
				j.Delivery, j.Error = deliveryBlocked, f.Error
			case isFailed:
				j.Delivery, j.Error = deliveryFailed, f.Error
			case queued[m.ID].ID != "" && !done[m.ID]:
				j.Delivery = deliveryPending
			default:
				j.Delivery = deliverySent
			}
		}
		out = append(out, j)
	}
	return out, nil
}

var inboxStatuses = map[string][]store.InboxState{
	"":           {store.InboxUnassigned, store.InboxAssigned},
	"open":       {store.InboxUnassigned, store.InboxAssigned},
	"unassigned": {store.InboxUnassigned},
	"assigned":   {store.InboxAssigned},
	"resolved":   {store.InboxResolved},
	"all":        nil,
}

// inboxList is GET /api/inbox.
func (s *Server) inboxList(c *fiber.Ctx) error {
	if err := validCursor(c); err != nil {
		return err
	}
	v, err := s.viewerOf(c)
	if err != nil {
		return err
	}
	states, ok := inboxStatuses[c.Query("status")]
	if !ok {
		return badRequest("status must be open, unassigned, assigned, resolved or all", c.Query("status"))
	}
	f := &store.InboxFilter{States: states, Queues: v.queues, Q: strings.TrimSpace(c.Query("q"))}
	if len(f.Q) > 200 {
		return badRequest("q is at most 200 characters", nil)
	}
	switch a := c.Query("assignee"); a {
	case "":
	case "me":
		f.Assignee = v.id()
		f.Queues = nil // my chats, whatever their queue
	case "none":
		f.Assignee = store.NoAssignee
	default:
		if !ValidID(a) {
			return badRequest("assignee must be me, none or a user id", a)
		}
		f.Assignee = a
	}
	if q := c.Query("queue"); q != "" {
		if v.queues != nil && !slices.Contains(v.queues, q) && f.Assignee != v.id() {
			return &apiError{Status: fiber.StatusForbidden, Msg: "you do not work queue " + q}
		}
		f.Queues = []string{q}
	}
	limit := c.QueryInt("limit", 50)
	if limit <= 0 || limit > 200 {
		return badRequest("limit is 1 to 200", nil)
	}
	items, next, err := s.cfg.Store.ListInbox(c.UserContext(), store.InboxQuery{Bot: c.Query("bot"), Cursor: c.Query("cursor"), Limit: limit, Inbox: f})
	if err != nil {
		return err
	}
	out := make([]itemJSON, 0, len(items))
	for i := range items {
		out = append(out, toItem(&items[i]))
	}
	return c.JSON(fiber.Map{"conversations": out, "next": next})
}

// inboxCounts is GET /api/inbox/counts: open chats by who has them,
// counted by the store from its indexes (store.InboxCounts), the part
// every viewer shares counted once per change (queueTally).
func (s *Server) inboxCounts(c *fiber.Ctx) error {
	v, err := s.viewerOf(c)
	if err != nil {
		return err
	}
	counts, err := s.countsFor(c.UserContext(), v)
	if err != nil {
		return err
	}
	return c.JSON(counts)
}

type inboxCounts struct {
	Mine       int `json:"mine"`
	Unassigned int `json:"unassigned"`
	All        int `json:"all"`
	UnreadMine int `json:"unread_mine"`
}

// countsFor counts what v sees: the open chats of their queues (every
// queue for admins) and the chats assigned to them wherever they are.
func (s *Server) countsFor(ctx context.Context, v *viewer) (inboxCounts, error) {
	var out inboxCounts
	queues, err := s.queueCounts(ctx)
	if err != nil {
		return out, err
	}
	mine, err := s.cfg.Store.CountMine(ctx, v.id())
	if err != nil {
		return out, err
	}
	works := func(q string) bool { return v.queues == nil || slices.Contains(v.queues, q) }
	for q, n := range queues {
		if works(q) {
			out.Unassigned += n.Unassigned
			out.All += n.Unassigned + n.Assigned
		}
	}
	for q, n := range mine {
		out.Mine += n.Assigned
		out.UnreadMine += n.Unread
		if !works(q) {
			out.All += n.Assigned
		}
	}
	return out, nil
}

// operatorJSON is a person a chat can go to.
type operatorJSON struct {
	ID       string     `json:"id"`
	Login    string     `json:"login"`
	Name     string     `json:"name,omitempty"`
	Role     store.Role `json:"role"`
	Queues   []string   `json:"queues"`
	Capacity int        `json:"capacity"`
	Open     int        `json:"open"`
	Online   bool       `json:"online"`
}

type queueJSON struct {
	Name       string `json:"name"`
	Unassigned int    `json:"unassigned"`
	Open       int    `json:"open"`
}

// inboxOperators is GET /api/inbox/operators: operators (and admins with
// queues) with their load and presence, and the queues with their backlog.
func (s *Server) inboxOperators(c *fiber.Ctx) error {
	ctx := c.UserContext()
	users, err := s.cfg.Store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	pres, err := s.cfg.Store.ListPresence(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	online := map[string]bool{}
	for _, p := range pres {
		online[p.User] = p.Until.After(now)
	}
	ops := []operatorJSON{}
	queues := map[string]*queueJSON{}
	for _, u := range users {
		if u.Role != store.RoleOperator && !(u.Role == store.RoleAdmin && len(u.Queues) > 0) {
			continue
		}
		n, err := s.cfg.Store.CountAssigned(ctx, u.ID)
		if err != nil {
			return err
		}
		qs := u.Queues
		if qs == nil {
			qs = []string{}
		}
		for _, q := range qs {
			if queues[q] == nil {
				queues[q] = &queueJSON{Name: q}
			}
		}
		ops = append(ops, operatorJSON{ID: u.ID, Login: u.Login, Name: u.Name, Role: u.Role, Queues: qs,
			Capacity: u.MaxOpen(), Open: n, Online: online[u.ID]})
	}
	tally, err := s.queueCounts(ctx)
	if err != nil {
		return err
	}
	for name, n := range tally {
		q := queues[name]
		if q == nil {
			q = &queueJSON{Name: name}
			queues[name] = q
		}
		q.Open += n.Unassigned + n.Assigned
		q.Unassigned += n.Unassigned
	}
	qs := make([]queueJSON, 0, len(queues))
	for _, q := range queues {
		qs = append(qs, *q)
	}
	slices.SortFunc(qs, func(a, b queueJSON) int { return strings.Compare(a.Name, b.Name) })
	return c.JSON(fiber.Map{"operators": ops, "queues": qs})
}

// visibleConversation loads a conversation the caller may see: 404 when it
// does not exist, 403 when it is outside their queues.
func (s *Server) visibleConversation(c *fiber.Ctx) (*store.Conversation, *viewer, error) {
	v, err := s.viewerOf(c)
	if err != nil {
		return nil, nil, err
	}
	conv, err := s.cfg.Store.GetConversation(c.UserContext(), c.Params("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, notFound("conversation")
		}
		return nil, nil, err
	}
	if !v.sees(conv.Inbox) {
		return nil, nil, &apiError{Status: fiber.StatusForbidden, Msg: "this chat is not in your queues"}
	}
	return conv, v, nil
}

// inboxErr turns the runtime's inbox errors into API errors.
func inboxErr(err error) error {
	var taken *runtime.TakenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &taken):
		return &apiError{Status: fiber.StatusConflict, Msg: "taken",
			Details: fiber.Map{"assignee": taken.Assignee, "assignee_name": taken.Name}}
	case errors.Is(err, runtime.ErrNotInInbox):
		return &apiError{Status: fiber.StatusConflict, Msg: "not in the inbox"}
	case errors.Is(err, runtime.ErrBlocked):
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the chat has blocked the bot"}
	case errors.Is(err, store.ErrNotFound):
		return notFound("conversation")
	}
	return err
}

func (s *Server) needRuntime() error {
	if s.cfg.Runtime == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "no runtime"}
	}
	return nil
}

// startAction is the preamble every inbox action shares: a runtime to act
// with (503), a chat the caller may see (404, 403) and, when req is not
// nil, the JSON body decoded into it (400 saying the body must be shape;
// with emptyOK an empty body leaves req as it is).
func (s *Server) startAction(c *fiber.Ctx, req any, shape string, emptyOK bool) (*store.Conversation, *viewer, error) {
	if err := s.needRuntime(); err != nil {
		return nil, nil, err
	}
	conv, v, err := s.visibleConversation(c)
	if err != nil {
		return nil, nil, err
	}
	if req != nil && (len(c.Body()) > 0 || !emptyOK) {
		if err := json.Unmarshal(c.Body(), req); err != nil {
			return nil, nil, badRequest("the body must be "+shape, err.Error())
		}
	}
	return conv, v, nil
}

// textAction starts an action whose body is {"text": "…"}: not empty, at
// most 4096 characters.
func (s *Server) textAction(c *fiber.Ctx) (*viewer, string, error) {
	var req struct {
		Text string `json:"text"`
	}
	_, v, err := s.startAction(c, &req, `{"text": "…"}`, false)
	if err != nil {
		return nil, "", err
	}
	if strings.TrimSpace(req.Text) == "" {
		return nil, "", badRequest("text is empty", nil)
	}
	if len([]rune(req.Text)) > 4096 {
		return nil, "", badRequest("text is longer than 4096 characters", nil)
	}
	return v, req.Text, nil
}

// reply is POST /api/conversations/{id}/messages.
func (s *Server) reply(c *fiber.Ctx) error {
	v, text, err := s.textAction(c)
	if err != nil {
		return err
	}
	line, err := s.cfg.Runtime.Reply(c.UserContext(), c.Params("id"), v.actor(), text)
	if err != nil {
		return inboxErr(err)
	}
	m := toMessageJSON(line)
	m.Delivery = deliveryPending
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"message": m})
}

// note is POST /api/conversations/{id}/notes.
func (s *Server) note(c *fiber.Ctx) error {
	v, text, err := s.textAction(c)
	if err != nil {
		return err
	}
	line, err := s.cfg.Runtime.Note(c.UserContext(), c.Params("id"), v.actor(), text)
	if err != nil {
		return inboxErr(err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"message": toMessageJSON(line)})
}

// assign is POST /api/conversations/{id}/assign.
func (s *Server) assign(c *fiber.Ctx) error {
	var req struct {
		To    *string `json:"to"`
		Queue *string `json:"queue"`
		From  *string `json:"from"`
	}
	_, v, err := s.startAction(c, &req, `{"to": "me" | user id | ""} or {"queue": "…"}`, false)
	if err != nil {
		return err
	}
	if req.To == nil && req.Queue == nil {
		return badRequest(`say "to" (me, a user id, or "" to unassign) or "queue"`, nil)
	}
	ar := runtime.AssignRequest{Queue: req.Queue, From: req.From}
	if req.Queue != nil && (len(*req.Queue) > 64 || strings.ContainsFunc(*req.Queue, func(r rune) bool { return r < 0x20 })) {
		return badRequest("a queue name is at most 64 characters without control characters", *req.Queue)
	}
	if req.To != nil {
		switch to := *req.To; {
		case to == "me":
			ar.To, ar.ToName = v.id(), v.actor().Name
		case to == "":
		default:
			if !ValidID(to) {
				return badRequest("to must be me, a user id or empty", to)
			}
			u, err := s.cfg.Store.GetUser(c.UserContext(), to)
			if errors.Is(err, store.ErrNotFound) {
				return notFound("user")
			}
			if err != nil {
				return err
			}
			ar.To, ar.ToName = u.ID, orDefault(u.Name, u.Login)
		}
	}
	if req.From != nil && *req.From == "me" {
		me := v.id()
		ar.From = &me
	}
	conv, err := s.cfg.Runtime.Assign(c.UserContext(), c.Params("id"), v.actor(), ar)
	if err != nil {
		return inboxErr(err)
	}
	return c.JSON(fiber.Map{"conversation": toItem(conv)})
}

// markRead is POST /api/conversations/{id}/read.
func (s *Server) markRead(c *fiber.Ctx) error {
	_, v, err := s.startAction(c, nil, "", true)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Runtime.MarkRead(c.UserContext(), c.Params("id"), v.actor()); err != nil {
		return inboxErr(err)
	}
	return c.JSON(fiber.Map{"ok": true})
}

// resolve is POST /api/conversations/{id}/resolve.
func (s *Server) resolve(c *fiber.Ctx) error {
	var req struct {
		CSAT bool `json:"csat"`
	}
	_, v, err := s.startAction(c, &req, `{"csat": true|false} or empty`, true)
	if err != nil {
		return err
	}
	conv, err := s.cfg.Runtime.Resolve(c.UserContext(), c.Params("id"), v.actor(), req.CSAT)
	if err != nil {
		return inboxErr(err)
	}
	return c.JSON(fiber.Map{"conversation": toItem(conv)})
}

// editLead is PATCH /api/conversations/{id}: tags and variables.
func (s *Server) editLead(c *fiber.Ctx) error {
	var req struct {
		Tags *[]string      `json:"tags"`
		Vars map[string]any `json:"vars"`
	}
	conv, v, err := s.startAction(c, &req, `{"tags": [...], "vars": {...}}`, false)
	if err != nil {
		return err
	}
	e := engine.LeadEdit{Vars: req.Vars}
	if req.Tags != nil {
		e.Tags, e.SetTags = *req.Tags, true
		for _, t := range e.Tags {
			if strings.TrimSpace(t) == "" || len(t) > 64 {
				return badRequest("a tag is 1 to 64 characters", t)
			}
		}
	}
	if len(req.Vars) > 0 {
		prog, err := s.cfg.Runtime.ConversationProgram(c.UserContext(), conv)
		if err != nil {
			return err
		}
		for name, val := range req.Vars {
			t, ok := prog.Flow.VarType(name)
			if !ok {
				return badRequest("no variable "+name+" in flow "+prog.Flow.ID, name)
			}
			if val == nil {
				continue
			}
			if _, err := eval.Convert(val, t); err != nil {
				return badRequest(fmt.Sprintf("%s: %v", name, err), name)
			}
		}
	}
	out, err := s.cfg.Runtime.EditLead(c.UserContext(), conv.ID, v.actor(), e)
	if err != nil {
		return inboxErr(err)
	}
	return c.JSON(fiber.Map{"conversation": toItem(out)})
}

// nodeJSON is a node the operator may hand the chat back to.
type nodeJSON struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Resume bool   `json:"resume,omitempty"`
}

// leadCard is GET /api/conversations/{id}/card.
func (s *Server) leadCard(c *fiber.Ctx) error {
	conv, _, err := s.visibleConversation(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	card := fiber.Map{"id": conv.ID, "bot": conv.Bot, "channel": conv.Channel, "chat": conv.Chat, "contact": conv.Contact,
		"name": displayName(conv), "source": sourceOf(conv), "score": conv.Score, "segment": conv.Segment,
		"tags": orEmpty(conv.Tags), "vars": conv.Vars, "inbox": conv.Inbox, "note": "",
		"flow": fiber.Map{"id": conv.FlowID, "version": conv.FlowVersion, "node": conv.Node}}
	if conv.Vars == nil {
		card["vars"] = map[string]any{}
	}
	if conv.Inbox != nil {
		card["note"] = conv.Inbox.Note
	}
	types := map[string]string{}
	nodes := []nodeJSON{}
	if s.cfg.Runtime != nil && conv.FlowID != "" {
		if prog, err := s.cfg.Runtime.ConversationProgram(ctx, conv); err == nil {
			resume := ""
			if n := prog.Flow.Node(conv.Node); n != nil {
				resume = n.Resume
			}
			for _, vr := range prog.Flow.Vars {
				types[vr.Name] = vr.Type.String()
			}
			for _, n := range prog.Flow.Nodes {
				nodes = append(nodes, nodeJSON{ID: n.ID, Type: n.Type, Text: clipRunes(n.Text, 80), Resume: n.ID == resume})
			}
		}
	}
	card["var_types"] = types
	card["nodes"] = nodes
	// The bot part: the lines before the first handoff, up to 100.
	msgs, _, err := s.cfg.Store.ListMessages(ctx, conv.ID, "", 100)
	if err != nil {
		return fmt.Errorf("transcript of %s: %w", conv.ID, err)
	}
	var bot []store.Message
	for _, m := range msgs {
		if m.Direction == store.DirectionSystem && m.Event == runtime.ReasonHandoff {
			break
		}
		bot = append(bot, m)
	}
	lines, err := s.transcriptJSON(ctx, conv, bot)
	if err != nil {
		return err
	}
	card["bot_transcript"] = lines
	return c.JSON(card)
}

func orEmpty(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// sourceOf is how the contact came: a "source" or "utm_source" variable
// when the flow keeps one, else how consent was given.
func sourceOf(c *store.Conversation) string {
	for _, k := range []string{"source", "utm_source"} {
		if v, ok := c.Vars[k].(string); ok && v != "" {
			return v
		}
	}
	return c.Consent.Source
}

// Canned replies.

var shortcutRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

type cannedRequest struct {
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

func (s *Server) listCanned(c *fiber.Ctx) error {
	if _, err := s.cfg.Store.GetBot(c.UserContext(), c.Params("bot")); err != nil {
		return botErr(err)
	}
	cs, err := s.cfg.Store.ListCanned(c.UserContext(), c.Params("bot"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []store.Canned{}
	}
	return c.JSON(fiber.Map{"canned": cs})
}

// cannedFrom checks a canned reply's body: the shortcut's shape, a text,
// and a template that compiles against the bot's current flow.
func (s *Server) cannedFrom(c *fiber.Ctx, id string) (store.Canned, error) {
	ctx := c.UserContext()
	bot := c.Params("bot")
	if _, err := s.cfg.Store.GetBot(ctx, bot); err != nil {
		return store.Canned{}, botErr(err)
	}
	var req cannedRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return store.Canned{}, badRequest(`the body must be {"shortcut", "title", "text"}`, err.Error())
	}
	req.Shortcut = strings.TrimPrefix(strings.TrimSpace(req.Shortcut), "/")
	if !shortcutRe.MatchString(req.Shortcut) {
		return store.Canned{}, badRequest("a shortcut is 1-32 lowercase Latin letters, digits, _ and -", req.Shortcut)
	}
	if strings.TrimSpace(req.Text) == "" || len([]rune(req.Text)) > 4096 {
		return store.Canned{}, badRequest("text is 1 to 4096 characters", nil)
	}
	if len([]rune(req.Title)) > 100 {
		return store.Canned{}, badRequest("title is at most 100 characters", nil)
	}
	if s.cfg.Runtime != nil {
		if prog, err := s.cfg.Runtime.BotProgram(ctx, bot); err == nil {
			if _, err := prog.Flow.Schema().CompileTemplate(req.Text); err != nil {
				return store.Canned{}, badRequest("text: "+err.Error(), nil)
			}
		}
	}
	return store.Canned{ID: id, Bot: bot, Shortcut: req.Shortcut, Title: req.Title, Text: req.Text,
		UpdatedAt: s.cfg.Now().UTC(), UpdatedBy: user(c)}, nil
}

func (s *Server) createCanned(c *fiber.Ctx) error {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	cr, err := s.cannedFrom(c, "c-"+hex.EncodeToString(b))
	if err != nil {
		return err
	}
	if err := s.putCanned(c, cr); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cr)
}

func (s *Server) updateCanned(c *fiber.Ctx) error {
	if _, err := s.cfg.Store.GetCanned(c.UserContext(), c.Params("bot"), c.Params("id")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("canned reply")
		}
		return err
	}
	cr, err := s.cannedFrom(c, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.putCanned(c, cr); err != nil {
		return err
	}
	return c.JSON(cr)
}

func (s *Server) putCanned(c *fiber.Ctx, cr store.Canned) error {
	err := s.cfg.Store.PutCanned(c.UserContext(), cr)
	if errors.Is(err, store.ErrDuplicate) {
		return &apiError{Status: fiber.StatusConflict, Msg: "the bot has a canned reply with shortcut " + cr.Shortcut}
	}
	return err
}

func (s *Server) deleteCanned(c *fiber.Ctx) error {
	if err := s.cfg.Store.DeleteCanned(c.UserContext(), c.Params("bot"), c.Params("id")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("canned reply")
		}
		return err
	}
	return c.JSON(fiber.Map{"ok": true})
}

// renderCanned is POST /api/conversations/{id}/canned/{canned}: the reply's
// text rendered for this chat, as a flow text would be.
func (s *Server) renderCanned(c *fiber.Ctx) error {
	conv, _, err := s.startAction(c, nil, "", true)
	if err != nil {
		return err
	}
	id := c.Params("canned")
	if !ValidID(id) {
		return badRequest("invalid canned reply id", id)
	}
	cr, err := s.cfg.Store.GetCanned(c.UserContext(), conv.Bot, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("canned reply")
		}
		return err
	}
	text, err := s.cfg.Runtime.RenderFor(c.UserContext(), conv, cr.Text)
	if err != nil {
		return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the canned reply does not fit this chat: " + err.Error()}
	}
	return c.JSON(fiber.Map{"text": text})
}
