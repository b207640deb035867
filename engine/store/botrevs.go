package store

import "context"

// BotRevs make changes of a bot conditional, so two people editing one bot
// at once cannot lose an edit silently: Bot.Rev counts the bot's writes
// (PutBot's too), and UpdateBot writes only over the revision it read.
type BotRevs interface {
	// CreateBot stores a new bot with Rev 1 (set on b); ErrDuplicate when
	// a bot with its id exists.
	CreateBot(ctx context.Context, b *Bot) error
	// UpdateBot writes b if the stored bot's Rev still equals b.Rev, then
	// sets b.Rev to the new revision; ErrVersionConflict when another write
	// came first, ErrNotFound when the bot does not exist.
	UpdateBot(ctx context.Context, b *Bot) error
}
