package runtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// A webhook node pointed at an internal address, by a flow author or by
// whoever controls a variable in its URL, gets nothing from it: the call
// is refused before connecting and the conversation goes on at on_error
// with the refusal in the webhook_failed event.
func TestWebhookToAnInternalAddressGetsNothing(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"secret":"internal"}`))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, url := range []string{
		srv.URL,
		"http://localhost:" + port,
		"http://[::ffff:127.0.0.1]:" + port,
	} {
		t.Run(url, func(t *testing.T) {
			// The runtime's own default client: no allow-list.
			h := newHarness(t, openBolt(t), func(c *runtime.Config) { c.Options.HTTPClient = nil })
			h.env["HOOK_URL"] = url
			if err := h.st.PutBot(context.Background(), store.Bot{ID: bot, Settings: store.BotSettings{AllowedEnv: []string{"HOOK_URL"}}}); err != nil {
				t.Fatal(err)
			}
			h.run(h.rt)
			h.text(h.rt, "1", "u1", "hello")
			h.press(h.rt, "1", "u2", "Hook")
			h.settle(h.rt)
			h.waitTexts("1", "Hi Anna", "Hook failed")
			evs := h.events("webhook_failed")
			if len(evs) != 1 {
				t.Fatalf("webhook_failed events: %+v", evs)
			}
			if v, _ := evs[0].Data["value"].(string); !strings.Contains(v, "refused") || !strings.Contains(v, "loopback") {
				t.Errorf("webhook_failed events: %+v", evs)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
}
