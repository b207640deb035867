package bolt

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// CountQueues implements store.InboxCounts from the inbox index: the keys
// of the open states' queue ranges are counted, no document is decoded.
func (s *Store) CountQueues(ctx context.Context) (map[string]store.QueueTally, error) {
	out := map[string]store.QueueTally{}
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
					t := out[name]
					if st == store.InboxUnassigned {
						t.Unassigned += n
					} else {
						t.Assigned += n
					}
					out[name] = t
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count inbox queues: %w", err)
	}
	return out, nil
}

// CountMine implements store.InboxCounts: user's assigned range of the
// index, and those chats read for their queue and unread count.
func (s *Store) CountMine(ctx context.Context, user string) (map[string]store.QueueTally, error) {
	out := map[string]store.QueueTally{}
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bConvIdx).Cursor()
		docs := tx.Bucket(bConvs)
		p := append([]byte{idxAssignee}, prefix(user, string(store.InboxAssigned))...)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if len(k) < len(p)+8 {
				continue
			}
			conv, err := getConv(docs, k[len(p)+8:])
			if err != nil {
				return fmt.Errorf("inbox index entry %q: %w", k, err)
			}
			if in := conv.Inbox; in != nil {
				t := out[in.Queue]
				t.Assigned++
				t.Unread += in.Unread
				out[in.Queue] = t
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count chats of %s: %w", user, err)
	}
	return out, nil
}
