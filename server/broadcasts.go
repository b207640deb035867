package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// mountBroadcasts registers segments and broadcasts (marketers and admins).
func (s *Server) mountBroadcasts(api fiber.Router) {
	m := allow(store.RoleMarketer)
	api.Get("/bots/:bot/segments", m, s.listSegments)
	api.Post("/bots/:bot/segments", m, s.createSegment)
	api.Get("/bots/:bot/segments/count", m, s.countFilter)
	api.Post("/bots/:bot/segments/count", m, s.countFilter)
	api.Get("/bots/:bot/segments/:id", m, s.getSegment)
	api.Put("/bots/:bot/segments/:id", m, s.putSegment)
	api.Delete("/bots/:bot/segments/:id", m, s.deleteSegment)
	api.Get("/bots/:bot/segments/:id/count", m, s.countSegment)
	api.Get("/bots/:bot/broadcasts", m, s.listBroadcasts)
	api.Post("/bots/:bot/broadcasts", m, s.createBroadcast)
	api.Get("/bots/:bot/broadcasts/:id", m, s.getBroadcast)
	api.Put("/bots/:bot/broadcasts/:id", m, s.putBroadcast)
	api.Post("/broadcasts/:id/:action", m, s.broadcastAction)
}

func newID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Server) schema(ctx context.Context, bot string) *eval.Schema {
	if s.cfg.Runtime == nil {
		return nil
	}
	return s.cfg.Runtime.Schema(ctx, bot)
}

// segmentBody is what a client sends for a segment.
type segmentBody struct {
	Name   string              `json:"name"`
	Filter store.SegmentFilter `json:"filter"`
}

func (s *Server) readSegment(c *fiber.Ctx) (segmentBody, error) {
	var body segmentBody
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return body, badRequest("the body must be a JSON segment {name, filter}", err.Error())
	}
	var probs []segment.Problem
	if strings.TrimSpace(body.Name) == "" {
		probs = append(probs, segment.Problem{Field: "name", Message: "the segment needs a name"})
	}
	if _, err := segment.Compile(body.Filter, s.schema(c.UserContext(), c.Params("bot"))); err != nil {
		if e, ok := segment.AsError(err); ok {
			probs = append(probs, e.Problems...)
		}
	}
	if len(probs) > 0 {
		return body, &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the segment has problems", Details: probs}
	}
	return body, nil
}

func (s *Server) listSegments(c *fiber.Ctx) error {
	list, err := s.cfg.Store.ListSegments(c.UserContext(), c.Params("bot"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []store.Segment{}
	}
	return c.JSON(fiber.Map{"segments": list})
}

func (s *Server) createSegment(c *fiber.Ctx) error {
	body, err := s.readSegment(c)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	sg := store.Segment{ID: newID("sg-"), Bot: c.Params("bot"), Name: strings.TrimSpace(body.Name), Filter: body.Filter,
		CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Store.PutSegment(c.UserContext(), sg); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sg)
}

func (s *Server) getSegment(c *fiber.Ctx) error {
	sg, err := s.cfg.Store.GetSegment(c.UserContext(), c.Params("bot"), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("segment")
	}
	if err != nil {
		return err
	}
	return c.JSON(sg)
}

func (s *Server) putSegment(c *fiber.Ctx) error {
	sg, err := s.cfg.Store.GetSegment(c.UserContext(), c.Params("bot"), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("segment")
	}
	if err != nil {
		return err
	}
	body, err := s.readSegment(c)
	if err != nil {
		return err
	}
	sg.Name, sg.Filter, sg.UpdatedAt = strings.TrimSpace(body.Name), body.Filter, time.Now().UTC()
	if err := s.cfg.Store.PutSegment(c.UserContext(), *sg); err != nil {
		return err
	}
	return c.JSON(sg)
}

func (s *Server) deleteSegment(c *fiber.Ctx) error {
	err := s.cfg.Store.DeleteSegment(c.UserContext(), c.Params("bot"), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("segment")
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) countMembers(ctx context.Context, bot string, f store.SegmentFilter) (segment.Count, error) {
	m, err := s.compileFilter(ctx, bot, f)
	if err != nil {
		return segment.Count{}, err
	}
	return segment.CountContacts(ctx, s.cfg.Store, bot, m)
}

func (s *Server) countSegment(c *fiber.Ctx) error {
	sg, err := s.cfg.Store.GetSegment(c.UserContext(), c.Params("bot"), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("segment")
	}
	if err != nil {
		return err
	}
	n, err := s.countMembers(c.UserContext(), sg.Bot, sg.Filter)
	if err != nil {
		return err
	}
	return c.JSON(n)
}

// countFilter counts an unsaved filter: the body (POST) or ?filter= (GET)
// holds its JSON.
func (s *Server) countFilter(c *fiber.Ctx) error {
	raw := c.Body()
	if c.Method() == fiber.MethodGet {
		raw = []byte(c.Query("filter", "{}"))
	}
	var f store.SegmentFilter
	if err := json.Unmarshal(raw, &f); err != nil {
		return badRequest("the filter must be JSON", err.Error())
	}
	n, err := s.countMembers(c.UserContext(), c.Params("bot"), f)
	if err != nil {
		return err
	}
	return c.JSON(n)
}

// broadcastBody is what a client sends to create or edit a broadcast.
type broadcastBody struct {
	Name          string                   `json:"name"`
	Mode          string                   `json:"mode"`
	Variants      []store.BroadcastVariant `json:"variants"`
	NoUnsubscribe bool                     `json:"no_unsubscribe"`
	Flow          string                   `json:"flow"`
	Node          string                   `json:"node"`
	Segment       string                   `json:"segment"`
	StartAt       time.Time                `json:"start_at"`
	Window        *store.QuietHours        `json:"window"`
	// Template is what a WhatsApp recipient outside the 24-hour window gets.
	Template *store.BroadcastTemplate `json:"template"`
	// Start sends it at once (or at StartAt) instead of keeping a draft.
	Start bool `json:"start"`
}

func (s *Server) readBroadcast(c *fiber.Ctx, b *store.Broadcast) (bool, error) {
	var body broadcastBody
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return false, badRequest("the body must be a JSON broadcast", err.Error())
	}
	b.Name, b.Mode, b.Variants, b.NoUnsubscribe = strings.TrimSpace(body.Name), body.Mode, body.Variants, body.NoUnsubscribe
	b.Flow, b.Node, b.Segment, b.StartAt, b.Window = body.Flow, body.Node, body.Segment, body.StartAt.UTC(), body.Window
	b.Template = nil
	if t := body.Template; t != nil && (strings.TrimSpace(t.Name) != "" || strings.TrimSpace(t.Language) != "" || len(t.Params) > 0) {
		t.Name, t.Language = strings.TrimSpace(t.Name), strings.TrimSpace(t.Language)
		b.Template = t
	}
	if b.Mode == "" {
		b.Mode = store.BroadcastMessage
	}
	if len(b.Variants) == 1 && b.Variants[0].Weight <= 0 {
		b.Variants[0].Weight = 1
	}
	var probs []segment.Problem
	if b.Name == "" {
		probs = append(probs, segment.Problem{Field: "name", Message: "the broadcast needs a name"})
	}
	if s.cfg.Runtime != nil {
		probs = append(probs, s.cfg.Runtime.CheckBroadcast(c.UserContext(), b)...)
	}
	if len(probs) > 0 {
		return false, &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the broadcast has problems", Details: probs}
	}
	return body.Start, nil
}

func (s *Server) createBroadcast(c *fiber.Ctx) error {
	now := time.Now().UTC()
	b := &store.Broadcast{ID: newID("bc-"), Bot: c.Params("bot"), Status: store.BroadcastDraft, CreatedAt: now, UpdatedAt: now}
	if u, _ := c.Locals("user").(string); u != "" {
		b.CreatedBy = u
	}
	start, err := s.readBroadcast(c, b)
	if err != nil {
		return err
	}
	if start {
		s.startStatus(b, now)
	}
	if err := s.cfg.Store.CreateBroadcast(c.UserContext(), b); err != nil {
		return err
	}
	s.wakeBroadcasts()
	return c.Status(fiber.StatusCreated).JSON(b)
}

// putBroadcast edits a draft or scheduled broadcast.
func (s *Server) putBroadcast(c *fiber.Ctx) error {
	b, err := s.botBroadcast(c)
	if err != nil {
		return err
	}
	if b.Status != store.BroadcastDraft && b.Status != store.BroadcastScheduled {
		return &apiError{Status: fiber.StatusConflict, Msg: "only a draft or a scheduled broadcast can be edited"}
	}
	start, err := s.readBroadcast(c, b)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	b.UpdatedAt = now
	if start {
		s.startStatus(b, now)
	}
	if err := s.cfg.Store.UpdateBroadcast(c.UserContext(), b); err != nil {
		return err
	}
	s.wakeBroadcasts()
	return c.JSON(b)
}

func (s *Server) startStatus(b *store.Broadcast, now time.Time) {
	b.Status = store.BroadcastRunning
	if b.StartAt.After(now) {
		b.Status = store.BroadcastScheduled
	}
}

func (s *Server) wakeBroadcasts() {
	if s.cfg.Runtime != nil {
		s.cfg.Runtime.WakeBroadcasts()
	}
}

func (s *Server) botBroadcast(c *fiber.Ctx) (*store.Broadcast, error) {
	b, err := s.cfg.Store.GetBroadcast(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || err == nil && b.Bot != c.Params("bot") {
		return nil, notFound("broadcast")
	}
	return b, err
}

func (s *Server) listBroadcasts(c *fiber.Ctx) error {
	list, err := s.cfg.Store.ListBroadcasts(c.UserContext(), c.Params("bot"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []store.Broadcast{}
	}
	return c.JSON(fiber.Map{"broadcasts": list})
}

// variantResult is how one variant did.
type variantResult struct {
	Name string `json:"name"`
	Sent int    `json:"sent"`
	// Presses counts presses on the variant's buttons (unsubscribe included).
	Presses int `json:"presses"`
	// Goals counts recipients who reached a goal within 7 days of the send.
	Goals int `json:"goals"`
	// Unsubscribes counts recipients who unsubscribed within 24 hours.
	Unsubscribes int `json:"unsubscribes"`
}

func (s *Server) getBroadcast(c *fiber.Ctx) error {
	b, err := s.botBroadcast(c)
	if err != nil {
		return err
	}
	if c.Query("results") == "0" {
		// Progress alone: results page through every receipt.
		return c.JSON(fiber.Map{"broadcast": b})
	}
	res, err := s.results(c.UserContext(), b)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"broadcast": b, "results": res})
}

// results reads the broadcast's receipts and the events after its start.
func (s *Server) results(ctx context.Context, b *store.Broadcast) ([]variantResult, error) {
	out := make([]variantResult, len(b.Variants))
	idx := map[string]int{}
	for i, v := range b.Variants {
		out[i].Name = v.Name
		idx[v.Name] = i
	}
	if b.StartedAt.IsZero() || len(out) == 0 {
		return out, nil
	}
	type sent struct {
		v  int
		at time.Time
	}
	got := map[string]sent{}
	after := ""
	for {
		page, next, err := s.cfg.Store.ListReceipts(ctx, b.ID, after, store.MaxLimit)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.Status == store.RecipientFailed {
				continue
			}
			i, ok := idx[r.Variant]
			if !ok {
				continue
			}
			got[r.Conversation] = sent{i, r.At}
			out[i].Sent++
		}
		if next == "" {
			break
		}
		after = next
	}
	goals, unsubs := map[string]bool{}, map[string]bool{}
	q := store.EventQuery{Bot: b.Bot, Types: []string{runtime.EvBroadcastButton, "goal", "unsubscribed"},
		From: b.StartedAt, Limit: store.MaxLimit}
	for {
		page, next, err := s.cfg.Store.QueryEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			r, ok := got[e.Conversation]
			if !ok || e.At.Before(r.at) {
				continue
			}
			switch e.Type {
			case runtime.EvBroadcastButton:
				if e.Data["broadcast"] == b.ID {
					out[r.v].Presses++
				}
			case "goal":
				if e.At.Sub(r.at) <= 7*24*time.Hour && !goals[e.Conversation] {
					goals[e.Conversation] = true
					out[r.v].Goals++
				}
			case "unsubscribed":
				if e.At.Sub(r.at) <= 24*time.Hour && !unsubs[e.Conversation] {
					unsubs[e.Conversation] = true
					out[r.v].Unsubscribes++
				}
			}
		}
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

// broadcastAction is start, pause, resume, cancel or test.
func (s *Server) broadcastAction(c *fiber.Ctx) error {
	ctx := c.UserContext()
	action := c.Params("action")
	for range 10 {
		b, err := s.cfg.Store.GetBroadcast(ctx, c.Params("id"))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("broadcast")
		}
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		from := map[string][]store.BroadcastStatus{
			"start":  {store.BroadcastDraft},
			"pause":  {store.BroadcastRunning, store.BroadcastScheduled},
			"resume": {store.BroadcastPaused},
			"cancel": {store.BroadcastDraft, store.BroadcastScheduled, store.BroadcastRunning, store.BroadcastPaused},
		}
		switch action {
		case "test":
			return s.testSend(c, b)
		case "start", "resume":
			if !slicesContains(from[action], b.Status) {
				return conflictStatus(action, b.Status)
			}
			if s.cfg.Runtime != nil {
				if probs := s.cfg.Runtime.CheckBroadcast(ctx, b); len(probs) > 0 {
					return &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the broadcast has problems", Details: probs}
				}
			}
			s.startStatus(b, now)
			b.Error = ""
		case "pause":
			if !slicesContains(from[action], b.Status) {
				return conflictStatus(action, b.Status)
			}
			b.Status = store.BroadcastPaused
		case "cancel":
			if !slicesContains(from[action], b.Status) {
				return conflictStatus(action, b.Status)
			}
			b.Status, b.FinishedAt = store.BroadcastCancelled, now
		default:
			return notFound("broadcast action " + action)
		}
		b.UpdatedAt = now
		err = s.cfg.Store.UpdateBroadcast(ctx, b)
		if errors.Is(err, store.ErrVersionConflict) {
			continue // the runner saved progress meanwhile
		}
		if err != nil {
			return err
		}
		s.wakeBroadcasts()
		return c.JSON(b)
	}
	return fmt.Errorf("broadcast %s: %w", c.Params("id"), store.ErrVersionConflict)
}

func slicesContains(list []store.BroadcastStatus, v store.BroadcastStatus) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func conflictStatus(action string, st store.BroadcastStatus) error {
	return &apiError{Status: fiber.StatusConflict, Msg: fmt.Sprintf("cannot %s a broadcast that is %s", action, st)}
}

// testSend sends a variant to one chat of the bot (the marketer's own):
// {"channel":"telegram","chat":"42","variant":0}.
func (s *Server) testSend(c *fiber.Ctx, b *store.Broadcast) error {
	var body struct {
		Channel string `json:"channel"`
		Chat    string `json:"chat"`
		Variant int    `json:"variant"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil || body.Chat == "" {
		return badRequest(`the body must be {"channel":"telegram","chat":"<chat id>","variant":0}`, nil)
	}
	if body.Channel == "" {
		body.Channel = "telegram"
	}
	if s.cfg.Runtime == nil {
		return &apiError{Status: fiber.StatusServiceUnavailable, Msg: "no runtime to send with"}
	}
	conv := store.ConversationID(b.Bot, body.Channel, body.Chat)
	if err := s.cfg.Runtime.SendTest(c.UserContext(), b, conv, body.Variant); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{Status: fiber.StatusNotFound, Msg: "that chat has not written to the bot yet: write to it first"}
		}
		return &apiError{Status: fiber.StatusBadGateway, Msg: "test send failed", Details: err.Error()}
	}
	return c.JSON(fiber.Map{"sent": true, "conversation": conv})
}
