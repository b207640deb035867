package main

import (
	"strings"
	"testing"
)

// An operator's reply reaches the Telegram customer (the fake) under the
// operator's name, as the channel's default; with operator_names off it
// goes out as the bot's. The bot's own messages never carry a name, and the
// inbox's transcript keeps the text as written.
func TestOperatorMessagesOnTelegramCarryTheirName(t *testing.T) {
	s := startStack(t, "bolt", stackOpts{fakeLimits: unlimited})
	if code, out := apiCall(t, s, "POST", "/api/users", `{"login":"olga","name":"Ольга Петрова","role":"operator","password":"password-olga1"}`, nil); code != 201 {
		t.Fatalf("create operator: %d %v", code, out)
	}
	olga := signInOn(t, s, "olga", "password-olga1")
	const chat = 1201
	playFunnel(t, s.fake, chat)
	id := "lead-qualification:telegram:1201"

	if code, out := apiCall(t, s, "POST", "/api/conversations/"+id+"/messages", `{"text":"Здравствуйте! Какой объём вам нужен?"}`, olga); code != 201 {
		t.Fatalf("reply: %d %v", code, out)
	}
	got := wait(t, s.fake, chat, 6)
	if got[5].Text != "Ольга Петрова:\nЗдравствуйте! Какой объём вам нужен?" {
		t.Fatalf("the operator's message on Telegram: %q", got[5].Text)
	}
	for _, m := range got[:5] {
		if strings.Contains(m.Text, "Ольга") {
			t.Fatalf("a bot message carries a name: %q", m.Text)
		}
	}
	var line map[string]any
	for _, m := range getJSON(t, s, "/api/conversations/"+id)["messages"].([]any) {
		if m := m.(map[string]any); m["direction"] == "operator" {
			line = m
		}
	}
	if line == nil || line["text"] != "Здравствуйте! Какой объём вам нужен?" || line["author"].(map[string]any)["name"] != "Ольга Петрова" {
		t.Fatalf("the transcript's operator line: %v", line)
	}

	// The setting: a value it does not take is refused and changes nothing;
	// off sends operators' messages as the bot's.
	if code, out := apiCall(t, s, "PUT", "/api/bots/lead-qualification/channels/telegram", `{"settings":{"operator_names":"maybe"}}`, nil); code != 422 {
		t.Fatalf("operator_names maybe: %d %v, want 422", code, out)
	}
	if code, out := apiCall(t, s, "PUT", "/api/bots/lead-qualification/channels/telegram", `{"settings":{"operator_names":"off"}}`, nil); code != 200 ||
		out["settings"].(map[string]any)["operator_names"] != "off" {
		t.Fatalf("operator_names off: %d %v", code, out)
	}
	if code, out := apiCall(t, s, "POST", "/api/conversations/"+id+"/messages", `{"text":"Подготовлю предложение"}`, olga); code != 201 {
		t.Fatalf("reply: %d %v", code, out)
	}
	if got := wait(t, s.fake, chat, 7); got[6].Text != "Подготовлю предложение" {
		t.Fatalf("with operator_names off: %q", got[6].Text)
	}
}
