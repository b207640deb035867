package telegram

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/engine/channel"
)

// SecretHeader is the header Telegram puts the webhook secret in.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// MaxSecretLen is the longest secret_token Telegram accepts.
const MaxSecretLen = 256

// answerTimeout bounds answerCallbackQuery: it only stops a spinner, and
// the update it follows is already recorded.
const answerTimeout = 5 * time.Second

// GenerateSecret returns a fresh random webhook secret: 43 characters of
// [A-Za-z0-9_-] (256 random bits), within Telegram's 1–256.
func GenerateSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("telegram: generate webhook secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidateSecret checks a webhook secret against Telegram's rules: 1–256
// characters of A-Z, a-z, 0-9, _ and -.
func ValidateSecret(s string) error {
	if s == "" {
		return errors.New("secret token is empty")
	}
	if len(s) > MaxSecretLen {
		return fmt.Errorf("secret token is %d characters, Telegram allows at most %d", len(s), MaxSecretLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("secret token has character %q at %d; only A-Z, a-z, 0-9, _ and - are allowed", c, i)
		}
	}
	return nil
}

func (a *Adapter) setSecret(s string) {
	if s == "" {
		a.secret.Store(nil)
		return
	}
	h := sha256.Sum256([]byte(s))
	a.secret.Store(&h)
}

// maxConnections is the most webhook requests Telegram keeps open at once
// (its range is 1–100, default 40). Telegram delivers one update at a time
// per chat, so this bounds how many chats are handled in parallel: with 40
// and a Handle of ~20 ms under load, a bot tops out near 2,000 updates/s
// however fast the server is. Order within a chat does not depend on it.
const maxConnections = 100

// SetWebhook registers url as the bot's webhook with secret as its
// secret_token, asking only for the update types Voronka handles, over up
// to maxConnections parallel connections. On
// success this Adapter's HandleWebhook expects the new secret (other
// replicas need it in Config.WebhookSecret). The library's WebhookConfig
// cannot carry secret_token, hence the raw request.
func (a *Adapter) SetWebhook(ctx context.Context, url, secret string) error {
	if err := ValidateSecret(secret); err != nil {
		return fmt.Errorf("telegram: setWebhook: %w", err)
	}
	if url == "" {
		return errors.New("telegram: setWebhook: empty URL (use DeleteWebhook to remove the webhook)")
	}
	params := tgbotapi.Params{
		"url":             url,
		"secret_token":    secret,
		"allowed_updates": allowedUpdates,
		"max_connections": strconv.Itoa(maxConnections),
	}
	if _, err := a.call(ctx, "setWebhook", params); err != nil {
		return fmt.Errorf("telegram: setWebhook %s: %w", url, err)
	}
	a.setSecret(secret)
	a.log.Info("webhook set", "url", url)
	return nil
}

// DeleteWebhook removes the webhook so the bot can poll; dropPending also
// discards the updates Telegram still holds.
func (a *Adapter) DeleteWebhook(ctx context.Context, dropPending bool) error {
	params := tgbotapi.Params{}
	if dropPending {
		params["drop_pending_updates"] = "true"
	}
	if _, err := a.call(ctx, "deleteWebhook", params); err != nil {
		return fmt.Errorf("telegram: deleteWebhook: %w", err)
	}
	a.log.Info("webhook deleted", "drop_pending", dropPending)
	return nil
}

// HandleWebhook serves one webhook POST for any HTTP framework: pass the
// X-Telegram-Bot-Api-Secret-Token header and the raw body, and answer with
// the returned status (and no body). Statuses:
//
//   - 401 with ErrBadSecret: the header is missing or wrong, or no secret is
//     configured. Compared in constant time.
//   - 400 with ErrMalformedUpdate: the body is not an Update.
//   - 500 with the handler's error: Telegram retries the update, and the
//     runtime drops the repeat if the first attempt got through after all.
//   - 200 with nil: h accepted the update, or it is one Voronka ignores.
//
// Telegram sends one update at a time per chat and waits for the answer,
// so order within a chat holds as long as the caller handles the request
// synchronously. body is not retained after the call (a fasthttp buffer is
// fine); the caller bounds its size (updates are a few KB) and passes a
// context that ends when the request is abandoned. From Fiber:
//
//	app.Post("/telegram/webhook", func(c *fiber.Ctx) error {
//		status, err := tg.HandleWebhook(c.UserContext(), handler, c.Get(telegram.SecretHeader), c.Body())
//		if err != nil {
//			log.Warn("telegram webhook", "status", status, "err", err)
//		}
//		return c.SendStatus(status)
//	})
func (a *Adapter) HandleWebhook(ctx context.Context, h channel.Handler, secretHeader string, body []byte) (int, error) {
	want := a.secret.Load()
	got := sha256.Sum256([]byte(secretHeader))
	// Hashing first makes the comparison constant-time in the length too.
	if want == nil || secretHeader == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		if want == nil {
			a.log.Error("webhook request rejected: no webhook secret configured (Config.WebhookSecret or SetWebhook)")
		}
		return http.StatusUnauthorized, ErrBadSecret
	}
	u, err := decodeUpdate(body)
	if err != nil {
		return http.StatusBadRequest, err
	}
	if err := a.dispatch(ctx, h, u); err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusOK, nil
}

// dispatch maps one update, hands it to h and, once h accepted it, answers
// a callback query. It returns h's error, wrapped.
func (a *Adapter) dispatch(ctx context.Context, h channel.Handler, u *wireUpdate) error {
	m := a.mapUpdate(u, a.now)
	if m.ok {
		if err := h.Handle(ctx, m.in); err != nil {
			return fmt.Errorf("telegram: handle update %d: %w", u.UpdateID, err)
		}
	} else {
		a.log.Debug("update ignored", "update_id", u.UpdateID, "reason", m.why)
	}
	if m.answerQuery != "" {
		a.answerCallback(ctx, m.answerQuery)
	}
	return nil
}

// answerCallback stops the spinner on the pressed button. Failures are only
// logged: the press is already recorded, and a redelivered press finds its
// query answered ("query is too old"), which is expected.
func (a *Adapter) answerCallback(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	// Request, not Send: the result is `true`, not a Message.
	_, err := a.api(ctx).Request(tgbotapi.NewCallback(id, ""))
	if err == nil {
		return
	}
	err = a.redact(err)
	var te *tgbotapi.Error
	if errors.As(err, &te) && te.Code == http.StatusBadRequest && strings.Contains(te.Message, "query is too old") {
		a.log.Debug("callback query already answered or expired", "query_id", id, "err", err)
		return
	}
	a.log.Warn("answer callback query", "query_id", id, "err", err)
}
