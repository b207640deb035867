package store

import "context"

// Secrets keeps keys that every replica must share and that must outlive a
// restart, such as the key that signs the builder's preview bot ids: a key
// made up by each process would be refused by the others.
type Secrets interface {
	// Secret returns the secret called name. When there is none it stores
	// fresh first; concurrent callers (other replicas) all get the one that
	// was stored first.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
}
