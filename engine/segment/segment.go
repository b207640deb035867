// Package segment decides which of a bot's contacts a saved filter
// (store.SegmentFilter) selects: the live count while a marketer edits a
// segment and the audience of a broadcast use the same Matcher, so the
// number shown is the number reached.
package segment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/eval"
	"github.com/voronka/voronka/engine/store"
)

// Problem is one thing wrong with a filter, named by its field.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error lists every problem of a filter that cannot be used.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Field + ": " + p.Message
	}
	return "segment filter: " + strings.Join(msgs, "; ")
}

// Known lead segments and conversation statuses.
var (
	leadSegments = []string{"hot", "warm", "cold"}
	statuses     = []store.Status{store.StatusBot, store.StatusWaiting, store.StatusHandoff, store.StatusEnded}
)

// Matcher is a compiled filter. It is the one meaning of a filter: the
// segment count, a broadcast's audience and the contacts table
// (store.ContactQuery.Filter) all ask it.
type Matcher struct {
	f      store.SegmentFilter
	cond   *eval.Expr
	schema *eval.Schema
	// goals maps a conversation to the goals it reached (only when the
	// filter asks for goals).
	goals map[string][]string
}

// Compile checks f and compiles its expression against schema (the bot's
// flow variables; nil allows only the built-in names). A bad filter is an
// *Error listing every problem.
func Compile(f store.SegmentFilter, schema *eval.Schema) (*Matcher, error) {
	var probs []Problem
	for _, s := range f.Segments {
		if !slices.Contains(leadSegments, s) {
			probs = append(probs, Problem{"segments", fmt.Sprintf("unknown segment %q (hot, warm or cold)", s)})
		}
	}
	for _, st := range f.Statuses {
		if !slices.Contains(statuses, st) {
			probs = append(probs, Problem{"statuses", fmt.Sprintf("unknown status %q (bot, waiting, handoff or ended)", st)})
		}
	}
	if f.ScoreMin != nil && f.ScoreMax != nil && *f.ScoreMin > *f.ScoreMax {
		probs = append(probs, Problem{"score_min", "the minimum score is above the maximum"})
	}
	if f.FirstSeenFrom != nil && f.FirstSeenTo != nil && f.FirstSeenFrom.After(*f.FirstSeenTo) {
		probs = append(probs, Problem{"first_seen_from", "the range ends before it starts"})
	}
	if f.LastSeenFrom != nil && f.LastSeenTo != nil && f.LastSeenFrom.After(*f.LastSeenTo) {
		probs = append(probs, Problem{"last_seen_from", "the range ends before it starts"})
	}
	m := &Matcher{f: f}
	if strings.TrimSpace(f.Expr) != "" {
		if schema == nil {
			schema = eval.NewSchema(nil)
		}
		cond, err := schema.CompileCond(f.Expr)
		if err != nil {
			probs = append(probs, Problem{"expr", err.Error()})
		}
		m.cond, m.schema = cond, schema
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	return m, nil
}

// Fields is the filter as written (store.ContactFilter).
func (m *Matcher) Fields() store.SegmentFilter { return m.f }

// NeedsGoals reports whether Match needs the goals contacts reached.
func (m *Matcher) NeedsGoals() bool { return len(m.f.Goals) > 0 }

// LoadGoals reads from the event log which goals each conversation of bot
// reached, for a filter that asks (NeedsGoals), once.
func (m *Matcher) LoadGoals(ctx context.Context, ev store.Events, bot string) error {
	if !m.NeedsGoals() || m.goals != nil {
		return nil
	}
	goals := map[string][]string{}
	q := store.EventQuery{Bot: bot, Types: []string{"goal"}, Limit: store.MaxLimit}
	for {
		page, next, err := ev.QueryEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("load goals of bot %s: %w", bot, err)
		}
		for _, e := range page {
			name, _ := e.Data["name"].(string)
			if name != "" && !slices.Contains(goals[e.Conversation], name) {
				goals[e.Conversation] = append(goals[e.Conversation], name)
			}
		}
		if next == "" {
			m.goals = goals
			return nil
		}
		q.Cursor = next
	}
}

// Match reports whether the conversation is in the segment, whatever its
// consent (the caller counts consent on its own).
func (m *Matcher) Match(c *store.Conversation) bool {
	f := &m.f
	if len(f.Segments) > 0 && !slices.Contains(f.Segments, LeadSegment(c)) {
		return false
	}
	for _, t := range f.Tags {
		if !c.HasTag(t) {
			return false
		}
	}
	if f.ScoreMin != nil && c.Score < *f.ScoreMin || f.ScoreMax != nil && c.Score > *f.ScoreMax {
		return false
	}
	if len(f.Channels) > 0 && !slices.Contains(f.Channels, c.Channel) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, c.Status) {
		return false
	}
	if f.Source != "" && !strings.EqualFold(c.Contact.Source, f.Source) {
		return false
	}
	if f.FirstSeenFrom != nil && c.CreatedAt.Before(*f.FirstSeenFrom) || f.FirstSeenTo != nil && c.CreatedAt.After(*f.FirstSeenTo) {
		return false
	}
	last := LastSeen(c)
	if f.LastSeenFrom != nil && last.Before(*f.LastSeenFrom) || f.LastSeenTo != nil && last.After(*f.LastSeenTo) {
		return false
	}
	for _, g := range f.Goals {
		if !slices.Contains(m.goals[c.ID], g) {
			return false
		}
	}
	if m.cond != nil {
		ok, err := m.cond.EvalBool(Env(c, m.schema))
		if err != nil || !ok {
			// An expression that cannot be evaluated for a contact (a
			// variable of another type) leaves the contact out.
			return false
		}
	}
	return true
}

// LeadSegment is the lead segment; a contact never scored is cold.
func LeadSegment(c *store.Conversation) string {
	if c.Segment == "" {
		return "cold"
	}
	return c.Segment
}

// LastSeen is when the contact last wrote; one who never wrote (a
// conversation the bot opened) was last seen when it was created.
func LastSeen(c *store.Conversation) time.Time {
	if c.LastInboundAt.IsZero() {
		return c.CreatedAt
	}
	return c.LastInboundAt
}

// Env is the evaluation environment of a conversation, for filters and
// broadcast templates. schema nil takes the variables as they are.
func Env(c *store.Conversation, schema *eval.Schema) *eval.Env {
	if schema == nil {
		vars := make([]eval.Var, 0, len(c.Vars))
		for name := range c.Vars {
			if !eval.IsReserved(name) {
				vars = append(vars, eval.Var{Name: name, Type: eval.TypeAny})
			}
		}
		schema = eval.NewSchema(vars)
	}
	return &eval.Env{Schema: schema, Vars: c.Vars, Score: c.Score, Tags: c.Tags, Segment: LeadSegment(c),
		Contact: eval.Contact{FirstName: c.Contact.FirstName, LastName: c.Contact.LastName,
			Username: c.Contact.Username, Language: c.Contact.Language, Channel: c.Channel, Phone: c.Contact.Phone, Source: c.Contact.Source}}
}

// Count is what a filter selects among a bot's contacts.
type Count struct {
	// Members match the filter; Reachable of them may get a broadcast now
	// (consenting, not blocked).
	Members   int `json:"members"`
	Reachable int `json:"reachable"`
	// Contacts is every contact of the bot looked at.
	Contacts int `json:"contacts"`
}

// CountContacts pages through the bot's contacts and counts the members.
func CountContacts(ctx context.Context, st interface {
	store.Broadcasts
	store.Events
}, bot string, m *Matcher) (Count, error) {
	var n Count
	if err := m.LoadGoals(ctx, st, bot); err != nil {
		return n, err
	}
	after := ""
	for {
		page, next, err := st.ScanContacts(ctx, bot, after, store.MaxLimit)
		if err != nil {
			return n, fmt.Errorf("count segment: %w", err)
		}
		for i := range page {
			c := &page[i]
			n.Contacts++
			if m.Match(c) {
				n.Members++
				if c.Consent.Subscribed && !c.Blocked {
					n.Reachable++
				}
			}
		}
		if next == "" {
			return n, nil
		}
		after = next
	}
}

// AsError returns the filter problems err carries, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
