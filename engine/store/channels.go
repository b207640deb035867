package store

import (
	"context"
	"time"
)

// ChannelLeases say which process runs a channel's receiver (a Telegram
// long poll: Telegram answers 409 to a second poller, so exactly one
// replica may poll a bot) and share that process's view of the channel
// with the others.
type ChannelLeases interface {
	// TakeChannelLease gives l.ID to l.Owner until l.Until when nobody
	// holds it, its lease ended before now, or l.Owner holds it already
	// (a renewal, which also stores l.Status). It reports whether l.Owner
	// holds the lease afterwards, with the lease as stored.
	TakeChannelLease(ctx context.Context, l ChannelLease, now time.Time) (ChannelLease, bool, error)
	// GetChannelLease returns ErrNotFound when nobody ever held id (or it
	// was dropped).
	GetChannelLease(ctx context.Context, id string) (ChannelLease, error)
	// DropChannelLease ends owner's lease of id; a lease another owner
	// holds (or none) is left alone without error.
	DropChannelLease(ctx context.Context, id, owner string) error
}

// ChannelLease is one channel's receiver lease.
type ChannelLease struct {
	ID    string    `json:"id" bson:"_id"` // "telegram:shop"
	Owner string    `json:"owner" bson:"owner"`
	Until time.Time `json:"until" bson:"until"`
	// Status is the holder's view of the channel (JSON of channel.Status),
	// for the replicas that do not run it.
	Status []byte `json:"status,omitempty" bson:"status,omitempty"`
}
