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
	idxOwner = 'o' // o owner \0 id, for each owner of outbox items
	// The operator inbox (inbox.go), for conversations with an Inbox:
	idxQueue    = 'h' // h state \0 queue \0 updated(8) id ; queue also anyQueue
	idxAssignee = 'a' // a assignee \0 state \0 updated(8) id
	// Contacts (contacts.go): the table's sort orders.
	idxSeen  = 'l' // l bot \0 last_inbound(8) id
	idxFirst = 'f' // f bot \0 created(8) id
	idxScore = 'r' // r bot \0 score(8, ordered) id
)

// allStatuses is the status of the index entries that listed every
// conversation before ListInbox walked the statuses together; files
// written then still hold them until dropAllStatusKeys removes them.
const allStatuses = "*"

func inboxPrefix(bot string, status store.Status) []byte {
	return append([]byte{idxInbox}, prefix(bot, string(status))...)
}

// dropAllStatusKeys removes the allStatuses index entries of files
// written before ListInbox walked the statuses together, at open: nothing
// reads them, and a conversation's next write would leave them alone (its
// inline key list still names them, so it deletes them then, or never
// when it is not written again). A file without any costs a seek per bot
// and status.
func dropAllStatusKeys(db *bolt.DB) error {
	for {
		var doomed [][]byte
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bConvIdx).Cursor()
			for k, _ := c.Seek([]byte{idxInbox}); k != nil && k[0] == idxInbox && len(doomed) < 10000; {
				bot := bytes.IndexByte(k[1:], 0)
				if bot < 0 {
					break
				}
				st := bytes.IndexByte(k[bot+2:], 0)
				if st < 0 {
					break
				}
				sp := k[:bot+2+st+1]
				if string(k[bot+2:bot+2+st]) != allStatuses {
					k, _ = c.Seek(prefixEnd(sp))
					continue
				}
				doomed = append(doomed, bytes.Clone(k))
				k, _ = c.Next()
			}
			return nil
		})
		if err != nil || len(doomed) == 0 {
			return err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			idx := tx.Bucket(bConvIdx)
			for _, k := range doomed {
				if err := idx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// statusPrefixes returns the inbox index prefix of every status bot's
// conversations have, found by skipping from one status's range to the
// next (a seek per status, however many conversations).
func statusPrefixes(c *bolt.Cursor, bot string) [][]byte {
	p := append([]byte{idxInbox}, prefix(bot)...)
	var out [][]byte
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
		end := bytes.IndexByte(k[len(p):], 0)
		if end < 0 {
			break
		}
		sp := bytes.Clone(k[:len(p)+end+1])
		if string(sp[len(p):len(sp)-1]) != allStatuses {
			out = append(out, sp)
		}
		k, _ = c.Seek(prefixEnd(sp))
	}
	return out
}

// convIndexKeys lists every index entry c needs. The keys share one
// buffer (a key already cut stays valid if it grows): this runs for every
// conversation write.
func convIndexKeys(c *store.Conversation) [][]byte {
	updated := ts(c.UpdatedAt)
	keys := make([][]byte, 0, 8+len(c.Tags))
	buf := make([]byte, 0, (8+len(c.Tags))*(len(c.Bot)+len(c.ID)+24))
	// key appends kind bot \0 [mid \0] tail id.
	key := func(kind byte, bot string, mid *string, tail ...[]byte) {
		at := len(buf)
		buf = append(append(append(buf, kind), bot...), 0)
		if mid != nil {
			buf = append(append(buf, *mid...), 0)
		}
		for _, t := range tail {
			buf = append(buf, t...)
		}
		buf = append(buf, c.ID...)
		keys = append(keys, buf[at:len(buf):len(buf)])
	}
	key(idxBot, c.Bot, nil)
	key(idxSeen, c.Bot, nil, ts(c.LastInboundAt))
	key(idxFirst, c.Bot, nil, ts(c.CreatedAt))
	key(idxScore, c.Bot, nil, scoreKey(c.Score))
	// One entry per conversation, under its status (an empty status too):
	// a listing of every status walks the statuses' ranges together
	// (ListInbox). An entry for "all" beside it cost each write a second
	// delete on a random index page.
	key(idxInbox, c.Bot, (*string)(&c.Status), updated)
	if c.Segment != "" {
		key(idxSeg, c.Bot, &c.Segment)
	}
	for i := range c.Tags {
		key(idxTag, c.Bot, &c.Tags[i])
	}
	for i, m := range c.Outbox {
		if m.Owner != "" && !slices.ContainsFunc(c.Outbox[:i], func(o store.OutMessage) bool { return o.Owner == m.Owner }) {
			key(idxOwner, m.Owner, nil)
		}
	}
	return appendInboxKeys(keys, c, updated)
}

// Conversation values carry what a conditional replace needs ahead of the
// JSON document: the stored version (8 bytes, big-endian), a format byte
// (convKeysInline), and the conversation's index keys (uvarint length, then
// encodeKeys). A replace checks the version and moves the index entries
// without decoding the stored document, which is most of the hot path's
// CPU, and without touching a second bucket. Values written before the
// format byte existed have the JSON right after the version ('{') and their
// index keys in bConvKeys; the next write moves them inline.
const convKeysInline = 1

// convKeysTrimmed is convKeysInline with each key's trailing conversation
// id left out (every index key ends with it): a quarter of what a
// conversation stores, rewritten on each of its messages.
const convKeysTrimmed = 2

// encodedConv is a conversation ready to store: encoding happens before the
// write transaction, which runs on the store's one writer goroutine.
type encodedConv struct {
	id   []byte
	val  []byte   // see convKeysInline; val[8] is the key list's format
	keys [][]byte // index keys
	list []byte   // the key list as val holds it
}

func encodeConvWrite(c *store.Conversation) (*encodedConv, error) {
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	keys := convIndexKeys(c)
	n := 0
	for _, k := range keys {
		n += binary.MaxVarintLen32 + len(k)
	}
	v := make([]byte, 9, 9+binary.MaxVarintLen32+n+len(doc))
	binary.BigEndian.PutUint64(v, uint64(c.Version))
	format := byte(convKeysTrimmed)
	for _, k := range keys {
		if !bytes.HasSuffix(k, []byte(c.ID)) {
			format = convKeysInline
		}
	}
	v[8] = format
	list := encodeKeys(keys, trimmed(format, c.ID))
	v = binary.AppendUvarint(v, uint64(len(list)))
	at := len(v)
	v = append(append(v, list...), doc...)
	return &encodedConv{id: []byte(c.ID), val: v, keys: keys, list: v[at : at+len(list)]}, nil
}

// trimmed is the suffix a key list of format leaves out of each key.
func trimmed(format byte, id string) int {
	if format == convKeysTrimmed {
		return len(id)
	}
	return 0
}

// splitConv returns a stored value's version, its index key list and the
// list's format (0 for the oldest values: their keys are in bConvKeys),
// and its JSON document.
func splitConv(v []byte) (version int64, list, doc []byte, format byte, err error) {
	if len(v) < 9 {
		return 0, nil, nil, 0, fmt.Errorf("decode: value of %d bytes", len(v))
	}
	version = int64(binary.BigEndian.Uint64(v))
	if v[8] != convKeysInline && v[8] != convKeysTrimmed {
		return version, nil, v[8:], 0, nil
	}
	n, w := binary.Uvarint(v[9:])
	if w <= 0 || uint64(len(v)-9-w) < n {
		return 0, nil, nil, 0, fmt.Errorf("decode: corrupt index key list")
	}
	list = v[9+w : 9+w+int(n)]
	return version, list, v[9+w+int(n):], v[8], nil
}

func getConv(b *bolt.Bucket, id []byte) (*store.Conversation, error) {
	v := b.Get(id)
	if v == nil {
		return nil, store.ErrNotFound
	}
	_, _, doc, _, err := splitConv(v)
	if err != nil {
		return nil, err
	}
	var c store.Conversation
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &c, nil
}

// encodeKeys packs index keys as (uvarint length, key) pairs, each key
// without its last trim bytes.
func encodeKeys(keys [][]byte, trim int) []byte {
	var out []byte
	for _, k := range keys {
		k = k[:len(k)-trim]
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out
}

// decodeKeys unpacks encodeKeys, putting back suffix; the keys alias b
// when suffix is empty.
func decodeKeys(b []byte, suffix []byte) ([][]byte, error) {
	var keys [][]byte
	var buf []byte // the keys with their suffix, in one allocation
	if len(suffix) > 0 {
		buf = make([]byte, 0, len(b)+8*len(suffix))
	}
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("corrupt index key list")
		}
		k := b[w : w+int(n) : w+int(n)]
		if len(suffix) > 0 {
			at := len(buf)
			buf = append(append(buf, k...), suffix...)
			k = buf[at:len(buf):len(buf)]
		}
		keys = append(keys, k)
		b = b[w+int(n):]
	}
	return keys, nil
}

// putConv stores e and moves its index entries from the stored list old (as
// encodeKeys wrote it for oldFormat) to its own. old must stay valid until
// putConv returns: it is read before anything is written.
func putConv(tx *bolt.Tx, e *encodedConv, old []byte, oldFormat byte) error {
	if oldFormat == e.val[8] && bytes.Equal(old, e.list) {
		return tx.Bucket(bConvs).Put(e.id, e.val)
	}
	var suffix []byte
	if oldFormat == convKeysTrimmed {
		suffix = e.id
	}
	oldKeys, err := decodeKeys(old, suffix)
	if err != nil {
		return err
	}
	// Copy what is to be deleted: old points into the stored value, which
	// the puts below may move.
	var doomed [][]byte
	for _, k := range oldKeys {
		if !slices.ContainsFunc(e.keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	var fresh [][]byte
	for _, k := range e.keys {
		if !slices.ContainsFunc(oldKeys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			fresh = append(fresh, k)
		}
	}
	if err := tx.Bucket(bConvs).Put(e.id, e.val); err != nil {
		return err
	}
	idx := tx.Bucket(bConvIdx)
	for _, k := range doomed {
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	for _, k := range fresh {
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
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
	if err := s.CommitConversation(ctx, store.ConversationChange{Conversation: c, Create: true}); err != nil {
		return fmt.Errorf("create %w", err)
	}
	return nil
}

// ReplaceConversation implements store.Conversations.
func (s *Store) ReplaceConversation(ctx context.Context, c *store.Conversation) error {
	if err := s.CommitConversation(ctx, store.ConversationChange{Conversation: c}); err != nil {
		return fmt.Errorf("replace %w", err)
	}
	return nil
}

// CommitConversation implements store.Conversations: the document, its
// transcript lines and its events in one transaction (one group commit).
func (s *Store) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	c := ch.Conversation
	if c.ID == "" {
		return fmt.Errorf("conversation: empty id")
	}
	doc := *c
	doc.Version = c.Version + 1
	if ch.Create {
		doc.Version = 1
	}
	e, err := encodeConvWrite(&doc)
	if err != nil {
		return fmt.Errorf("conversation %s: %w", c.ID, err)
	}
	msgs, err := encodeMessages(ch.Messages)
	if err != nil {
		return fmt.Errorf("conversation %s: %w", c.ID, err)
	}
	events, err := encodeEvents(ch.Events)
	if err != nil {
		return fmt.Errorf("conversation %s: %w", c.ID, err)
	}
	added := s.fresh.add(events, ch.Events)
	err = s.write(ctx, func(tx *bolt.Tx) error {
		for i := range events {
			events[i].stored = false // a business outcome stores none
		}
		if err := putConvIf(tx, e, ch.Create, c.Version); err != nil {
			return err
		}
		if err := appendLog(tx, bMsgByConv, msgs); err != nil {
			return err
		}
		return appendLog(tx, bEventByBot, events)
	})
	s.fresh.settle(events, added, err)
	if err != nil {
		return fmt.Errorf("conversation %s: %w", c.ID, err)
	}
	c.Version = doc.Version
	return nil
}

// LogsApart implements store.Conversations: the logs go in the
// conversation's transaction.
func (s *Store) LogsApart() bool { return false }

// putConvIf stores e when the stored document is at version (or, with
// create, absent). Its business errors come before any change, as write
// requires.
func putConvIf(tx *bolt.Tx, e *encodedConv, create bool, version int64) error {
	v := tx.Bucket(bConvs).Get(e.id)
	if create {
		if v != nil {
			return store.ErrDuplicate
		}
		return putConv(tx, e, nil, e.val[8])
	}
	if v == nil {
		return store.ErrNotFound
	}
	stored, old, _, format, err := splitConv(v)
	if err != nil {
		return err
	}
	if stored != version {
		return fmt.Errorf("stored version %d, have %d: %w", stored, version, store.ErrVersionConflict)
	}
	if format == 0 {
		// Written before the keys moved inline: take them from
		// bConvKeys, which this write leaves behind.
		keys := tx.Bucket(bConvKeys)
		old = bytes.Clone(keys.Get(e.id))
		if err := keys.Delete(e.id); err != nil {
			return err
		}
	}
	return putConv(tx, e, old, format)
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
	if q.Inbox != nil {
		return s.listInbox(ctx, q)
	}
	limit := store.ClampLimit(q.Limit)
	var after []byte // the cursor's (updated, id)
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list inbox of bot %s: %w", q.Bot, err)
		}
		after = append(tsOf(t), id...)
	}
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		idx := tx.Bucket(bConvIdx)
		prefixes := [][]byte{inboxPrefix(q.Bot, q.Status)}
		if q.Status == "" {
			prefixes = statusPrefixes(idx.Cursor(), q.Bot)
		}
		return walkTogether(ctx, idx, prefixes, after, false, func(id, k []byte) (bool, error) {
			conv, err := getConv(docs, id)
			if err != nil {
				return false, fmt.Errorf("index entry %q: %w", k, err)
			}
			out = append(out, *conv)
			return len(out) <= limit, nil
		})
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

// FindOutboxes implements store.Conversations.
func (s *Store) FindOutboxes(ctx context.Context, owner, after string, limit int) ([]store.Conversation, string, error) {
	limit = store.ClampLimit(limit)
	p := append([]byte{idxOwner}, prefix(owner)...)
	var out []store.Conversation
	err := s.read(ctx, func(tx *bolt.Tx) error {
		docs := tx.Bucket(bConvs)
		c := tx.Bucket(bConvIdx).Cursor()
		start := append(bytes.Clone(p), after...)
		k, _ := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, p) && len(out) <= limit; k, _ = c.Next() {
			conv, err := getConv(docs, k[len(p):])
			if err != nil {
				return fmt.Errorf("index entry %q: %w", k, err)
			}
			if slices.ContainsFunc(conv.Outbox, func(m store.OutMessage) bool { return m.Owner == owner }) {
				out = append(out, *conv)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("find outboxes of %s: %w", owner, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
