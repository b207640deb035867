package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/store"
)

var _ channel.ReceiptHandler = (*Runtime)(nil)

// Receipt records a platform's delivery status of a message the bot sent
// (WhatsApp statuses, Viber delivered/seen/failed, VK message_read) as a
// delivered, read or failed event of its conversation. The event's id
// derives from the message and the status, so a receipt the platform sends
// again is stored once; receipts arrive out of order and carry their own
// time. "sent" receipts are dropped (the send itself recorded it), as are
// receipts for chats Voronka has no conversation with.
func (r *Runtime) Receipt(ctx context.Context, rc channel.Receipt) error {
	var typ string
	switch rc.Status {
	case channel.ReceiptDelivered:
		typ = engine.EvDelivered
	case channel.ReceiptRead:
		typ = engine.EvRead
	case channel.ReceiptFailed:
		typ = engine.EvFailed
	default:
		return nil
	}
	if rc.PlatformID == "" || rc.Chat == "" {
		return nil
	}
	id := store.ConversationID(rc.Bot, rc.Channel, rc.Chat)
	conv := r.cachedConversation(id)
	if conv == nil {
		var err error
		conv, err = r.st.GetConversation(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("receipt for %s: load conversation %s: %w", rc.PlatformID, id, err)
		}
	}
	at := rc.Time
	if at.IsZero() {
		at = r.clock.Now()
	}
	data := map[string]any{"platform_id": rc.PlatformID}
	if typ == engine.EvFailed {
		reason := rc.Error
		if rc.Code != 0 {
			reason = fmt.Sprintf("%d %s", rc.Code, rc.Error)
		}
		data[engine.DataError] = "the platform reported the message failed: " + reason
	}
	ev := store.Event{ID: id + "/receipt/" + rc.PlatformID + "/" + typ, Bot: conv.Bot, Flow: conv.FlowID,
		FlowVersion: conv.FlowVersion, Node: conv.Node, Type: typ, Conversation: id, Channel: conv.Channel, At: at, Data: data}
	if typ == engine.EvFailed && (rc.Unreachable || rc.OptedOut) {
		return r.receiptReach(ctx, conv, rc, ev, at)
	}
	if err := r.st.AppendEvents(ctx, ev); err != nil {
		return fmt.Errorf("receipt for %s: append %s event: %w", rc.PlatformID, typ, err)
	}
	return nil
}

// receiptReach records a failure that is about the person (PLATFORMS.md
// §6: WhatsApp has no block signal but these codes): unreachable marks the
// contact blocked with consent off and drops the chat's queued messages,
// as a send refused with Telegram's 403 does; opted out turns consent off
// only. The failed event and the change are one write, with a blocked or
// unsubscribed event whose id derives from the message, so a repeated
// status changes nothing more.
func (r *Runtime) receiptReach(ctx context.Context, conv *store.Conversation, rc channel.Receipt, failed store.Event, at time.Time) error {
	reason := failed.Data[engine.DataError]
	typ, source := engine.EvBlocked, "blocked"
	if !rc.Unreachable {
		typ, source = engine.EvUnsubscribed, "platform_opt_out"
	}
	if (rc.Unreachable && conv.Blocked) || (!rc.Unreachable && !conv.Consent.Subscribed) {
		// Already so: the failed event alone (idempotent).
		if err := r.st.AppendEvents(ctx, failed); err != nil {
			return fmt.Errorf("receipt for %s: append failed event: %w", rc.PlatformID, err)
		}
		return nil
	}
	mark := failed
	mark.ID, mark.Type, mark.Data = conv.ID+"/receipt/"+rc.PlatformID+"/"+typ, typ, map[string]any{engine.DataError: reason, "platform_id": rc.PlatformID}
	err := r.rewrite(ctx, conv.ID, []store.Event{failed, mark}, nil, func(cur, next *store.Conversation) store.PendingLogs {
		next.Consent = store.Consent{Subscribed: false, At: at, Source: source}
		next.UpdatedAt = cur.UpdatedAt
		if !rc.Unreachable {
			return store.PendingLogs{}
		}
		next.Blocked = true
		// The dropped items' carried logs (store.OutMessage.Logs) go with
		// the write, after them the lines saying they were not sent.
		var out store.PendingLogs
		next.Outbox, out = dropMessages(cur.Outbox)
		for _, o := range cur.Outbox {
			if isMessage(o.Kind) {
				out.Messages = append(out.Messages, failedLine(cur, o, "not sent: the platform cannot deliver to this person"))
			}
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("receipt for %s: mark %s: %w", rc.PlatformID, typ, err)
	}
	return nil
}

// cachedConversation is the conversation as this process last wrote or read
// it, or nil when it is not cached or its stripe is busy. Receipts come
// with nearly every message (WhatsApp's sent and delivered), and the event
// they write needs only the conversation's bot, flow and node: a store read
// (decoding the whole conversation) for each cost more than the event.
func (r *Runtime) cachedConversation(id string) *store.Conversation {
	s := r.locks.of(id)
	if !s.mu.TryLock() {
		return nil
	}
	defer s.mu.Unlock()
	if e := s.get(id); e != nil {
		return e.conv
	}
	return nil
}
