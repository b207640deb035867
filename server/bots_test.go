package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func TestBotsCRUD(t *testing.T) {
	s, st := newTestServer(t)
	mark := signIn(t, s, "mark", "password-mark")
	olga := signIn(t, s, "olga", "password-olga")
	if code, _, _ := olga.do("POST", "/api/bots", `{"id":"x"}`, jsonType); code != 403 {
		t.Fatalf("an operator creates a bot: %d, want 403", code)
	}
	for body, want := range map[string]int{
		`{"id":"new bot"}`:      400,
		`{"id":"preview~x"}`:    400,
		`{"id":"shop"}`:         409,
		`{"id":"b1","name":""}`: 400,
		`not json`:              400,
	} {
		if code, resp, _ := mark.do("POST", "/api/bots", body, jsonType); code != want {
			t.Errorf("POST /api/bots %s: %d %s, want %d", body, code, resp, want)
		}
	}
	code, body, _ := mark.do("POST", "/api/bots", `{"id":"b1","name":"Бот 1"}`, jsonType)
	var b store.Bot
	if err := json.Unmarshal([]byte(body), &b); code != 201 || err != nil || b.Name != "Бот 1" || len(b.Channels) != 1 || b.Channels[0].Type != "web" {
		t.Fatalf("create: %d %s, want the bot with a web chat", code, body)
	}
	// Bad settings change nothing.
	for _, bad := range []string{
		`{"settings":{"time_zone":"Mars/Base"}}`,
		`{"settings":{"quiet_hours":{"start":"21:00","end":"9"}}}`,
		`{"settings":{"working_hours":{"mon":[{"start":"09:00","end":"25:00"}]}}}`,
		`{"settings":{"allowed_env":["VORONKA_API_TOKEN"]}}`,
		`{"settings":{"allowed_env":["crm url"]}}`,
		`{"flow_id":"nothing-published"}`,
		`{"id":"other"}`,
	} {
		if code, resp, _ := mark.do("PUT", "/api/bots/b1", bad, jsonType); code/100 != 4 {
			t.Errorf("PUT %s: %d %s, want a 4xx", bad, code, resp)
		}
	}
	code, body, _ = mark.do("PUT", "/api/bots/b1", `{"name":"Магазин","settings":{"time_zone":"Europe/Moscow",
		"working_hours":{"mon":[{"start":"09:00","end":"18:00"}]},"allowed_env":["CRM_URL"]}}`, jsonType)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	got, err := st.GetBot(context.Background(), "b1")
	if err != nil || got.Name != "Магазин" || got.Settings.TimeZone != "Europe/Moscow" || len(got.Settings.AllowedEnv) != 1 {
		t.Fatalf("stored %+v %v", got, err)
	}
	monday10 := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC) // 10:00 in Moscow
	if !got.Settings.OpenAt(monday10) || got.Settings.OpenAt(monday10.Add(9*time.Hour)) {
		t.Fatal("working hours not stored as sent")
	}
	if code, _, _ := mark.do("PUT", "/api/bots/b1", `{"settings":{"clear":["working_hours"]}}`, jsonType); code != 200 {
		t.Fatalf("clear working hours: %d", code)
	}
	if got, _ := st.GetBot(context.Background(), "b1"); got.Settings.WorkingHours != nil {
		t.Fatal("working hours not cleared")
	}
	if code, _, _ := mark.do("DELETE", "/api/bots/b1", "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := mark.do("DELETE", "/api/bots/b1", "", nil); code != 404 {
		t.Fatalf("delete again: %d, want 404", code)
	}
}

// withStoreBots gives the adapters the bots of the store, as voronka serve does.
func withStoreBots(c *Config) {
	c.Bots = NewBotInfo(c.Store, nil, nil, nil)
	c.Live = webChatLive(c.Store, c.Bots, nopHandler{})
}

func TestChannelsAPIRefusesBadInput(t *testing.T) {
	s, _ := newTestServer(t, withStoreBots)
	mark := signIn(t, s, "mark", "password-mark")
	for body, want := range map[string]int{
		`{"type":"fax"}`: 400,
		`{"type":"web","settings":{"colour":"red"}}`:                             400,
		`{"type":"web","settings":{"title":"` + strings.Repeat("я", 501) + `"}}`: 400,
	} {
		if code, resp, _ := mark.do("POST", "/api/bots/shop/channels", body, jsonType); code != want {
			t.Errorf("POST channels %s: %d %s, want %d", body, code, resp, want)
		}
	}
	if code, resp, _ := mark.do("POST", "/api/bots/shop/channels", `{"type":"web","settings":{"title":"Кофе <b>","color":"#ff0000"}}`, jsonType); code != 201 {
		t.Fatalf("connect web chat: %d %s", code, resp)
	}
	if code, _, _ := mark.do("POST", "/api/bots/shop/channels", `{"type":"web"}`, jsonType); code != 409 {
		t.Fatalf("a second web chat: %d, want 409", code)
	}
	// The hosted page: the bot's settings, escaped.
	code, page, h := (&client{t: t, s: s}).do("GET", "/c/shop?source=bio", "", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(page, `data-title="Кофе &lt;b&gt;"`) ||
		!strings.Contains(page, `data-source="bio"`) || !strings.Contains(page, `data-bot="shop"`) {
		t.Fatalf("/c/shop: %d %s", code, page)
	}
	if code, _, _ := mark.do("PUT", "/api/bots/shop/channels/web", `{"settings":{"greeting":"Здравствуйте!"}}`, jsonType); code != 200 {
		t.Fatalf("change settings: %d", code)
	}
	if _, page, _ := (&client{t: t, s: s}).do("GET", "/c/shop", "", nil); !strings.Contains(page, `data-greeting="Здравствуйте!"`) {
		t.Fatalf("/c/shop after the change: %s", page)
	}
	if code, _, _ := mark.do("DELETE", "/api/bots/shop/channels/web", "", nil); code != 204 {
		t.Fatalf("remove web chat: %d", code)
	}
	for _, path := range []string{"/c/shop", "/c/nobody", "/c/a~b"} {
		if code, _, _ := (&client{t: t, s: s}).do("GET", path, "", nil); code != 404 {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
	if code, _, _ := mark.do("DELETE", "/api/bots/shop/channels/web", "", nil); code != 404 {
		t.Fatal("removing a removed channel is not 404")
	}
}

// TestValidatorTakesTheBotsChannels: buttons are held to the limits of the
// channels the bot has, not to every messenger's.
func TestValidatorTakesTheBotsChannels(t *testing.T) {
	s, st := newTestServer(t, withStoreBots)
	mark := signIn(t, s, "mark", "password-mark")
	var buttons []string
	for i := range 12 {
		buttons = append(buttons, `{label: "Вариант `+string(rune('A'+i))+`", next: end}`)
	}
	doc := "voronka: 1\nid: f\nstart: pick\nnodes:\n  pick: { type: buttons, text: Выберите, buttons: [" + strings.Join(buttons, ", ") + "] }\n  end: { type: end, text: Пока }\n"
	warned := func() bool {
		code, body, _ := mark.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil)
		if code != 200 {
			t.Fatalf("draft: %d %s", code, body)
		}
		return strings.Contains(body, "shows at most 10 buttons")
	}
	if warned() {
		t.Fatal("a bot without a web chat is warned about the web chat's limit")
	}
	b, _ := st.GetBot(context.Background(), "shop")
	b.Channels = []store.Channel{{Type: "web"}}
	if err := st.PutBot(context.Background(), *b); err != nil {
		t.Fatal(err)
	}
	if !warned() {
		t.Fatal("a bot with a web chat is not warned that it shows at most 10 buttons")
	}
}

func TestChannelTypesListsWhatCanBeConnected(t *testing.T) {
	s, _ := newTestServer(t)
	code, body, _ := (&client{t: t, s: s}).do("GET", "/api/channel-types", "", map[string]string{"Authorization": "Bearer tok"})
	var got struct {
		Types []struct {
			Name     string   `json:"name"`
			Settings []string `json:"settings"`
		} `json:"types"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Types) != 1 || got.Types[0].Name != "web" ||
		len(got.Types[0].Settings) != 4 || strings.Contains(body, "null") {
		t.Fatalf("channel types: %d %s", code, body)
	}
}
