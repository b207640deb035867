package bolt

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// A file written before the contact indexes gets them at open: its
// conversations are listed, and a later write moves them once.
func TestContactIndexesBuiltAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Conversation{ID: "b:telegram:1", Bot: "b", Channel: "telegram", Chat: "1", LastInboundAt: time.Unix(1000, 0).UTC()}
	if err := s.CreateConversation(ctx, &c); err != nil {
		t.Fatal(err)
	}
	// Make it an older file: no contact index entries, no mark.
	err = s.db.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bConvIdx)
		var del [][]byte
		cur := idx.Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			if k[0] == idxSeen || k[0] == idxFirst || k[0] == idxScore || k[0] == 0 {
				del = append(del, append([]byte(nil), k...))
			}
		}
		for _, k := range del {
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if items, _, _ := s.ListContacts(ctx, store.ContactQuery{Bot: "b"}); len(items) != 0 {
		t.Fatalf("the stripped file still lists %d contacts", len(items))
	}
	s.Close(ctx)
	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	items, _, err := s.ListContacts(ctx, store.ContactQuery{Bot: "b"})
	if err != nil || len(items) != 1 {
		t.Fatalf("after reopening: %d contacts, %v; want 1", len(items), err)
	}
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.LastInboundAt = time.Unix(5000, 0).UTC()
	if err := s.ReplaceConversation(ctx, got); err != nil {
		t.Fatal(err)
	}
	if items, _, _ := s.ListContacts(ctx, store.ContactQuery{Bot: "b"}); len(items) != 1 || !items[0].LastInboundAt.Equal(got.LastInboundAt) {
		t.Fatalf("after a write: %+v, want the one contact, moved", items)
	}
	if n, _ := s.CountActive(ctx, "b", time.Unix(4000, 0)); n != 1 {
		t.Fatalf("active since the write: %d, want 1", n)
	}
}
