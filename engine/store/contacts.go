package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Contacts lists a bot's conversations as leads (the contacts table of the
// builder and its CSV export).
type Contacts interface {
	// ListContacts pages through a bot's contacts matching q in q.Sort
	// order. next is "" at the end.
	ListContacts(ctx context.Context, q ContactQuery) (items []Conversation, next string, err error)
	// CountActive counts a bot's conversations whose last inbound message
	// came at or after since.
	CountActive(ctx context.Context, bot string, since time.Time) (int64, error)
}

// Contact sort orders (ContactQuery.Sort); the descending ones start with '-'.
const (
	SortLastSeen       = "last_seen"
	SortFirstSeen      = "first_seen"
	SortScore          = "score"
	DefaultContactSort = "-" + SortLastSeen
)

// ContactQuery selects and orders a bot's contacts.
type ContactQuery struct {
	Bot string
	// Filter, when set, keeps the contacts it matches: a compiled segment
	// filter (engine/segment), so the leads table and a segment made with
	// the same choices hold the same people. nil keeps every contact.
	Filter ContactFilter
	// Search is a case-insensitive substring of the name, username, phone,
	// chat id or a variable's value.
	Search string
	// Sort is last_seen, first_seen or score, '-' first for descending
	// (DefaultContactSort when empty); ties go by id.
	Sort   string
	Cursor string
	Limit  int
}

// ContactFilter is a compiled SegmentFilter (engine/segment.Matcher): Match
// decides; a store may use Fields to read fewer contacts, never to drop one
// that Match keeps.
type ContactFilter interface {
	Fields() SegmentFilter
	Match(c *Conversation) bool
}

// ErrBadCursor means a page cursor was not one the store made.
var ErrBadCursor = errors.New("bad cursor")

// LeadPhone is the contact's phone: the one the messenger shared, else a
// variable the flow saved under a phone-like name (phone, tel, телефон…).
func (c *Conversation) LeadPhone() string {
	if c.Contact.Phone != "" {
		return c.Contact.Phone
	}
	return c.varLike("phone", "tel", "телефон", "mobile", "whatsapp")
}

// LeadEmail is an e-mail address the flow saved (a variable named like
// email, or any variable holding an address).
func (c *Conversation) LeadEmail() string {
	if v := c.varLike("email", "e-mail", "mail", "почта"); v != "" {
		return v
	}
	for _, k := range sortedVarNames(c.Vars) {
		if s, ok := c.Vars[k].(string); ok && looksLikeEmail(s) {
			return s
		}
	}
	return ""
}

// varLike returns the first (by name) non-empty string variable whose
// name contains one of the words.
func (c *Conversation) varLike(words ...string) string {
	for _, k := range sortedVarNames(c.Vars) {
		lk := strings.ToLower(k)
		for _, w := range words {
			if strings.Contains(lk, w) {
				if s := fmt.Sprint(c.Vars[k]); s != "" && c.Vars[k] != nil {
					return s
				}
			}
		}
	}
	return ""
}

func sortedVarNames(vars map[string]any) []string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && strings.IndexByte(s[at:], '.') > 1 && !strings.ContainsAny(s, " \t\n")
}

// ContactMatchesSearch reports whether lowerNeedle (lower case) is part of
// the contact's name, username, phone, chat id or a variable's value.
func ContactMatchesSearch(c *Conversation, lowerNeedle string) bool {
	in := func(s string) bool { return s != "" && strings.Contains(strings.ToLower(s), lowerNeedle) }
	if in(c.Contact.FirstName+" "+c.Contact.LastName) || in(c.Contact.Username) || in(c.Contact.Phone) || in(c.Chat) {
		return true
	}
	for _, v := range c.Vars {
		if s, ok := v.(string); ok && in(s) {
			return true
		}
	}
	return false
}
