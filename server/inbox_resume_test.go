package server

import "testing"

// The lines a change shows the operator as pending reach "sent" on the
// stream even when the change closed the chat: the bot's resume message
// after a hand-back, and the CSAT question sent on resolve.
func TestInboxStreamTellsDeliveryAfterTheChatCloses(t *testing.T) {
	k := newInboxStack(t)
	addr := serveOn(t, k.s)
	olga := signIn(t, k.s, "olga", "password-olga")
	evs := openStream(t, addr, olga)
	next(t, evs, "hello", nil)

	for _, tc := range []struct {
		chat, action, body, line string
	}{
		{"710", "handback", `{}`, "Bot again, Вася"},
		{"720", "resolve", `{"csat":true}`, "Пожалуйста, оцените наш разговор: от 1 (плохо) до 5 (отлично)."},
	} {
		id := k.handoff(tc.chat)
		olga.want(200, "POST", "/api/conversations/"+id+"/assign", `{"to":"me"}`)
		olga.want(200, "POST", "/api/conversations/"+id+"/"+tc.action, tc.body)
		m := next(t, evs, "message", func(d map[string]any) bool {
			return d["conversation_id"] == id && d["message"].(map[string]any)["text"] == tc.line
		})["message"].(map[string]any)
		if m["delivery"] != "pending" {
			t.Fatalf("%s: the line comes %v, want pending: %v", tc.action, m["delivery"], m)
		}
		d := next(t, evs, "delivery", func(d map[string]any) bool { return d["message_id"] == m["id"] })
		if d["delivery"] != "sent" || d["conversation_id"] != id {
			t.Fatalf("%s: delivery event %v", tc.action, d)
		}
		// The transcript read afterwards agrees.
		for _, l := range olga.want(200, "GET", "/api/conversations/"+id, "")["messages"].([]any) {
			if l := l.(map[string]any); l["id"] == m["id"] && l["delivery"] != "sent" {
				t.Fatalf("%s: transcript says %v", tc.action, l)
			}
		}
	}
}
