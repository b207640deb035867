package telegram

import (
	"net/http"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

// TestUpdateMapping runs raw Bot API updates (shapes from the Bot API
// spec, including types the fake does not produce) through HandleWebhook.
func TestUpdateMapping(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "s"})
	now := epoch.Add(time.Hour)
	a.now = func() time.Time { return now }
	const from = `"from":{"id":42,"is_bot":false,"first_name":"Anna","username":"anna_p","language_code":"ru"}`
	const private = `"chat":{"id":42,"type":"private","first_name":"Anna"}`
	const group = `"chat":{"id":-100123,"type":"supergroup","title":"Coffee lovers"}`

	for _, tc := range []struct {
		name string
		body string
		want *channel.Inbound // nil: ignored
	}{
		{
			name: "text",
			body: `{"update_id":10,"message":{"message_id":5,` + from + `,` + private + `,"date":1750000000,"text":"Hello"}}`,
			want: &channel.Inbound{Kind: channel.KindText, Chat: "42", UpdateID: "tg:10", Text: "Hello", Time: epoch},
		},
		{
			name: "start with payload stays text, the payload is the source",
			body: `{"update_id":11,"message":{"message_id":5,` + from + `,` + private + `,"date":1750000000,"text":"/start ad_42","entities":[{"type":"bot_command","offset":0,"length":6}]}}`,
			want: &channel.Inbound{Kind: channel.KindText, Chat: "42", UpdateID: "tg:11", Text: "/start ad_42", Source: "ad_42", Time: epoch},
		},
		{
			name: "sticker is empty text",
			body: `{"update_id":12,"message":{"message_id":5,` + from + `,` + private + `,"date":1750000000,"sticker":{"file_id":"CAAC","file_unique_id":"AgAD","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false,"emoji":"👍"}}}`,
			want: &channel.Inbound{Kind: channel.KindText, Chat: "42", UpdateID: "tg:12", Text: "", Time: epoch},
		},
		{
			name: "photo with caption is empty text",
			body: `{"update_id":13,"message":{"message_id":5,` + from + `,` + private + `,"date":1750000000,"photo":[{"file_id":"x","file_unique_id":"y","width":90,"height":90}],"caption":"yes"}}`,
			want: &channel.Inbound{Kind: channel.KindText, Chat: "42", UpdateID: "tg:13", Text: "", Time: epoch},
		},
		{
			name: "group text",
			body: `{"update_id":14,"message":{"message_id":5,` + from + `,` + group + `,"date":1750000000,"text":"hi all"}}`,
			want: &channel.Inbound{Kind: channel.KindText, Chat: "-100123", UpdateID: "tg:14", Text: "hi all", Time: epoch},
		},
		{
			name: "group service message ignored",
			body: `{"update_id":15,"message":{"message_id":5,` + from + `,` + group + `,"date":1750000000,"new_chat_members":[{"id":7,"is_bot":false,"first_name":"B"}]}}`,
		},
		{
			name: "callback query",
			body: `{"update_id":16,"callback_query":{"id":"4382",` + from + `,"message":{"message_id":9,"date":1750000000,` + private + `,"text":"Pick"},"chat_instance":"-77","data":"drink:tea"}}`,
			want: &channel.Inbound{Kind: channel.KindPress, Chat: "42", UpdateID: "tg:16", Payload: "drink:tea", Time: now},
		},
		{
			name: "callback query on an inaccessible message",
			body: `{"update_id":17,"callback_query":{"id":"4383",` + from + `,"message":{"message_id":9,"date":0,` + private + `},"chat_instance":"-77","data":"a"}}`,
			want: &channel.Inbound{Kind: channel.KindPress, Chat: "42", UpdateID: "tg:17", Payload: "a", Time: now},
		},
		{
			name: "callback query without message uses the sender",
			body: `{"update_id":18,"callback_query":{"id":"4384",` + from + `,"inline_message_id":"AAA","chat_instance":"-77","data":"b"}}`,
			want: &channel.Inbound{Kind: channel.KindPress, Chat: "42", UpdateID: "tg:18", Payload: "b", Time: now},
		},
		{
			name: "callback query without data ignored",
			body: `{"update_id":19,"callback_query":{"id":"4385",` + from + `,"chat_instance":"-77","game_short_name":"g"}}`,
		},
		{
			name: "blocked",
			body: `{"update_id":20,"my_chat_member":{` + private + `,` + from + `,"date":1750000000,"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"member"},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"kicked","until_date":0}}}`,
			want: &channel.Inbound{Kind: channel.KindBlocked, Chat: "42", UpdateID: "tg:20", Time: epoch},
		},
		{
			name: "unblocked",
			body: `{"update_id":21,"my_chat_member":{` + private + `,` + from + `,"date":1750000000,"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"kicked","until_date":0},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"member"}}}`,
			want: &channel.Inbound{Kind: channel.KindUnblocked, Chat: "42", UpdateID: "tg:21", Time: epoch},
		},
		{
			name: "bot removed from a group ignored",
			body: `{"update_id":22,"my_chat_member":{` + group + `,` + from + `,"date":1750000000,"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"member"},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"Bot"},"status":"left"}}}`,
		},
		{
			name: "edited message ignored",
			body: `{"update_id":23,"edited_message":{"message_id":5,` + from + `,` + private + `,"date":1750000000,"edit_date":1750000100,"text":"Hello!"}}`,
		},
		{
			name: "unknown update type ignored",
			body: `{"update_id":24,"message_reaction":{"chat":{"id":42,"type":"private"},"message_id":5,"date":1750000000,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			status, err := a.HandleWebhook(ctxT(t), rec, "s", []byte(tc.body))
			if status != http.StatusOK || err != nil {
				t.Fatalf("status %d, err %v; want 200", status, err)
			}
			got := rec.all()
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("ignored update reached the handler: %+v", got[0])
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("handler got %d updates, want 1", len(got))
			}
			w := *tc.want
			w.Bot, w.Channel = testBotID, "telegram"
			w.Contact.Channel = "telegram"
			w.Contact.FirstName, w.Contact.Username, w.Contact.Language = "Anna", "anna_p", "ru"
			w.Time = w.Time.UTC()
			if got[0] != w {
				t.Fatalf("inbound =\n%+v\nwant\n%+v", got[0], w)
			}
		})
	}
}
