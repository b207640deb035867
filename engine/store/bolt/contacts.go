package bolt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// scoreKey encodes a score so that byte order is numeric order.
func scoreKey(f float64) []byte {
	u := math.Float64bits(f)
	if f >= 0 {
		u |= 1 << 63
	} else {
		u = ^u
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], u)
	return b[:]
}

// contactsIndexed marks a file whose conversations all have the contact
// index entries (idxSeen, idxFirst, idxScore); files written before get
// them once, at open.
var contactsIndexed = []byte("\x00contacts-indexed")

// indexContacts rewrites every conversation written before the contact
// indexes existed, so its index entries and inline key list include them.
func indexContacts(db *bolt.DB) error {
	done := false
	if err := db.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bConvIdx).Get(contactsIndexed) != nil
		return nil
	}); err != nil || done {
		return err
	}
	var after []byte
	for {
		var batch []*encodedConv
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bConvs).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < 2000; k, v = c.Next() {
				version, _, doc, _, err := splitConv(v)
				if err != nil {
					return fmt.Errorf("conversation %s: %w", k, err)
				}
				conv, err := decodeConvDoc(doc)
				if err != nil {
					return fmt.Errorf("conversation %s: %w", k, err)
				}
				conv.Version = version
				e, err := encodeConvWrite(conv)
				if err != nil {
					return err
				}
				batch = append(batch, e)
				after = bytes.Clone(k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			docs, idx, old := tx.Bucket(bConvs), tx.Bucket(bConvIdx), tx.Bucket(bConvKeys)
			for _, e := range batch {
				// The new key list holds the old keys too: it moves inline.
				if err := old.Delete(e.id); err != nil {
					return err
				}
				for _, k := range e.keys {
					if err := idx.Put(k, nil); err != nil {
						return err
					}
				}
				if err := docs.Put(e.id, e.val); err != nil {
					return err
				}
			}
			if len(batch) == 0 {
				return idx.Put(contactsIndexed, []byte{1})
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return err
		}
	}
}

// ListContacts implements store.Contacts: it walks the sort order's index
// and reads the documents, keeping those that match, until the page is full.
func (s *Store) ListContacts(ctx context.Context, q store.ContactQuery) ([]store.Conversation, string, error) {
	limit := store.ClampLimit(q.Limit)
	sort := q.Sort
	if sort == "" {
		sort = store.DefaultContactSort
	}
	desc := strings.HasPrefix(sort, "-")
	var kind byte
	switch strings.TrimPrefix(sort, "-") {
	case store.SortLastSeen:
		kind = idxSeen
	case store.SortFirstSeen:
		kind = idxFirst
	case store.SortScore:
		kind = idxScore
	default:
		return nil, "", fmt.Errorf("list contacts: unknown sort %q", q.Sort)
	}
	p := append([]byte{kind}, prefix(q.Bot)...)
	var from []byte
	if q.Cursor != "" {
		c, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || len(c) < 8 {
			return nil, "", fmt.Errorf("list contacts: bad cursor: %w", store.ErrBadCursor)
		}
		from = append(bytes.Clone(p), c...)
	}
	m := newContactMatcher(q)
	var needle []byte
	if m.search != "" && !strings.ContainsAny(m.search, " \"\\<>&") { // a space may join first and last name
		needle = []byte(m.search)
	}
	var out []store.Conversation
	var last []byte
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		c := tx.Bucket(bConvIdx).Cursor()
		var k []byte
		step := c.Next
		switch {
		case desc && from == nil:
			if k, _ = c.Seek(prefixEnd(p)); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			step = c.Prev
		case desc:
			c.Seek(from)
			k, _ = c.Prev()
			step = c.Prev
		case from == nil:
			k, _ = c.Seek(p)
		default:
			if k, _ = c.Seek(from); bytes.Equal(k, from) {
				k, _ = c.Next()
			}
		}
		for n := 0; k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, _ = step() {
			if n++; n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			id := k[len(p)+8:]
			last = k
			v := docs.Get(id)
			if v == nil {
				return fmt.Errorf("index entry %q: %w", k, store.ErrNotFound)
			}
			_, _, doc, _, err := splitConv(v)
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			if needle != nil && !bytes.Contains(bytes.ToLower(doc), needle) {
				// The search text is nowhere in the document: no need to decode it.
				continue
			}
			conv, err := decodeConvDoc(doc)
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			if m.match(conv) {
				out = append(out, *conv)
			}
		}
		if len(out) < limit || k == nil || !bytes.HasPrefix(k, p) {
			last = nil // the end
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list contacts of bot %s: %w", q.Bot, err)
	}
	next := ""
	if last != nil {
		next = base64.RawURLEncoding.EncodeToString(last[len(p):])
	}
	return out, next, nil
}

// CountActive implements store.Contacts: the newest end of the last-seen index.
func (s *Store) CountActive(ctx context.Context, bot string, since time.Time) (int64, error) {
	p := append([]byte{idxSeen}, prefix(bot)...)
	var n int64
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bConvIdx).Cursor()
		start := append(bytes.Clone(p), ts(since)...)
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count active contacts of bot %s: %w", bot, err)
	}
	return n, nil
}

// contactMatcher applies a ContactQuery's filter and search to a conversation.
type contactMatcher struct {
	filter store.ContactFilter
	search string
}

func newContactMatcher(q store.ContactQuery) contactMatcher {
	return contactMatcher{filter: q.Filter, search: strings.ToLower(strings.TrimSpace(q.Search))}
}

func (m contactMatcher) match(c *store.Conversation) bool {
	if m.filter != nil && !m.filter.Match(c) {
		return false
	}
	return m.search == "" || store.ContactMatchesSearch(c, m.search)
}

func decodeConvDoc(doc []byte) (*store.Conversation, error) {
	var c store.Conversation
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &c, nil
}
