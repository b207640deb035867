package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/segment"
	"github.com/voronka/voronka/engine/store"
)

// BenchmarkContactsFirstPage is the leads table's first page at 100,000
// contacts: newest first, filtered by segment, and by score.
func BenchmarkContactsFirstPage(b *testing.B) {
	ctx := context.Background()
	s, err := Open(filepath.Join(b.TempDir(), "v.db"), &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	const n = 100_000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []*encodedConv
	flush := func() {
		err := s.db.Update(func(tx *bolt.Tx) error {
			docs, idx := tx.Bucket(bConvs), tx.Bucket(bConvIdx)
			for _, e := range batch {
				for _, k := range e.keys {
					if err := idx.Put(k, nil); err != nil {
						return err
					}
				}
				if err := docs.Put(e.id, e.val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		c := &store.Conversation{ID: store.ConversationID("shop", "telegram", fmt.Sprint(i)), Bot: "shop", Channel: "telegram", Chat: fmt.Sprint(i),
			Contact: store.Contact{FirstName: fmt.Sprintf("Имя %d", i), Username: fmt.Sprintf("u%d", i)},
			Status:  store.StatusWaiting, Score: float64(i % 100), Segment: []string{"cold", "warm", "hot"}[i%3],
			CreatedAt: base.Add(time.Duration(i) * time.Minute), LastInboundAt: base.Add(time.Duration(i*7919%n) * time.Minute),
			UpdatedAt: base.Add(time.Duration(i) * time.Minute), Version: 1,
			Vars:  map[string]any{"budget": i * 1000, "phone": fmt.Sprintf("+7999%07d", i), "email": fmt.Sprintf("l%d@example.com", i)},
			State: make([]byte, 300)}
		e, err := encodeConvWrite(c)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, e)
		if len(batch) == 5000 {
			flush()
		}
	}
	flush()
	hot, err := segment.Compile(store.SegmentFilter{Segments: []string{"hot"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []store.ContactQuery{
		{Bot: "shop", Limit: 50},
		{Bot: "shop", Limit: 50, Filter: hot},
		{Bot: "shop", Limit: 50, Sort: "-score"},
		{Bot: "shop", Limit: 50, Search: "l99999@"},
	} {
		name := fmt.Sprintf("sort=%s segment=%v search=%s", q.Sort, q.Filter != nil, q.Search)
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				items, _, err := s.ListContacts(ctx, q)
				if err != nil || len(items) == 0 {
					b.Fatal(len(items), err)
				}
			}
		})
	}
}
