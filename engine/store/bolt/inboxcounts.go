package bolt

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// CountInbox implements store.InboxCounts from the inbox index: the keys
// of the open states' queue ranges are counted (no document is decoded),
// and only user's own chats are read, for their unread counts.
func (s *Store) CountInbox(ctx context.Context, user string) (store.InboxTally, error) {
	out := store.InboxTally{Queues: map[string]store.QueueTally{}, Mine: map[string]store.QueueTally{}}
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bConvIdx).Cursor()
		for _, st := range [...]store.InboxState{store.InboxUnassigned, store.InboxAssigned} {
			p := append([]byte{idxQueue}, prefix(string(st))...)
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
				end := bytes.IndexByte(k[len(p):], 0)
				if end < 0 {
					return fmt.Errorf("inbox index entry %q: no queue", k)
				}
				q := k[:len(p)+end+1] // the queue's range: p queue \0
				n := 0
				for ; k != nil && bytes.HasPrefix(k, q); k, _ = c.Next() {
					n++
				}
				if name := string(q[len(p) : len(q)-1]); name != anyQueue {
					t := out.Queues[name]
					if st == store.InboxUnassigned {
						t.Unassigned += n
					} else {
						t.Assigned += n
					}
					out.Queues[name] = t
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		if user == "" {
			return nil
		}
		docs := tx.Bucket(bConvs)
		p := append([]byte{idxAssignee}, prefix(user, string(store.InboxAssigned))...)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if len(k) < len(p)+8 {
				continue
			}
			id := k[len(p)+8:]
			conv, err := getConv(docs, id)
			if err != nil {
				return fmt.Errorf("inbox index entry %q: %w", k, err)
			}
			if in := conv.Inbox; in != nil {
				t := out.Mine[in.Queue]
				t.Assigned++
				t.Unread += in.Unread
				out.Mine[in.Queue] = t
			}
		}
		return nil
	})
	if err != nil {
		return store.InboxTally{}, fmt.Errorf("count inbox: %w", err)
	}
	return out, nil
}
