package channel

import (
	"context"
	"time"
)

// ReceiptStatus is what a platform reported about a message it took.
type ReceiptStatus string

// Receipt statuses, as the delivery event types the runtime records.
const (
	ReceiptSent      ReceiptStatus = "sent"
	ReceiptDelivered ReceiptStatus = "delivered"
	ReceiptRead      ReceiptStatus = "read"
	ReceiptFailed    ReceiptStatus = "failed"
)

// Receipt is a delivery status update from a platform (WhatsApp statuses,
// Viber delivered/seen/failed, VK message_read). Platforms send them out of
// order and may skip some (WhatsApp's delivered): Time is the platform's.
type Receipt struct {
	Bot        string
	Channel    string
	Chat       string
	PlatformID string // the platform's message id, as Sent.PlatformID
	Status     ReceiptStatus
	Time       time.Time
	// Error is the platform's reason for a failed message.
	Error string
	// Code is the platform's error code for a failed message.
	Code int
	// Unreachable says the failure is about the person, not the message:
	// the platform will deliver nothing to them (WhatsApp 131026). The
	// runtime marks the contact blocked at once, as for a send refused
	// with SendError.Blocked.
	Unreachable bool
	// OptedOut says the person turned off the business's marketing
	// messages on the platform (WhatsApp 131050): consent off, so
	// broadcasts skip them, while replies to their messages still go.
	OptedOut bool
}

// ReceiptHandler takes receipts. A Handler that also implements it gets
// the receipts of adapters that have them; others' receipts are dropped.
// Like Handle, Receipt returns once the receipt is recorded.
type ReceiptHandler interface {
	Receipt(ctx context.Context, r Receipt) error
}
