package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Index key kinds inside bConvIdx.
const (
	idxBot   = 'b' // b bot \0 id
	idxInbox = 'i' // i bot \0 status \0 updated(8) id ; status "*" lists all
	idxSeg   = 's' // s bot \0 segment \0 id
	idxTag   = 't' // t bot \0 tag \0 id
)

const allStatuses = "*"

func inboxPrefix(bot string, status store.Status) []byte {
	if status == "" {
		status = allStatuses
	}
	return append([]byte{idxInbox}, prefix(bot, string(status))...)
}

// convIndexKeys lists every index entry c needs.
func convIndexKeys(c *store.Conversation) [][]byte {
	keys := make([][]byte, 0, 4+len(c.Tags))
	keys = append(keys, append(append([]byte{idxBot}, prefix(c.Bot)...), c.ID...))
	updated := ts(c.UpdatedAt)
	for _, st := range []store.Status{allStatuses, c.Status} {
		if st == "" {
			continue
		}
		k := inboxPrefix(c.Bot, st)
		keys = append(keys, append(append(k, updated...), c.ID...))
	}
	if c.Segment != "" {
		keys = append(keys, append(append([]byte{idxSeg}, prefix(c.Bot, c.Segment)...), c.ID...))
	}
	for _, t := range c.Tags {
		keys = append(keys, append(append([]byte{idxTag}, prefix(c.Bot, t)...), c.ID...))
	}
	return keys
}

// Conversation values are the stored version (8 bytes, big-endian) and the
// JSON document, and bConvKeys keeps each conversation's index keys: a
// conditional replace checks the version and updates the indexes without
// decoding the stored document, which is most of the hot path's CPU.

func encodeConv(c *store.Conversation) ([]byte, error) {
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	v := make([]byte, 8, 8+len(doc))
	binary.BigEndian.PutUint64(v, uint64(c.Version))
	return append(v, doc...), nil
}

func getConv(b *bolt.Bucket, id []byte) (*store.Conversation, error) {
	v := b.Get(id)
	if v == nil {
		return nil, store.ErrNotFound
	}
	if len(v) < 8 {
		return nil, fmt.Errorf("decode: value of %d bytes", len(v))
	}
	var c store.Conversation
	if err := json.Unmarshal(v[8:], &c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &c, nil
}

// encodeKeys packs index keys as (uvarint length, key) pairs.
func encodeKeys(keys [][]byte) []byte {
	var out []byte
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out
}

func decodeKeys(b []byte) ([][]byte, error) {
	var keys [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("corrupt index key list")
		}
		keys = append(keys, bytes.Clone(b[w:w+int(n)]))
		b = b[w+int(n):]
	}
	return keys, nil
}

// putConv stores c and moves its index entries from oldKeys to its own.
func putConv(tx *bolt.Tx, c *store.Conversation, oldKeys [][]byte) error {
	v, err := encodeConv(c)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bConvs).Put([]byte(c.ID), v); err != nil {
		return err
	}
	newKeys := convIndexKeys(c)
	idx := tx.Bucket(bConvIdx)
	for _, k := range oldKeys {
		if !slices.ContainsFunc(newKeys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range newKeys {
		if !slices.ContainsFunc(oldKeys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			if err := idx.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(bConvKeys).Put([]byte(c.ID), encodeKeys(newKeys))
}

// GetConversation implements store.Conversations.
func (s *Store) GetConversation(ctx context.Context, id string) (*store.Conversation, error) {
	var c *store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		c, err = getConv(tx.Bucket(bConvs), []byte(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return c, nil
}

// CreateConversation implements store.Conversations.
func (s *Store) CreateConversation(ctx context.Context, c *store.Conversation) error {
	if c.ID == "" {
		return fmt.Errorf("create conversation: empty id")
	}
	doc := *c
	doc.Version = 1
	err := s.write(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bConvs).Get([]byte(doc.ID)) != nil {
			return store.ErrDuplicate
		}
		return putConv(tx, &doc, nil)
	})
	if err != nil {
		return fmt.Errorf("create conversation %s: %w", c.ID, err)
	}
	c.Version = 1
	return nil
}

// ReplaceConversation implements store.Conversations.
func (s *Store) ReplaceConversation(ctx context.Context, c *store.Conversation) error {
	doc := *c
	doc.Version = c.Version + 1
	err := s.write(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bConvs).Get([]byte(doc.ID))
		if v == nil {
			return store.ErrNotFound
		}
		if len(v) < 8 {
			return fmt.Errorf("decode: value of %d bytes", len(v))
		}
		if stored := int64(binary.BigEndian.Uint64(v)); stored != c.Version {
			return fmt.Errorf("stored version %d, have %d: %w", stored, c.Version, store.ErrVersionConflict)
		}
		oldKeys, err := decodeKeys(tx.Bucket(bConvKeys).Get([]byte(doc.ID)))
		if err != nil {
			return err
		}
		return putConv(tx, &doc, oldKeys)
	})
	if err != nil {
		return fmt.Errorf("replace conversation %s: %w", c.ID, err)
	}
	c.Version = doc.Version
	return nil
}

// FindAudience implements store.Conversations.
func (s *Store) FindAudience(ctx context.Context, q store.AudienceQuery) ([]store.Conversation, string, error) {
	limit := store.ClampLimit(q.Limit)
	// Walk the narrowest index available; filter the rest on the document.
	var p []byte
	switch {
	case q.Segment != "":
		p = append([]byte{idxSeg}, prefix(q.Bot, q.Segment)...)
	case q.Tag != "":
		p = append([]byte{idxTag}, prefix(q.Bot, q.Tag)...)
	default:
		p = append([]byte{idxBot}, prefix(q.Bot)...)
	}
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		c := tx.Bucket(bConvIdx).Cursor()
		start := append(bytes.Clone(p), q.After...)
		k, _ := c.Seek(start)
		if q.After != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) <= limit; k, _ = c.Next() {
			conv, err := getConv(docs, k[len(p):])
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			if conv.MatchesAudience(q) {
				out = append(out, *conv)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("find audience of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// ListInbox implements store.Conversations.
func (s *Store) ListInbox(ctx context.Context, q store.InboxQuery) ([]store.Conversation, string, error) {
	limit := store.ClampLimit(q.Limit)
	p := inboxPrefix(q.Bot, q.Status)
	start := prefixEnd(p)
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list inbox of bot %s: %w", q.Bot, err)
		}
		start = append(append(bytes.Clone(p), ts(t)...), id...)
	}
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		c := tx.Bucket(bConvIdx).Cursor()
		// Position on the last key below start, then walk backwards.
		k, _ := c.Seek(start)
		if k == nil {
			k, _ = c.Last()
		}
		if k != nil && bytes.Compare(k, start) >= 0 {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) <= limit; k, _ = c.Prev() {
			conv, err := getConv(docs, k[len(p)+8:])
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			out = append(out, *conv)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("list inbox of bot %s: %w", q.Bot, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = store.EncodeCursor(tsDecode(ts(last.UpdatedAt)), last.ID)
	}
	return out, next, nil
}
