package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// sendErr asserts err is a *channel.SendError and returns it.
func sendErr(t *testing.T, err error) *channel.SendError {
	t.Helper()
	var se *channel.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *channel.SendError", err, err)
	}
	return se
}

// TestSendButtonsRoundTrip: payloads sent as callback_data come back as
// KindPress payloads (here by long polling).
func TestSendButtonsRoundTrip(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	rec := &recorder{}
	polling(t, e.a, rec)
	mustSay(t, e.fake, 42, "/start")
	rec.wait(t, 1)
	buttons := []engine.Button{
		{Label: "Yes", Payload: "q1:yes"}, {Label: "No", Payload: "q1:no"}, {Label: "Maybe", Payload: "q1:maybe"},
	}
	sent, err := e.a.Send(ctxT(t), channel.Outbound{ID: "o1", Chat: "42", Text: "Ready?", Buttons: buttons})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := e.fake.Sent(42)
	if len(msgs) != 1 || msgs[0].Text != "Ready?" || sent.PlatformID != strconv.Itoa(msgs[0].MessageID) {
		t.Fatalf("sent %+v (platform id %q)", msgs, sent.PlatformID)
	}
	kb := msgs[0].Keyboard
	if kb == nil || len(kb.InlineKeyboard) != 2 || len(kb.InlineKeyboard[0]) != 2 || len(kb.InlineKeyboard[1]) != 1 {
		t.Fatalf("keyboard %s, want short labels two per row", msgs[0].ReplyMarkup)
	}
	for _, b := range buttons {
		if _, err := e.fake.PressButtonText(42, 42, 0, b.Label); err != nil {
			t.Fatalf("press %q: %v", b.Label, err)
		}
	}
	got := rec.wait(t, 4)
	for i, b := range buttons {
		if in := got[i+1]; in.Kind != channel.KindPress || in.Payload != b.Payload || in.Chat != "42" {
			t.Errorf("press %d = %+v, want payload %q", i, in, b.Payload)
		}
	}
}

func TestInlineKeyboardLayout(t *testing.T) {
	short := []engine.Button{{Label: "A", Payload: "a"}, {Label: "B", Payload: "b"}, {Label: "C", Payload: "c"}, {Label: "D", Payload: "d"}}
	kb, err := inlineKeyboard(short)
	if err != nil || len(kb.InlineKeyboard) != 2 || len(kb.InlineKeyboard[1]) != 2 {
		t.Fatalf("short labels: %v %+v, want 2 rows of 2", err, kb)
	}
	long := []engine.Button{{Label: "Yes", Payload: "y"}, {Label: "Tell me more about the prices", Payload: "more"}}
	kb, err = inlineKeyboard(long)
	if err != nil || len(kb.InlineKeyboard) != 2 || len(kb.InlineKeyboard[0]) != 1 {
		t.Fatalf("long label: %v %+v, want one per row", err, kb)
	}
	if d := kb.InlineKeyboard[1][0].CallbackData; d == nil || *d != "more" {
		t.Fatalf("callback_data = %v", d)
	}
	if kb, err := inlineKeyboard(nil); kb != nil || err != nil {
		t.Fatalf("no buttons: %v %v", kb, err)
	}
}

// TestSendSplitsLongText: 5,000 characters go out as two messages within
// Telegram's limit, cut between paragraphs, buttons on the last.
func TestSendSplitsLongText(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	var paras []string
	for i := 0; len(strings.Join(paras, "\n\n")) < 5000; i++ {
		paras = append(paras, fmt.Sprintf("Paragraph %d. %s", i, strings.Repeat("lorem ipsum dolor ", 10)))
	}
	text := strings.Join(paras, "\n\n")[:5000]
	sent, err := e.a.Send(ctxT(t), channel.Outbound{ID: "long", Chat: "42", Text: text,
		Buttons: []engine.Button{{Label: "OK", Payload: "ok"}}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := e.fake.Sent(42)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if msgs[0].Keyboard != nil || msgs[1].Keyboard == nil {
		t.Errorf("keyboards on parts: %v, %v; want only on the last", msgs[0].ReplyMarkup, msgs[1].ReplyMarkup)
	}
	if !strings.HasSuffix(msgs[0].Text, ".") && !strings.HasSuffix(msgs[0].Text, "dolor") {
		t.Errorf("first part ends mid-paragraph: %q", msgs[0].Text[len(msgs[0].Text)-30:])
	}
	if !strings.HasPrefix(msgs[1].Text, "Paragraph ") {
		t.Errorf("second part does not start a paragraph: %q", msgs[1].Text[:30])
	}
	if got, want := strings.Fields(msgs[0].Text+" "+msgs[1].Text), strings.Fields(text); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Error("the parts do not add up to the text")
	}
	if sent.PlatformID != strconv.Itoa(msgs[1].MessageID) {
		t.Errorf("PlatformID %q, want the last part's id %d", sent.PlatformID, msgs[1].MessageID)
	}
}

// TestSendSplitsByUTF16: 3,000 emoji are 6,000 UTF-16 code units; the fake
// refuses anything over 4,096, so counting runes would fail here.
func TestSendSplitsByUTF16(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	text := strings.Repeat("😀😀😀😀😀😀😀😀😀 ", 300)
	if _, err := e.a.Send(ctxT(t), channel.Outbound{ID: "emoji", Chat: "42", Text: text}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := e.fake.Sent(42)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	for i, m := range msgs {
		if n := utf16Len(m.Text); n > MaxTextLen {
			t.Errorf("part %d is %d UTF-16 units", i, n)
		}
	}
}

// TestSendResumesSplitText: a failure on the second part, then the
// runtime's retry of the same message, delivers each part once.
func TestSendResumesSplitText(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	text := strings.Repeat("word ", 1000) // 5,000 characters
	e.inject("sendMessage", nil, apiFault(http.StatusInternalServerError, "Internal Server Error", 0))
	msg := channel.Outbound{ID: "resume", Chat: "42", Text: text, Buttons: []engine.Button{{Label: "OK", Payload: "ok"}}}
	_, err := e.a.Send(ctxT(t), msg)
	if se := sendErr(t, err); !se.Retryable {
		t.Fatalf("%v, want retryable", se)
	}
	if n := len(e.fake.Sent(42)); n != 1 {
		t.Fatalf("%d parts delivered before the failure, want 1", n)
	}
	if _, err := e.a.Send(ctxT(t), msg); err != nil {
		t.Fatalf("retry: %v", err)
	}
	msgs := e.fake.Sent(42)
	if len(msgs) != 2 || msgs[1].Keyboard == nil {
		t.Fatalf("%d messages after the retry, want 2 with buttons on the last", len(msgs))
	}
	if e.a.partsSent("resume") != 0 {
		t.Error("progress kept after the message was complete")
	}
}

func TestSendFloodControl(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	var err error
	for i := 0; i < 4 && err == nil; i++ { // a private chat bursts 3, on a frozen clock
		_, err = e.a.Send(ctxT(t), channel.Outbound{ID: fmt.Sprint(i), Chat: "42", Text: "hi"})
	}
	se := sendErr(t, err)
	if !se.Retryable || se.Blocked || se.Code != 429 || se.RetryAfter <= 0 {
		t.Fatalf("%+v, want Retryable 429 with RetryAfter", se)
	}
	if !strings.Contains(se.Error(), "Too Many Requests") {
		t.Errorf("error %q lacks Telegram's description", se)
	}
}

func TestSendBlocked(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	mustSay(t, e.fake, 43, "/start")
	if _, err := e.fake.Block(42); err != nil {
		t.Fatal(err)
	}
	e.fake.Deactivate(43)
	for _, tc := range []struct{ chat, desc string }{
		{"42", tgfake.DescBlocked}, {"43", tgfake.DescDeactivated}, {"777", tgfake.DescChatNotFound},
	} {
		_, err := e.a.Send(ctxT(t), channel.Outbound{ID: "x", Chat: tc.chat, Text: "hi"})
		se := sendErr(t, err)
		if !se.Blocked || se.Retryable || !strings.Contains(se.Error(), tc.desc) {
			t.Errorf("chat %s: %v, want Blocked with %q", tc.chat, se, tc.desc)
		}
	}
}

func TestSendTransientFailures(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	for _, tc := range []struct {
		name  string
		fault fault
		code  int
	}{
		{"html 502", htmlFault(http.StatusBadGateway), 0},
		{"json 500", apiFault(http.StatusInternalServerError, "Internal Server Error", 0), 500},
		{"dropped connection", dropConn, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.inject("sendMessage", tc.fault)
			_, err := e.a.Send(ctxT(t), channel.Outbound{ID: "x", Chat: "42", Text: "hi"})
			se := sendErr(t, err)
			if !se.Retryable || se.Blocked || se.Code != tc.code {
				t.Fatalf("%+v, want Retryable with code %d", se, tc.code)
			}
			if strings.Contains(se.Error(), e.fake.Token()) {
				t.Fatalf("the token leaked into the error: %v", se)
			}
		})
	}
}

func TestSendOtherBadRequestIsFinal(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	e.inject("sendMessage", apiFault(http.StatusBadRequest, "Bad Request: can't parse entities", 0))
	_, err := e.a.Send(ctxT(t), channel.Outbound{ID: "x", Chat: "42", Text: "hi"})
	if se := sendErr(t, err); se.Retryable || se.Blocked || se.Code != 400 {
		t.Fatalf("%+v, want a final 400", se)
	}
}

// TestSendRefusesBeforeTheRequest: what Telegram would refuse with a 400
// fails here, final, without a request.
func TestSendRefusesBeforeTheRequest(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	for name, msg := range map[string]channel.Outbound{
		"payload over 64 bytes": {Chat: "42", Text: "hi", Buttons: []engine.Button{{Label: "A", Payload: strings.Repeat("x", 65)}}},
		"empty payload":         {Chat: "42", Text: "hi", Buttons: []engine.Button{{Label: "A"}}},
		"empty label":           {Chat: "42", Text: "hi", Buttons: []engine.Button{{Label: " ", Payload: "a"}}},
		"empty text":            {Chat: "42", Buttons: []engine.Button{{Label: "A", Payload: "a"}}},
		"blank text":            {Chat: "42", Text: " \n\t "},
		"chat not a number":     {Chat: "@channel", Text: "hi"},
		"chat zero":             {Chat: "0", Text: "hi"},
	} {
		_, err := e.a.Send(ctxT(t), msg)
		if se := sendErr(t, err); se.Retryable || se.Blocked {
			t.Errorf("%s: %+v, want a final error", name, se)
		}
	}
	if n := e.fake.Stats().Requests["sendMessage"]; n != 0 {
		t.Fatalf("%d sendMessage requests, want 0", n)
	}
	// 64 bytes exactly is fine.
	if _, err := e.a.Send(ctxT(t), channel.Outbound{Chat: "42", Text: "hi",
		Buttons: []engine.Button{{Label: "A", Payload: strings.Repeat("ж", 32)}}}); err != nil {
		t.Fatalf("64-byte payload: %v", err)
	}
}

func TestSendCancelled(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "/start")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.a.Send(ctx, channel.Outbound{Chat: "42", Text: "hi"})
	if se := sendErr(t, err); !se.Retryable || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want retryable context.Canceled", err)
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	if e.a.Limits() != channel.TelegramLimits {
		t.Fatalf("Limits = %+v", e.a.Limits())
	}
	if e.a.Username() != "voronka_test_bot" {
		t.Fatalf("Username = %q", e.a.Username())
	}
}

func TestNewErrors(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no bot id", Config{Token: "1:x"}, "BotID"},
		{"no token", Config{BotID: "b"}, "Token"},
		{"bad endpoint", Config{BotID: "b", Token: "1:x", APIEndpoint: "http://x/bot/%s"}, "two %s"},
		{"rejected token", Config{BotID: "b", Token: "1:wrong", APIEndpoint: e.front.URL + "/bot%s/%s"}, "rejected the token"},
		{"unreachable", Config{BotID: "b", Token: "1:secret-token", APIEndpoint: deadURL + "/bot%s/%s"}, "cannot reach"},
		{"bad secret", Config{BotID: "b", Token: "1:x", WebhookSecret: "no spaces"}, "WebhookSecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(ctxT(t), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, tc.want)
			}
			if tc.cfg.Token != "" && strings.Contains(err.Error(), tc.cfg.Token) {
				t.Fatalf("the token leaked into %q", err)
			}
		})
	}
}
