package viber

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/viber/viberfake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestConversationStartedGetsTheWelcome(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), viberfake.Options{Unlimited: true}, "Здравствуйте! Напишите, что вас интересует.")
	r.Wait(t, r.fake.Open("newcomer", "Оля").Delivery)
	sent := r.fake.Sent("newcomer")
	if len(sent) != 1 || !sent[0].Welcome || sent[0].Text != "Здравствуйте! Напишите, что вас интересует." || sent[0].Sender != "Voronka Shop" {
		t.Fatalf("sent %+v", sent)
	}
	if len(h.All()) != 0 {
		t.Fatalf("conversation_started reached the handler: %+v", h.All())
	}
	// A send before the person writes is refused by Viber (not subscribed).
	_, err := r.a.Send(ctx(t), channel.Outbound{ID: "x", Chat: "newcomer", Text: "hi"})
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Blocked || se.Code != 6 {
		t.Fatalf("send to an unsubscribed person = %v", err)
	}
}

func TestUnsubscribedIsBlockedAndTokensStayExact(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), viberfake.Options{Unlimited: true}, "")
	chat := r.Chat(t)
	s, err := r.a.Send(ctx(t), channel.Outbound{ID: "m", Chat: chat, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := strconv.ParseInt(s.PlatformID, 10, 64)
	if err != nil || tok <= 1<<53 || tok != r.fake.Sent(chat)[0].Token {
		t.Fatalf("platform id %q, fake token %d: must be the exact int64 above 2^53", s.PlatformID, r.fake.Sent(chat)[0].Token)
	}
	r.Wait(t, r.fake.Seen(chat, tok).Delivery)
	var read *channel.Receipt
	for _, rc := range h.Receipts() {
		if rc.Status == channel.ReceiptRead {
			read = &rc
		}
	}
	if read == nil || read.PlatformID != s.PlatformID || read.Chat != chat {
		t.Fatalf("receipts %+v", h.Receipts())
	}
	r.Wait(t, r.fake.Unsubscribe(chat).Delivery)
	all := h.All()
	if last := all[len(all)-1]; last.Kind != channel.KindBlocked || last.Chat != chat {
		t.Fatalf("unsubscribed became %+v", last)
	}
	// An inbound message_token above 2^53 keeps its last digits in the update id.
	in := r.fake.SendText(chat, "", "back")
	r.Wait(t, in.Delivery)
	all = h.All()
	if got := all[len(all)-1].UpdateID; got != "vb:"+in.Token {
		t.Fatalf("update id %q, want vb:%s", got, in.Token)
	}
}

func TestKeyboardAndPress(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), viberfake.Options{Unlimited: true}, "")
	chat := r.Chat(t)
	_, err := r.a.Send(ctx(t), channel.Outbound{ID: "k", Chat: chat, Text: "Когда удобно?", Buttons: []engine.Button{
		{Label: "Утром", Payload: "am"}, {Label: "Вечером", Payload: "pm"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.fake.Sent(chat)[0]
	if len(m.Buttons) != 2 || m.Buttons[0].ActionBody != "am" || m.Buttons[0].Columns != 3 || !m.Buttons[0].Silent {
		t.Fatalf("keyboard %+v", m.Buttons)
	}
	a, err := r.fake.Press(chat, "", "Вечером")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(t, a.Delivery)
	// Typing a payload by hand after a later message without buttons is text.
	all := h.All()
	if last := all[len(all)-1]; last.Kind != channel.KindPress || last.Payload != "pm" {
		t.Fatalf("press = %+v", last)
	}
}

func TestConnectWithABadTokenFails(t *testing.T) {
	fake := viberfake.New(viberfake.Options{})
	base, _ := fake.Start("")
	defer fake.Close()
	a, _ := New(Config{BotID: "b", Token: "wrong-token", APIURL: base + "/pa"})
	_, err := a.Connect(ctx(t), "")
	if !errors.Is(err, ErrTokenRejected) || strings.Contains(err.Error(), "wrong-token") || a.Status().State != channel.StateFailed {
		t.Fatalf("connect = %v, status %+v", err, a.Status())
	}
}

func TestFakeLimitsAndChecks(t *testing.T) {
	clock := fakekit.NewManualClock(time.Now())
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), viberfake.Options{Clock: clock}, "")
	chat := r.Chat(t)
	for i := range 100 {
		if _, err := r.a.Send(ctx(t), channel.Outbound{ID: "n" + strconv.Itoa(i), Chat: chat, Text: "spam"}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	_, err := r.a.Send(ctx(t), channel.Outbound{ID: "over", Chat: chat, Text: "spam"})
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Retryable || se.Code != 12 {
		t.Fatalf("101st message in an hour without a reply = %v", err)
	}
	long, _ := New(r.a.cfg)
	long.cfg.SenderName = strings.Repeat("n", 29) // New would cut it to 28
	_, err = long.Send(ctx(t), channel.Outbound{ID: "nm", Chat: chat, Text: "x"})
	if !errors.As(err, &se) || se.Retryable || se.Code != 3 {
		t.Fatalf("sender name of 29 = %v", err)
	}
}
