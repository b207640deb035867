package bolt

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// ListFlowIDs implements store.Flows: the union of the bot's drafts and
// published versions, whose keys both start with bot\0flowID.
func (s *Store) ListFlowIDs(ctx context.Context, bot string) ([]string, error) {
	var ids []string
	err := s.read(ctx, func(tx *bolt.Tx) error {
		p := prefix(bot)
		for _, name := range [][]byte{bDrafts, bVersions} {
			c := tx.Bucket(name).Cursor()
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
				rest := k[len(p):]
				if i := bytes.IndexByte(rest, 0); i >= 0 {
					rest = rest[:i]
				}
				ids = append(ids, string(rest))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list flows of %s: %w", bot, err)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
