package vk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/vk/vkfake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConfirmationAndDuplicateEvents(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), vkfake.Options{Unlimited: true})
	if st, body := postRaw(t, r.Hook.URL, fmt.Sprintf(`{"type":"confirmation","group_id":%d}`, r.fake.GroupID())); st != 200 || body != testConfirm {
		t.Fatalf("confirmation answered %d %q", st, body)
	}
	if st, _ := postRaw(t, r.Hook.URL, `{"type":"confirmation","group_id":1}`); st != 401 {
		t.Fatalf("another community's confirmation answered %d", st)
	}
	ev := fmt.Sprintf(`{"type":"message_new","group_id":%d,"event_id":"e1","v":"5.199","secret":%q,"object":{"message":{"id":5,"date":1700000000,"peer_id":77,"from_id":77,"text":"дубль"}}}`,
		r.fake.GroupID(), testSecret)
	for range 3 {
		if st, body := postRaw(t, r.Hook.URL, ev); st != 200 || body != "ok" {
			t.Fatalf("event answered %d %q", st, body)
		}
	}
	if got := h.Seen("дубль"); len(got) != 1 || got[0].UpdateID != "vk:e1" || got[0].Chat != "77" {
		t.Fatalf("a repeated event_id was handled %d times: %+v", len(got), got)
	}
}

func TestCallbackButtonIsAnsweredAndConsentEvents(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), vkfake.Options{Unlimited: true})
	chat := r.Chat(t)
	_, err := r.a.Send(ctx(t), channel.Outbound{ID: "k", IdempotencyKey: "k", Chat: chat, Text: "Записаться?",
		Buttons: []engine.Button{{Label: "Да", Payload: "yes"}, {Label: "Нет", Payload: "no"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.fake.Sent(peer(t, chat))[0]
	if !m.Inline || len(m.Buttons) != 2 || m.Buttons[0].Type != "callback" || m.Buttons[0].Payload != `{"b":"yes"}` {
		t.Fatalf("keyboard %+v", m)
	}
	a, err := r.fake.Press(peer(t, chat), "", "Да")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(t, a.Delivery)
	all := h.All()
	if last := all[len(all)-1]; last.Kind != channel.KindPress || last.Payload != "yes" {
		t.Fatalf("press = %+v", last)
	}
	if ans := r.fake.Answers(); len(ans) != 1 || strconv.FormatInt(ans[0].UserID, 10) != chat {
		t.Fatalf("answers %+v", ans)
	}
	r.Wait(t, r.fake.Deny(peer(t, chat)).Delivery)
	r.Wait(t, r.fake.Allow(peer(t, chat)).Delivery)
	all = h.All()
	if all[len(all)-2].Kind != channel.KindBlocked || all[len(all)-1].Kind != channel.KindUnblocked {
		t.Fatalf("deny/allow became %+v", all[len(all)-2:])
	}
}

func TestRandomIDMakesAResendAfterACrashHarmless(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), vkfake.Options{Unlimited: true})
	chat := r.Chat(t)
	msg := channel.Outbound{ID: "m1", IdempotencyKey: "conv/m1", Chat: chat, Text: "Ваш заказ принят"}
	first, err := r.a.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	// Another process (no memory of the first send) sends the same item.
	other, _ := New(r.a.cfg)
	again, err := other.Send(ctx(t), msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.fake.Sent(peer(t, chat)); len(got) != 1 || again.PlatformID != first.PlatformID || r.fake.Stats().Deduplicated != 1 {
		t.Fatalf("resend: %d messages, ids %s/%s", len(got), first.PlatformID, again.PlatformID)
	}
	if RandomID("a", 0) == RandomID("a", 1) || RandomID("a", 0) != RandomID("a", 0) {
		t.Fatal("random_id must differ per part and repeat per key")
	}
}

func TestKeyboardsWithinVKLimits(t *testing.T) {
	mk := func(n int, label string) []engine.Button {
		var bs []engine.Button
		for i := range n {
			bs = append(bs, engine.Button{Label: label + strconv.Itoa(i), Payload: "p" + strconv.Itoa(i)})
		}
		return bs
	}
	for _, c := range []struct {
		n      int
		label  string
		inline bool
		rows   int
		err    bool
	}{
		{2, "Да", true, 1, false},
		{10, "Вариант", true, 5, false},
		{10, "Очень длинный вариант ответа номер", true, 5, false}, // one a row would be 10 rows: widened to 2
		{12, "Да", false, 6, false},
		{41, "Да", false, 0, true},
	} {
		kb, err := Keyboard(mk(c.n, c.label))
		if (err != nil) != c.err {
			t.Fatalf("%d buttons: err %v", c.n, err)
		}
		if err != nil {
			continue
		}
		var k vkKeyboard
		if err := json.Unmarshal([]byte(kb), &k); err != nil {
			t.Fatal(err)
		}
		if k.Inline != c.inline || len(k.Buttons) != c.rows {
			t.Errorf("%d buttons %q: inline %v rows %d", c.n, c.label, k.Inline, len(k.Buttons))
		}
	}
}

func TestErrorsAndBadToken(t *testing.T) {
	for code, want := range map[int][3]bool{6: {true, false}, 9: {true, false}, 901: {false, true}, 902: {false, true}, 900: {false, true}, 911: {false, false}, 914: {false, false}} {
		se := classify(&APIError{Code: code})
		if se.Retryable != want[0] || se.Blocked != want[1] || (se.Retryable && se.RetryAfter <= 0) {
			t.Errorf("error %d: %+v", code, se)
		}
	}
	fake := vkfake.New(vkfake.Options{})
	base, _ := fake.Start("")
	defer fake.Close()
	a, _ := New(Config{BotID: "b", GroupID: fake.GroupID(), Token: "vk1.wrong", Secret: "s", Confirmation: "c", APIURL: base + "/method"})
	_, err := a.Connect(ctx(t))
	if !errors.Is(err, ErrTokenRejected) || bytes.Contains([]byte(err.Error()), []byte("vk1.wrong")) {
		t.Fatalf("connect = %v", err)
	}
}
