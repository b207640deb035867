package store

import (
	"context"
	"time"
)

// Notification is one entry of a store-backed notification log: a short
// message one replica leaves for the others (engine/notify polls it).
type Notification struct {
	// Seq is the position in the log, given by the store when appended:
	// every append takes the next number, so numbers are unique and grow,
	// but they are taken before the write commits, so a reader may see
	// Seq n+1 before n (see notify.Polled).
	Seq     int64     `bson:"_id" json:"seq"`
	Origin  string    `bson:"origin" json:"origin"`
	Topic   string    `bson:"topic" json:"topic"`
	Payload []byte    `bson:"payload" json:"payload"`
	At      time.Time `bson:"at" json:"at"`
}

// Notifications is the optional part of a Store that carries notifications
// between replicas sharing it (MongoDB). A Store without it (bolt) serves a
// single process, which uses an in-process bus instead; callers check with a
// type assertion.
type Notifications interface {
	// AppendNotifications gives each notification the next Seq (set on
	// ns[i]) and stores them.
	AppendNotifications(ctx context.Context, ns []Notification) error
	// NotificationsFrom returns up to limit notifications with Seq >= from,
	// in Seq order.
	NotificationsFrom(ctx context.Context, from int64, limit int) ([]Notification, error)
	// NotificationsIn returns those of the notifications seqs that exist,
	// in Seq order.
	NotificationsIn(ctx context.Context, seqs []int64) ([]Notification, error)
	// LastNotificationSeq is the last Seq handed out (0 before any append):
	// a new reader starts after it.
	LastNotificationSeq(ctx context.Context) (int64, error)
	// PurgeNotifications deletes the notifications with Seq < before.
	PurgeNotifications(ctx context.Context, before int64) error
}
