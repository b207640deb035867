package whatsapp

import (
	"context"
	"net/http"
	"testing"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// FuzzWebhook: any signed body is answered without a panic, and every
// update handed on has a chat and an update id.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"contacts":[{"profile":{"name":"A"},"wa_id":"1"}],"messages":[{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"p","title":"t"}}}],"statuses":[{"id":"w2","status":"read","timestamp":"2","recipient_id":"1"}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"failed","errors":[{"code":131047}]}]}}]}]}`))
	f.Add([]byte(`{}`))
	a, _ := New(Config{BotID: "b", PhoneNumberID: "1", Token: "t", AppSecret: "s", VerifyToken: "v"})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := channeltest.NewRecorder()
		res := a.Webhook(context.Background(), h, channel.WebhookRequest{Method: "POST",
			Header: http.Header{SignatureHeader: {"sha256=" + fakekit.HMACHex("s", body)}}, Body: body})
		if res.Status != 200 && res.Status != 400 {
			t.Fatalf("status %d", res.Status)
		}
		for _, in := range h.All() {
			if in.Chat == "" || in.UpdateID == "" {
				t.Fatalf("update without chat or id: %+v", in)
			}
		}
	})
}
