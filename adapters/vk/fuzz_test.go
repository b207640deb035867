package vk

import (
	"context"
	"testing"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// FuzzWebhook: any body is answered without a panic; updates handed on
// have a chat and an id.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"message_new","group_id":1,"event_id":"e","secret":"s","object":{"message":{"peer_id":2,"from_id":2,"text":"x","payload":"{\"b\":\"p\"}"}}}`))
	f.Add([]byte(`{"type":"message_event","group_id":1,"event_id":"e2","secret":"s","object":{"user_id":2,"peer_id":2,"event_id":"x","payload":{"b":"p"}}}`))
	f.Add([]byte(`{"type":"message_deny","group_id":1,"event_id":"e3","secret":"s","object":{"user_id":2}}`))
	f.Add([]byte(`{"type":"confirmation","group_id":1}`))
	a, _ := New(Config{BotID: "b", GroupID: 1, Token: "t", Secret: "s", Confirmation: "c", APIURL: "http://127.0.0.1:1"})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := channeltest.NewRecorder()
		res := a.Webhook(context.Background(), h, channel.WebhookRequest{Method: "POST", Body: body})
		if res.Status != 200 && res.Status != 400 && res.Status != 401 {
			t.Fatalf("status %d", res.Status)
		}
		for _, in := range h.All() {
			if in.Chat == "" || in.UpdateID == "" {
				t.Fatalf("update without chat or id: %+v", in)
			}
		}
	})
}
