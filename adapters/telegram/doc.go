// Package telegram is Voronka's Telegram channel: it turns Bot API updates
// (webhook POSTs or getUpdates long polls) into channel.Inbound for a
// channel.Handler, and sends channel.Outbound messages with inline keyboards.
//
// It talks to the Bot API through go-telegram-bot-api v5 (MakeRequest and
// Request only) and works around that library's known pitfalls
// (PLATFORMS.md §2):
//
//   - The library builds requests without a context, so every call goes
//     through a per-call copy of the BotAPI whose HTTP client attaches the
//     caller's context: cancelling ctx really aborts a send or a long poll.
//   - GetUpdatesChan sleeps a fixed 3 s, ignores retry_after and loops on
//     409, so Poll is its own loop on getUpdates.
//   - WebhookConfig has no secret_token, so SetWebhook goes through
//     MakeRequest, and HandleWebhook checks the secret header itself.
//   - Send decodes every result as a Message; answerCallbackQuery (which
//     returns true) goes through Request.
//   - Errors from the HTTP client carry the request URL, which holds the bot
//     token: the token is redacted from every error this package returns.
//
// # Updates
//
// Updates are decoded into the few fields Voronka uses rather than the
// library's Update type: that type is from 2021 and knows hundreds of
// fields, and an update it cannot decode would otherwise wedge a long-poll
// loop (the whole batch fails). The mapping is:
//
//   - message with text: KindText. "/start payload" stays text; the engine
//     reads deep-link payloads itself.
//   - message without text in a private chat (sticker, photo, voice,
//     contact…): KindText with empty Text, so the engine re-prompts instead
//     of the message vanishing. The caption is not used as text: a photo is
//     not an answer to a question. In groups such messages (joins, pins and
//     other service messages) are ignored.
//   - callback_query: KindPress with Payload = data; the query is answered
//     (answerCallbackQuery) once the handler has accepted the update, so the
//     client's spinner stops. The inline keyboard is left in place: the
//     engine honours presses on earlier buttons.
//   - my_chat_member in a private chat: new status "kicked" is KindBlocked,
//     "member" is KindUnblocked. Other statuses and group membership changes
//     are ignored.
//   - anything else (edited messages, channel posts, inline queries…) is
//     acknowledged and ignored. SetWebhook and Poll ask only for message,
//     callback_query and my_chat_member, so these arrive only if another
//     tool changed allowed_updates.
//
// UpdateID is "tg:<update_id>"; the runtime drops repeats, so redelivery
// (a webhook retried after a 500, a poll restarted before its offset was
// confirmed) is safe.
//
// # Sending
//
// Texts are sent as plain text (no parse_mode: flow texts and the user
// values templated into them are not markup). Texts over 4,096 UTF-16 code
// units are split at paragraph, then line, then word boundaries; the buttons
// go on the last part. Buttons are laid out two per row when every label is
// short (≤ 16 characters), else one per row, so long labels are never cut.
package telegram
