package channel

import "context"

// Noticer is a Sender that can tell the person an operator joined the chat
// (the web chat shows "operator joined" with the name). Senders without it
// skip the notice: on Telegram the operator's first message, with their name
// on its first line (the channel's operator_names setting), says enough.
type Noticer interface {
	Joined(ctx context.Context, bot, chat, name string) error
}

// NoticeJoined is the Notice of an operator joining the chat.
const NoticeJoined = "operator_joined"
