package runtime

import (
	"context"
	"errors"
	"fmt"

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
	conv, err := r.st.GetConversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("receipt for %s: load conversation %s: %w", rc.PlatformID, id, err)
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
	if err := r.st.AppendEvents(ctx, ev); err != nil {
		return fmt.Errorf("receipt for %s: append %s event: %w", rc.PlatformID, typ, err)
	}
	return nil
}
