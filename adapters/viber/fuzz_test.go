package viber

import (
	"context"
	"net/http"
	"testing"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

// FuzzWebhook: any signed body is answered without a panic; updates handed
// on have a chat and an id.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,"sender":{"id":"01234567890A=","name":"J"},"message":{"type":"text","text":"p","tracking_data":"{\"voronka\":1,\"p\":[\"p\"]}"}}`))
	f.Add([]byte(`{"event":"unsubscribed","user_id":"x","message_token":1}`))
	f.Add([]byte(`{"event":"seen","user_id":"x","message_token":99999999999999999}`))
	a, _ := New(Config{BotID: "b", Token: "tok", Welcome: "hi"})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := channeltest.NewRecorder()
		res := a.Webhook(context.Background(), h, channel.WebhookRequest{Method: "POST",
			Header: http.Header{SignatureHeader: {fakekit.HMACHex("tok", body)}}, Body: body})
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
