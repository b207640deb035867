package bolt

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bSecrets holds name -> secret, made by the first write (see bSessions).
var bSecrets = []byte("secrets")

// Secret implements store.Secrets.
func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if name == "" || len(fresh) == 0 {
		return nil, fmt.Errorf("secret %q: empty name or value", name)
	}
	var out []byte
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bSecrets)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(name)); v != nil {
			out = bytes.Clone(v) // bolt's memory is valid only in the transaction
			return nil
		}
		out = bytes.Clone(fresh)
		return b.Put([]byte(name), out)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return out, nil
}
