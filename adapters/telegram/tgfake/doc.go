// Package tgfake is a faithful fake of the Telegram Bot API for one bot,
// for tests that run the real go-telegram-bot-api v5 client (or plain HTTP)
// against it. It answers like Telegram: URLs /bot<token>/<method> with
// case-insensitive method names; envelopes {"ok":true,"result":…} and
// {"ok":false,"error_code":N,"description":"…","parameters":{"retry_after":N}}
// with HTTP status = error_code; the exact error descriptions (see the Desc*
// constants); the real limits. Bodies may be form-urlencoded (what
// go-telegram-bot-api sends; reply_markup as a JSON string), JSON,
// multipart, or query parameters.
//
// Methods: getMe, getUpdates (offset confirmation, negative offsets, limit
// 1–100, long poll up to 50 s, 409 for a superseded poll or while a webhook
// is set), setWebhook, deleteWebhook, getWebhookInfo, sendMessage (text 1–4096
// UTF-16 code units, callback_data 1–64 bytes), answerCallbackQuery (text ≤ 200,
// query valid for Options.CallbackQueryTTL, answerable once) and
// editMessageReplyMarkup (400 "message is not modified" for identical
// markup). Anything else is 404 "Not Found"; a wrong token is 401
// "Unauthorized".
//
// Chats exist once the simulated user has written (SendText); a blocked
// user gives 403 "Forbidden: bot was blocked by the user", a deactivated
// one 403 "Forbidden: user is deactivated". Flood control is token buckets
// on the injected Clock (Options.Limits; defaults: 30 msg/s per bot, 1 msg/s
// per private chat with a burst of 3, 20 msg/min per group) answering 429
// "Too Many Requests: retry after N" with parameters.retry_after = N. Sends
// and edits both count.
//
// With a webhook set, updates are POSTed as JSON with
// X-Telegram-Bot-Api-Secret-Token when a secret is set; 2xx is success,
// anything else is retried at once, then after 2, 4, 8… s (times
// Options.RetryScale, capped at Options.MaxRetryDelay) on the injected
// clock; one update in flight per chat (per user for callback queries), up
// to max_connections chats in parallel; an update expires undelivered at
// date + 24 h (callback queries 150 s after the press). Without a webhook
// updates wait for getUpdates.
//
// # Control API
//
// The same server answers a JSON control API under /_fake/ so another
// process (an end-to-end test, or a person with curl) can play users.
// Responses use the Bot API envelope. POST bodies are JSON objects:
//
//	POST   /_fake/message     {"user_id":42,"text":"/start"}       → Update
//	       optional "first_name", "last_name", "username", "language_code";
//	       "chat_id":<negative id>, "chat_title":"…" writes in a group instead
//	POST   /_fake/press       {"user_id":42,"data":"yes"}           → Update (callback_query)
//	       or "text":"<button label>"; optional "chat_id" (default user_id) and
//	       "message_id" (default: the chat's latest bot message with buttons)
//	POST   /_fake/block       {"user_id":42}    → Update (my_chat_member, member → kicked)
//	POST   /_fake/unblock     {"user_id":42}    → Update (my_chat_member, kicked → member)
//	POST   /_fake/deactivate  {"user_id":42}    → true
//	GET    /_fake/sent[?chat_id=42]             → [SentMessage] (sends and edits)
//	DELETE /_fake/sent                          → true (forget the records)
//	GET    /_fake/sent/wait?chat_id=42&n=3&timeout=10s → [SentMessage], 408 on timeout
//	GET    /_fake/updates                       → [UpdateStatus]
//	GET    /_fake/answers                       → [CallbackAnswer]
//	GET    /_fake/stats                         → Stats
//	POST   /_fake/clock/advance {"seconds":2.5} → the new time (ManualClock only)
//	POST   /_fake/outage {"mode":"502"}        → true: every Bot API request fails
//	       that way: "502" (Bad Gateway envelope), "hang" (no answer until the
//	       outage ends), "reset" (connection reset); "" ends it; optional
//	       "seconds" ends it by itself (wall time). Users can still write.
//	GET    /_fake/outage                        → {"mode":…,"hits":N}
//	POST   /_fake/fail {"n":1,"code":429,"method":"sendMessage"} → true: the
//	       next n calls (of method, if given) fail with that Bot API error
//
// Errors come back as {"ok":false,"error_code":400,"description":"…"}
// (404 for an unknown route).
//
// The clock, token buckets and faults are the shared ones of
// adapters/fakekit.
//
// Example:
//
//	curl -s localhost:8081/_fake/message -d '{"user_id":42,"text":"/start"}'
//	curl -s 'localhost:8081/_fake/sent/wait?chat_id=42&n=1'
//
// Known simplifications: message length is counted on the raw text even
// with parse_mode; only a leading /command gets an entity; http:// webhook
// URLs on any port are accepted (Telegram demands HTTPS on 443, 80, 88 or
// 8443); an empty secret_token means "no secret". A 2xx webhook reply
// carrying {"method":…,…} is executed, as Telegram does, and its result
// discarded.
package tgfake
