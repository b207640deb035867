package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

func versionKey(bot, flowID string, version int) []byte {
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], uint32(version))
	return append(prefix(bot, flowID), v[:]...)
}

// PutDraft implements store.Flows.
func (s *Store) PutDraft(ctx context.Context, d store.FlowDraft) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bDrafts), key([]byte(d.Bot), []byte(d.FlowID)), &d)
	})
	if err != nil {
		return fmt.Errorf("put draft %s/%s: %w", d.Bot, d.FlowID, err)
	}
	return nil
}

// GetDraft implements store.Flows.
func (s *Store) GetDraft(ctx context.Context, bot, flowID string) (*store.FlowDraft, error) {
	var d *store.FlowDraft
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		d, err = get[store.FlowDraft](tx.Bucket(bDrafts), key([]byte(bot), []byte(flowID)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get draft %s/%s: %w", bot, flowID, err)
	}
	return d, nil
}

// draftMeta is a stored draft without its document, which JSON decoding
// then skips.
type draftMeta struct {
	Bot       string    `json:"bot"`
	FlowID    string    `json:"flow_id"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	Name      string    `json:"name"`
	Errors    int       `json:"errors"`
	Warnings  int       `json:"warnings"`
}

// ListDrafts implements store.Flows.
func (s *Store) ListDrafts(ctx context.Context, bot string) ([]store.FlowDraft, error) {
	var out []store.FlowDraft
	err := s.read(ctx, func(tx *bolt.Tx) error {
		p := prefix(bot)
		c := tx.Bucket(bDrafts).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var m draftMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode draft %q: %w", k, err)
			}
			out = append(out, store.FlowDraft{Bot: m.Bot, FlowID: m.FlowID, UpdatedAt: m.UpdatedAt, UpdatedBy: m.UpdatedBy,
				Name: m.Name, Errors: m.Errors, Warnings: m.Warnings})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list drafts of %s: %w", bot, err)
	}
	return out, nil
}

// DeleteDraft implements store.Flows.
func (s *Store) DeleteDraft(ctx context.Context, bot, flowID string) error {
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bDrafts), key([]byte(bot), []byte(flowID))
		if b.Get(k) == nil {
			return store.ErrNotFound
		}
		return b.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete draft %s/%s: %w", bot, flowID, err)
	}
	return nil
}

// latestKey finds the newest version entry of (bot, flowID).
func latestKey(tx *bolt.Tx, bot, flowID string) ([]byte, []byte) {
	p := prefix(bot, flowID)
	c := tx.Bucket(bVersions).Cursor()
	k, v := c.Seek(prefixEnd(p))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, p) || len(k) != len(p)+4 {
		return nil, nil
	}
	return k, v
}

// PublishFlow implements store.Flows.
func (s *Store) PublishFlow(ctx context.Context, v store.FlowVersion) (*store.FlowVersion, error) {
	var stored store.FlowVersion
	err := s.write(ctx, func(tx *bolt.Tx) error {
		stored = v
		stored.Version = 1
		if k, _ := latestKey(tx, v.Bot, v.FlowID); k != nil {
			stored.Version = int(binary.BigEndian.Uint32(k[len(k)-4:])) + 1
		}
		return put(tx.Bucket(bVersions), versionKey(v.Bot, v.FlowID, stored.Version), &stored)
	})
	if err != nil {
		return nil, fmt.Errorf("publish flow %s/%s: %w", v.Bot, v.FlowID, err)
	}
	return &stored, nil
}

// GetFlowVersion implements store.Flows.
func (s *Store) GetFlowVersion(ctx context.Context, bot, flowID string, version int) (*store.FlowVersion, error) {
	var v *store.FlowVersion
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		if version <= 0 {
			return store.ErrNotFound
		}
		v, err = get[store.FlowVersion](tx.Bucket(bVersions), versionKey(bot, flowID, version))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get flow %s/%s version %d: %w", bot, flowID, version, err)
	}
	return v, nil
}

// LatestFlowVersion implements store.Flows.
func (s *Store) LatestFlowVersion(ctx context.Context, bot, flowID string) (*store.FlowVersion, error) {
	var v *store.FlowVersion
	err := s.read(ctx, func(tx *bolt.Tx) (err error) {
		k, _ := latestKey(tx, bot, flowID)
		if k == nil {
			return store.ErrNotFound
		}
		v, err = get[store.FlowVersion](tx.Bucket(bVersions), k)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("latest version of flow %s/%s: %w", bot, flowID, err)
	}
	return v, nil
}

// ListFlowVersions implements store.Flows.
func (s *Store) ListFlowVersions(ctx context.Context, bot, flowID string) ([]store.FlowVersion, error) {
	var out []store.FlowVersion
	err := s.read(ctx, func(tx *bolt.Tx) error {
		p := prefix(bot, flowID)
		c := tx.Bucket(bVersions).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if len(k) != len(p)+4 {
				continue // a flow id that extends this one
			}
			v, err := get[store.FlowVersion](tx.Bucket(bVersions), k)
			if err != nil {
				return err
			}
			v.Doc = nil
			out = append(out, *v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list versions of flow %s/%s: %w", bot, flowID, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
