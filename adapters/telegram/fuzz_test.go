package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

// FuzzHandleWebhook: no body makes HandleWebhook panic; it answers 200
// (handled or ignored) or 400 (malformed), and what reaches the handler is
// well formed.
func FuzzHandleWebhook(f *testing.F) {
	for _, s := range []string{
		`{"update_id":1,"message":{"message_id":1,"from":{"id":42,"first_name":"A"},"chat":{"id":42,"type":"private"},"date":1750000000,"text":"/start x"}}`,
		`{"update_id":2,"callback_query":{"id":"q","from":{"id":42,"first_name":"A"},"message":{"message_id":3,"date":0,"chat":{"id":42,"type":"private"}},"chat_instance":"1","data":"p"}}`,
		`{"update_id":3,"my_chat_member":{"chat":{"id":42,"type":"private"},"from":{"id":42,"first_name":"A"},"date":1750000000,"old_chat_member":{"status":"member"},"new_chat_member":{"status":"kicked"}}}`,
		`{"update_id":4,"message":{"message_id":1,"chat":{"id":-5,"type":"group"},"date":1,"sticker":{}}}`,
		`{"update_id":5,"edited_message":{}}`,
		`{"update_id":1e3}`, `{"update_id":9223372036854775807,"message":{"chat":{"id":1}}}`,
		`{"update_id":6,"message":null,"callback_query":null}`,
		`{"update_id":7,"message":{"chat":{"id":1,"type":"private"},"text":"\ud800"}}`,
		"", "{", "[]", "null", "\x00", "<html>",
	} {
		f.Add([]byte(s))
	}
	// Callback queries are answered against the fake (and fail: their ids
	// are unknown), as in production.
	e := newEnv(f, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "s", Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []channel.Inbound
		h := channelHandlerFunc(func(_ context.Context, in channel.Inbound) error {
			got = append(got, in)
			return nil
		})
		status, err := a.HandleWebhook(context.Background(), h, "s", body)
		switch status {
		case http.StatusOK:
			if err != nil {
				t.Fatalf("200 with error %v", err)
			}
		case http.StatusBadRequest:
			if !errors.Is(err, ErrMalformedUpdate) || len(got) != 0 {
				t.Fatalf("400 with %v and %d handled", err, len(got))
			}
		default:
			t.Fatalf("status %d (%v)", status, err)
		}
		for _, in := range got {
			if in.Chat == "" || in.Chat == "0" || !strings.HasPrefix(in.UpdateID, "tg:") || in.Bot != testBotID ||
				in.Channel != "telegram" || in.Time.IsZero() {
				t.Fatalf("malformed inbound %+v from %q", in, body)
			}
		}
	})
}
