package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// A conversation stored before its index keys moved into the value (version,
// then JSON; keys in bConvKeys) reads and replaces as before, and the replace
// moves its index entries and keys over to the new format.
func TestOldConversationFormat(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	c := store.Conversation{ID: "b:telegram:1", Bot: "b", Channel: "telegram", Chat: "1",
		Status: store.StatusHandoff, UpdatedAt: time.Unix(1000, 0).UTC(), Version: 3}
	err := s.db.Update(func(tx *bolt.Tx) error {
		doc, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		v := binary.BigEndian.AppendUint64(nil, uint64(c.Version))
		if err := tx.Bucket(bConvs).Put([]byte(c.ID), append(v, doc...)); err != nil {
			return err
		}
		keys := convIndexKeys(&c)
		for _, k := range keys {
			if err := tx.Bucket(bConvIdx).Put(k, nil); err != nil {
				return err
			}
		}
		return tx.Bucket(bConvKeys).Put([]byte(c.ID), encodeKeys(keys, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil || got.Status != store.StatusHandoff || got.Version != 3 {
		t.Fatalf("old value: %+v, %v", got, err)
	}
	got.Status = store.StatusBot
	got.UpdatedAt = time.Unix(2000, 0).UTC()
	if err := s.ReplaceConversation(ctx, got); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status store.Status
		want   int
	}{{store.StatusHandoff, 0}, {store.StatusBot, 1}, {"", 1}} {
		items, _, err := s.ListInbox(ctx, store.InboxQuery{Bot: "b", Status: tc.status})
		if err != nil || len(items) != tc.want {
			t.Errorf("inbox %q after replace: %d items, %v; want %d", tc.status, len(items), err, tc.want)
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bConvKeys).Get([]byte(c.ID)) != nil {
			t.Error("bConvKeys entry left after the replace")
		}
		if n := tx.Bucket(bConvIdx).Stats().KeyN; n != 6 {
			t.Errorf("%d index entries, want 6 (bot, inbox bot, last seen, first seen, score, and the mark that contacts are indexed)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got.Status = store.StatusWaiting
	if err := s.ReplaceConversation(ctx, got); err != nil {
		t.Fatal(err)
	}
	if items, _, err := s.ListInbox(ctx, store.InboxQuery{Bot: "b", Status: store.StatusWaiting}); err != nil || len(items) != 1 || items[0].Version != 5 {
		t.Fatalf("inbox after a second replace: %+v, %v", items, err)
	}
}

// A conversation whose value holds its whole index keys (convKeysInline)
// replaces into the trimmed format, moving its index entries as before;
// the trimmed key list is shorter by the id each key ends with.
func TestInlineKeysTrimmed(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	c := store.Conversation{ID: "b:telegram:1", Bot: "b", Channel: "telegram", Chat: "1", Status: store.StatusHandoff,
		Tags: []string{"vip"}, Segment: "hot", UpdatedAt: time.Unix(1000, 0).UTC(), Version: 3}
	full, err := encodeConvWrite(&c)
	if err != nil {
		t.Fatal(err)
	}
	if f := full.val[8]; f != convKeysTrimmed {
		t.Fatalf("format %d, want the trimmed one", f)
	}
	// The value as convKeysInline wrote it.
	doc, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	list := encodeKeys(full.keys, 0)
	v := binary.BigEndian.AppendUint64(nil, uint64(c.Version))
	v = binary.AppendUvarint(append(v, convKeysInline), uint64(len(list)))
	v = append(append(v, list...), doc...)
	if saved := len(list) - len(full.list); saved != len(full.keys)*len(c.ID) {
		t.Errorf("the trimmed key list is %d bytes shorter, want %d", saved, len(full.keys)*len(c.ID))
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, k := range full.keys {
			if err := tx.Bucket(bConvIdx).Put(k, nil); err != nil {
				return err
			}
		}
		return tx.Bucket(bConvs).Put([]byte(c.ID), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil || got.Status != store.StatusHandoff || got.Version != 3 {
		t.Fatalf("inline value: %+v, %v", got, err)
	}
	for i, change := range []func(c *store.Conversation){
		func(c *store.Conversation) { c.Status, c.Tags = store.StatusBot, []string{"new"} },
		func(c *store.Conversation) { c.Segment, c.UpdatedAt = "cold", time.Unix(3000, 0).UTC() },
		func(c *store.Conversation) { c.Score = 7 }, // no key but the score's moves
	} {
		change(got)
		if err := s.ReplaceConversation(ctx, got); err != nil {
			t.Fatal(err)
		}
		want, err := encodeConvWrite(got)
		if err != nil {
			t.Fatal(err)
		}
		err = s.db.View(func(tx *bolt.Tx) error {
			var have []string
			c := tx.Bucket(bConvIdx).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if k[0] != 0 { // not the mark that contacts are indexed
					have = append(have, string(k))
				}
			}
			var keys []string
			for _, k := range want.keys {
				keys = append(keys, string(k))
			}
			slices.Sort(keys)
			if !slices.Equal(have, keys) {
				t.Errorf("replace %d: index %q, want %q", i, have, keys)
			}
			if f := tx.Bucket(bConvs).Get([]byte(got.ID))[8]; f != convKeysTrimmed {
				t.Errorf("replace %d: stored in format %d", i, f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The index keys are the documented layouts (see the idx constants).
func TestConvIndexKeys(t *testing.T) {
	c := store.Conversation{ID: "b:telegram:1", Bot: "b", Status: store.StatusBot, Segment: "hot",
		Tags: []string{"vip", ""}, UpdatedAt: time.Unix(1000, 5).UTC()}
	u := string(ts(c.UpdatedAt))
	zero := string(ts(time.Time{}))
	want := []string{
		"bb\x00b:telegram:1",
		"lb\x00" + zero + "b:telegram:1",
		"fb\x00" + zero + "b:telegram:1",
		"rb\x00" + string(scoreKey(0)) + "b:telegram:1",
		"ib\x00bot\x00" + u + "b:telegram:1",
		"sb\x00hot\x00b:telegram:1",
		"tb\x00vip\x00b:telegram:1",
		"tb\x00\x00b:telegram:1",
	}
	got := convIndexKeys(&c)
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("key %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// A file written when every conversation also had an index entry under
// the status "*" loses those entries at open, and listing every status
// still finds each conversation once, newest first.
func TestAllStatusEntriesDropped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, st := range []store.Status{store.StatusBot, store.StatusHandoff, "", store.StatusWaiting} {
		c := &store.Conversation{ID: fmt.Sprintf("b:web:%d", i), Bot: "b", Status: st, UpdatedAt: time.Unix(int64(1000+i), 0).UTC()}
		if err := s.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
		want = append([]string{c.ID}, want...)
		// The old layout's extra entry, as such a file holds it.
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bConvIdx).Put(append(inboxPrefix("b", allStatuses), append(tsOf(c.UpdatedAt), c.ID...)...), nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bConvIdx).Cursor()
		p := inboxPrefix("b", allStatuses)
		if k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) {
			t.Errorf("entry %q left after open", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	q := store.InboxQuery{Bot: "b", Limit: 3}
	for {
		items, next, err := s.ListInbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range items {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("every status lists %v, want %v", got, want)
	}
}

// Lines appended when appends still indexed ids (an id bucket next to the
// ordered one) are not duplicated by a retried append, and Purge removes
// them from both buckets.
func TestOldLogFormat(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	m := store.Message{ID: "b:telegram:1:u1:0", ConversationID: "b:telegram:1", Bot: "b", Text: "old", At: time.Unix(1000, 0).UTC()}
	v, err := json.Marshal(m) // before logCompact: the whole document
	if err != nil {
		t.Fatal(err)
	}
	e := logEntry{id: []byte(m.ID), key: logKey(m.ID, m.ConversationID, m.At), val: v}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bMsgIDs).Put(e.id, e.key); err != nil {
			return err
		}
		return tx.Bucket(bMsgByConv).Put(e.key, e.val)
	})
	if err != nil {
		t.Fatal(err)
	}
	retry := m
	retry.Text = "retried"
	if err := s.AppendMessages(ctx, retry); err != nil {
		t.Fatal(err)
	}
	items, _, err := s.ListMessages(ctx, m.ConversationID, "", 0)
	if err != nil || len(items) != 1 || items[0].Text != "old" {
		t.Fatalf("after a retried append: %+v, %v; want the one old line", items, err)
	}
	res, err := s.Purge(ctx, store.PurgeOptions{MessagesBefore: time.Unix(2000, 0)})
	if err != nil || res.Messages != 1 {
		t.Fatalf("purge: %+v, %v; want 1 message", res, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bMsgIDs).Stats().KeyN + tx.Bucket(bMsgByConv).Stats().KeyN; n != 0 {
			t.Errorf("%d entries left after the purge", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Scores sort as numbers in the score index.
func TestScoreKeyOrder(t *testing.T) {
	scores := []float64{-1e9, -3.5, -1, 0, 0.25, 1, 7, 1e12}
	for i := 1; i < len(scores); i++ {
		if bytes.Compare(scoreKey(scores[i-1]), scoreKey(scores[i])) >= 0 {
			t.Errorf("scoreKey(%v) does not sort before scoreKey(%v)", scores[i-1], scores[i])
		}
	}
}

// Log values leave out what their key holds (id, owner, time) and read
// back whole, beside values written before (whole JSON documents); a time
// the key cannot hold is kept in the value.
func TestCompactLogValues(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	at := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC)
	conv := "b:telegram:1"
	oldLine := store.Message{ID: conv + ":u0", ConversationID: conv, Bot: "b", Direction: store.DirectionIn, Text: "before", At: at.Add(-time.Hour)}
	lines := []store.Message{
		{ID: conv + ":u1", ConversationID: conv, Bot: "b", Direction: store.DirectionIn, Text: "привет", At: at},
		{ID: conv + ":u1:0", ConversationID: conv, Bot: "b", Direction: store.DirectionBot, Text: "Здравствуйте",
			Buttons: []store.Button{{Label: "Да", Payload: "yes"}}, Status: "failed", Error: "blocked", At: at},
		{ID: conv + ":old", ConversationID: conv, Bot: "b", Text: "no time"},
	}
	oldEvent := store.Event{ID: conv + "/u0/0", Bot: "b", Type: "message_in", Conversation: conv, At: at.Add(-time.Hour)}
	events := []store.Event{
		{ID: conv + "/u1/0", Bot: "b", Flow: "f", FlowVersion: 3, Node: "n", Type: "node_entered", Conversation: conv,
			Channel: "telegram", At: at, Data: map[string]any{"name": "buttons"}},
		{ID: conv + "/u1/1", Bot: "b", Type: "message_out", Conversation: conv, At: time.Unix(-5, 0).UTC()},
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		lv, err := json.Marshal(oldLine)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bMsgByConv).Put(logKey(oldLine.ID, conv, oldLine.At), lv); err != nil {
			return err
		}
		ev, err := json.Marshal(oldEvent)
		if err != nil {
			return err
		}
		return tx.Bucket(bEventByBot).Put(logKey(oldEvent.ID, "b", oldEvent.At), ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMessages(ctx, lines...); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, events...); err != nil {
		t.Fatal(err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, m := range lines[:2] {
			v := tx.Bucket(bMsgByConv).Get(logKey(m.ID, conv, m.At))
			if len(v) == 0 || v[0] != logCompact || bytes.Contains(v, []byte(`"id"`)) ||
				bytes.Contains(v, []byte(`"conversation_id"`)) || bytes.Contains(v, []byte(`"at"`)) {
				t.Errorf("line %s stored as %q, want it without what its key holds", m.ID, v)
			}
		}
		v := tx.Bucket(bEventByBot).Get(logKey(events[0].ID, "b", events[0].At))
		if len(v) == 0 || v[0] != logCompact || bytes.Contains(v, []byte(`"id"`)) ||
			bytes.Contains(v, []byte(`"bot"`)) || bytes.Contains(v, []byte(`"at"`)) {
			t.Errorf("event stored as %q, want it without what its key holds", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gotLines, _, err := s.ListMessages(ctx, conv, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := append([]store.Message{lines[2], oldLine}, lines[:2]...)
	if !reflect.DeepEqual(gotLines, wantLines) {
		t.Errorf("lines read back\n%+v\nwant\n%+v", gotLines, wantLines)
	}
	gotEvents, _, err := s.QueryEvents(ctx, store.EventQuery{Bot: "b"})
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []store.Event{events[1], oldEvent, events[0]}
	if !reflect.DeepEqual(gotEvents, wantEvents) {
		t.Errorf("events read back\n%+v\nwant\n%+v", gotEvents, wantEvents)
	}
	s.fresh.clear() // as after a restart: the flush decodes them from the file
	pending, _, _, err := s.PendingEvents(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Event{events[1], events[0]}; !reflect.DeepEqual(pending, want) {
		t.Errorf("pending events\n%+v\nwant\n%+v", pending, want)
	}
}
