package telegram

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine/channel"
)

// An operator's message shows their name on its first line; the bot's
// messages, and every message of an adapter told not to sign, go out as
// written.
func TestOperatorMessagesCarryTheName(t *testing.T) {
	e := newEnv(t, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	mustSay(t, e.fake, 42, "/start")
	signing := e.newAdapter(Config{SignOperators: true})
	long := strings.Repeat("Очень длинное имя ", 10)
	for _, tc := range []struct {
		name   string
		a      *Adapter
		author string
		want   string
	}{
		{"an operator", signing, "Ольга", "Ольга:\nЗдравствуйте!"},
		{"the bot", signing, "", "Здравствуйте!"},
		{"a name on several lines", signing, "  Ольга \n Петрова ", "Ольга Петрова:\nЗдравствуйте!"},
		{"not signing", e.a, "Ольга", "Здравствуйте!"},
	} {
		before := len(e.fake.Sent(42))
		if _, err := tc.a.Send(ctxT(t), channel.Outbound{ID: "m-" + tc.name, Chat: "42", Text: "Здравствуйте!", Author: tc.author}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		msgs := e.fake.Sent(42)
		if len(msgs) != before+1 || msgs[before].Text != tc.want {
			t.Fatalf("%s: sent %q, want %q", tc.name, textsOf(msgs[before:]), tc.want)
		}
	}
	// A very long name is cut; a long text is split after the name.
	text := strings.Repeat("слово ", 1000)
	before := len(e.fake.Sent(42))
	if _, err := signing.Send(ctxT(t), channel.Outbound{ID: "long", Chat: "42", Text: text, Author: long}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Sent(42)[before:]
	first, _, _ := strings.Cut(msgs[0].Text, "\n")
	if len(msgs) != 2 || utf8.RuneCountInString(first) != maxSignature+1 || !strings.HasSuffix(first, "…:") || !strings.HasPrefix(first, "Очень длинное имя") {
		t.Fatalf("a long name and text: %d parts, first line %q", len(msgs), first)
	}
}

// The channel setting: on unless it says off; anything else is a bad
// configuration the API refuses.
func TestOperatorNamesSetting(t *testing.T) {
	for v, want := range map[string]bool{"": true, "on": true, "off": false} {
		got, err := signOperators(map[string]string{SettingOperatorNames: v})
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, err, want)
		}
	}
	if got, err := signOperators(nil); err != nil || !got {
		t.Errorf("no settings: %v %v, want on", got, err)
	}
	ta := &typeAdapter{env: channel.Env{Handler: nopHandler{}}}
	_, err := ta.Build(channel.Config{Bot: "b", Token: "123:abc", Settings: map[string]string{SettingOperatorNames: "maybe"}})
	if !errors.Is(err, channel.ErrBadConfig) {
		t.Fatalf("operator_names maybe: %v, want a bad configuration", err)
	}
	ch, err := ta.Build(channel.Config{Bot: "b", Token: "123:abc", Settings: map[string]string{SettingOperatorNames: "off"}})
	if err != nil || ch.(*liveChannel).cfg.SignOperators {
		t.Fatalf("operator_names off: %v", err)
	}
	ch, err = ta.Build(channel.Config{Bot: "b", Token: "123:abc"})
	if err != nil || !ch.(*liveChannel).cfg.SignOperators {
		t.Fatalf("the default: %v", err)
	}
}

func textsOf(ms []tgfake.SentMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
