package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/flow"
	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// contactJSON is one lead as the contacts table and its card show it.
type contactJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Channel   string            `json:"channel"`
	Chat      string            `json:"chat"`
	Username  string            `json:"username,omitempty"`
	Phone     string            `json:"phone,omitempty"`
	Email     string            `json:"email,omitempty"`
	Score     float64           `json:"score"`
	Segment   string            `json:"segment,omitempty"`
	Tags      []string          `json:"tags"`
	Status    store.Status      `json:"status,omitempty"`
	Source    string            `json:"source,omitempty"`
	UTM       map[string]string `json:"utm,omitempty"`
	FirstSeen time.Time         `json:"first_seen,omitzero"`
	LastSeen  time.Time         `json:"last_seen,omitzero"`
	Consent   store.Consent     `json:"consent"`
	Blocked   bool              `json:"blocked,omitempty"`
	Flow      string            `json:"flow,omitempty"`
	Node      string            `json:"node,omitempty"`
	Vars      map[string]any    `json:"vars"`
}

func toContact(c *store.Conversation) contactJSON {
	name := strings.TrimSpace(c.Contact.FirstName + " " + c.Contact.LastName)
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	vars := c.Vars
	if vars == nil {
		vars = map[string]any{}
	}
	return contactJSON{ID: c.ID, Name: name, Channel: c.Channel, Chat: c.Chat, Username: c.Contact.Username,
		Phone: c.LeadPhone(), Email: c.LeadEmail(), Score: c.Score, Segment: segment.LeadSegment(c), Tags: tags, Status: c.Status,
		Source: c.Contact.Source, UTM: c.Contact.UTM, FirstSeen: c.CreatedAt, LastSeen: segment.LastSeen(c),
		Consent: c.Consent, Blocked: c.Blocked, Flow: c.FlowID, Node: c.Node, Vars: vars}
}

// contacts answers GET /api/bots/{bot}/contacts: a page of leads as JSON,
// or (format=csv) every lead matching the filters, streamed. The JSON
// carries the filter as a segment keeps it, so "save as segment" saves
// exactly what the table shows.
func (s *Server) contacts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot := c.Params("bot")
	b, err := s.cfg.Store.GetBot(ctx, bot)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load bot %s: %w", bot, err)
	}
	f, err := filterQuery(c, analytics.Location(b))
	if err != nil {
		return err
	}
	q := store.ContactQuery{Bot: bot, Search: c.Query("q"), Sort: c.Query("sort"), Cursor: c.Query("cursor"), Limit: c.QueryInt("limit", 50)}
	switch strings.TrimPrefix(q.Sort, "-") {
	case "", store.SortLastSeen, store.SortFirstSeen, store.SortScore:
	default:
		return badRequest("sort is last_seen, first_seen or score, with - for descending", q.Sort)
	}
	if !f.IsZero() {
		m, err := s.compileFilter(ctx, bot, f)
		if err != nil {
			return err
		}
		q.Filter = m
	}
	if c.Query("format") == "csv" {
		return s.contactsCSV(c, q, b)
	}
	items, next, err := s.cfg.Store.ListContacts(ctx, q)
	if errors.Is(err, store.ErrBadCursor) {
		return badRequest("cursor is not one this API gave", q.Cursor)
	}
	if err != nil {
		return err
	}
	out := make([]contactJSON, len(items))
	for i := range items {
		out[i] = toContact(&items[i])
	}
	return c.JSON(fiber.Map{"contacts": out, "next": next, "filter": f})
}

// filterQuery reads a segment filter from the query, the words the leads
// page and the segment editor share: segment, tag, channel, status (each
// repeated or comma-separated for several; every tag must be there, any of
// the others), source, score_min, score_max, from and to (last seen, local
// days, inclusive), first_from and first_to (first seen, likewise), goal
// (repeated or comma-separated: every one reached) and expr.
func filterQuery(c *fiber.Ctx, loc *time.Location) (store.SegmentFilter, error) {
	args := c.Context().QueryArgs()
	list := func(name string) []string {
		var out []string
		for _, v := range args.PeekMulti(name) {
			for _, p := range strings.Split(string(v), ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f := store.SegmentFilter{Segments: list("segment"), Tags: list("tag"), Channels: list("channel"), Goals: list("goal"),
		Source: strings.TrimSpace(c.Query("source")), Expr: strings.TrimSpace(c.Query("expr"))}
	for _, st := range list("status") {
		f.Statuses = append(f.Statuses, store.Status(st))
	}
	for _, p := range []struct {
		name string
		to   **float64
	}{{"score_min", &f.ScoreMin}, {"score_max", &f.ScoreMax}} {
		if v := c.Query(p.name); v != "" {
			n, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
			if err != nil {
				return f, badRequest(p.name+" is a number", v)
			}
			*p.to = &n
		}
	}
	for _, p := range []struct {
		name string
		to   **time.Time
		end  bool
	}{{"from", &f.LastSeenFrom, false}, {"to", &f.LastSeenTo, true}, {"first_from", &f.FirstSeenFrom, false}, {"first_to", &f.FirstSeenTo, true}} {
		if v := c.Query(p.name); v != "" {
			d, err := time.ParseInLocation(time.DateOnly, v, loc)
			if err != nil {
				return f, badRequest(p.name+" is a date: YYYY-MM-DD", v)
			}
			if p.end { // the last instant of the day: the bounds are inclusive
				d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
			}
			d = d.UTC()
			*p.to = &d
		}
	}
	return f, nil
}

// compileFilter compiles f against the bot's variables, with the goals it
// needs loaded; a bad filter is a 422 listing its problems by field.
func (s *Server) compileFilter(ctx context.Context, bot string, f store.SegmentFilter) (*segment.Matcher, error) {
	m, err := segment.Compile(f, s.schema(ctx, bot))
	if err != nil {
		if e, ok := segment.AsError(err); ok {
			return nil, &apiError{Status: fiber.StatusUnprocessableEntity, Msg: "the filter has problems", Details: e.Problems}
		}
		return nil, err
	}
	if err := m.LoadGoals(ctx, s.cfg.Store, bot); err != nil {
		return nil, err
	}
	return m, nil
}

// contactsCSV streams every matching lead, a page at a time (constant
// memory however many there are). Columns: the lead's fields, then one
// per variable the bot's flow declares, then any other variables as JSON.
func (s *Server) contactsCSV(c *fiber.Ctx, q store.ContactQuery, b *store.Bot) error {
	declared := s.declaredVars(c.UserContext(), q.Bot, b)
	q.Limit, q.Cursor = 500, ""
	head := []string{"id", "name", "channel", "chat", "username", "phone", "email", "score", "segment", "tags", "status",
		"source", "first_seen", "last_seen", "subscribed", "blocked", "node"}
	head = append(append(head, declared...), "other_variables")
	name := fmt.Sprintf("%s-contacts-%s.csv", q.Bot, s.cfg.Now().UTC().Format("2006-01-02"))
	st := s.cfg.Store
	return sendCSV(c, name, func(w *csvWriter) error {
		// The request's context ends when the handler returns; the stream
		// outlives it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		w.Row(head...)
		for {
			items, next, err := st.ListContacts(ctx, q)
			if err != nil {
				return err
			}
			for i := range items {
				w.Row(contactRow(&items[i], declared)...)
			}
			if w.err != nil {
				return w.err
			}
			if next == "" {
				return nil
			}
			q.Cursor = next
		}
	})
}

func contactRow(c *store.Conversation, declared []string) []string {
	k := toContact(c)
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	row := []string{k.ID, k.Name, k.Channel, k.Chat, k.Username, k.Phone, k.Email, strconv.FormatFloat(k.Score, 'f', -1, 64),
		k.Segment, strings.Join(k.Tags, ","), string(k.Status), k.Source, when(k.FirstSeen), when(k.LastSeen),
		strconv.FormatBool(k.Consent.Subscribed), strconv.FormatBool(k.Blocked), k.Node}
	rest := map[string]any{}
	for name, v := range c.Vars {
		rest[name] = v
	}
	for _, name := range declared {
		v, ok := c.Vars[name]
		delete(rest, name)
		if !ok || v == nil {
			row = append(row, "")
			continue
		}
		row = append(row, fmt.Sprint(v))
	}
	other := ""
	if len(rest) > 0 {
		b, _ := json.Marshal(rest)
		other = string(b)
	}
	return append(row, other)
}

// declaredVars lists the variables the bot's flows declare (the current
// version of its flow, else every flow it has), sorted.
func (s *Server) declaredVars(ctx context.Context, bot string, b *store.Bot) []string {
	var ids []string
	if b != nil && b.FlowID != "" {
		ids = []string{b.FlowID}
	} else if all, err := s.cfg.Store.ListFlowIDs(ctx, bot); err == nil {
		ids = all
	}
	seen := map[string]bool{}
	for _, id := range ids {
		v, err := s.cfg.Store.LatestFlowVersion(ctx, bot, id)
		if err != nil {
			continue
		}
		f, _ := flow.Load(id+".yaml", v.Doc)
		if f == nil {
			continue
		}
		for _, d := range f.Vars {
			seen[d.Name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
