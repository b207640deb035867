package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
	"github.com/voronka/voronka/adapters/whatsapp/wafake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/channel/channeltest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestVerificationEchoesChallengeOnlyWithTheVerifyToken(t *testing.T) {
	a, err := New(Config{BotID: "b", PhoneNumberID: "1", Token: "t", AppSecret: "s", VerifyToken: "right"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token, mode string
		status      int
	}{{"right", "subscribe", 200}, {"wrong", "subscribe", 403}, {"", "subscribe", 403}, {"right", "unsubscribe", 403}} {
		q := url.Values{"hub.mode": {c.mode}, "hub.verify_token": {c.token}, "hub.challenge": {"1158201444"}}
		res := a.Webhook(ctx(t), channeltest.NewRecorder(), channel.WebhookRequest{Method: "GET", Query: q})
		if res.Status != c.status || (c.status == 200 && string(res.Body) != "1158201444") {
			t.Errorf("verify_token %q mode %q: %d %q", c.token, c.mode, res.Status, res.Body)
		}
	}
}

func TestButtonsBecomeReplyButtonsOrAList(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), wafake.Options{Unlimited: true})
	chat := r.Chat(t)
	three := []engine.Button{{Label: "Да", Payload: "y"}, {Label: "Нет", Payload: "n"}, {Label: "Позже", Payload: "l"}}
	four := append(append([]engine.Button{}, three...), engine.Button{Label: "Очень длинный вариант ответа", Payload: "long"})
	for i, bs := range [][]engine.Button{three, four} {
		if _, err := r.a.Send(ctx(t), channel.Outbound{ID: "m" + string(rune('a'+i)), Chat: chat, Text: "Выберите", Buttons: bs}); err != nil {
			t.Fatal(err)
		}
	}
	sent := r.fake.Sent(chat)
	if len(sent) != 2 || sent[0].List || len(sent[0].Buttons) != 3 || !sent[1].List || len(sent[1].Buttons) != 4 {
		t.Fatalf("sent %+v", sent)
	}
	if row := sent[1].Buttons[3]; row.Title != "Очень длинный вариант о…" || row.Description != "Очень длинный вариант ответа" || row.ID != "long" {
		t.Fatalf("long label row = %+v", row)
	}
	// Picking the list row comes back as a press with its payload.
	in, err := r.fake.Press(chat, "long", "")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(t, in.Delivery)
	all := h.All()
	if last := all[len(all)-1]; last.Kind != channel.KindPress || last.Payload != "long" {
		t.Fatalf("list reply = %+v", last)
	}
	// Eleven buttons cannot be shown: refused before any request.
	many := make([]engine.Button, 11)
	for i := range many {
		many[i] = engine.Button{Label: "b", Payload: string(rune('a' + i))}
	}
	_, err = r.a.Send(ctx(t), channel.Outbound{ID: "many", Chat: chat, Text: "x", Buttons: many})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || r.fake.Stats().Requests != 2 {
		t.Fatalf("11 buttons: %v (requests %d)", err, r.fake.Stats().Requests)
	}
}

func TestWindowSendsTemplateOrNothing(t *testing.T) {
	clock := fakekit.NewManualClock(time.Now())
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), wafake.Options{Unlimited: true, Clock: clock})
	r.a.now = clock.Now
	chat := r.Chat(t)
	last := clock.Now()
	clock.Advance(25 * time.Hour)
	// No template: not attempted, and the error says why.
	_, err := r.a.Send(ctx(t), channel.Outbound{ID: "late", Chat: chat, Text: "Вы ещё здесь?", LastInbound: last})
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || !errors.Is(err, channel.ErrNeedsTemplate) || !strings.Contains(err.Error(), "24 hours") {
		t.Fatalf("late free-form send = %v", err)
	}
	if n := r.fake.Stats().Requests; n != 0 {
		t.Fatalf("%d requests for a send that breaks the window", n)
	}
	// With a template: the template goes out with its parameters.
	tpl := &channel.Template{Name: "follow_up", Language: "ru", Params: []string{"Иван"}}
	if _, err := r.a.Send(ctx(t), channel.Outbound{ID: "late2", Chat: chat, Text: "Вы ещё здесь?", LastInbound: last, Template: tpl}); err != nil {
		t.Fatal(err)
	}
	sent := r.fake.Sent(chat)
	if len(sent) != 1 || sent[0].Template == nil || sent[0].Template.Name != "follow_up" || sent[0].Template.Params[0] != "Иван" {
		t.Fatalf("sent %+v", sent)
	}
	// Without LastInbound the platform decides: the fake takes the message
	// and fails it by status with 131047, which becomes a failed receipt.
	s, err := r.a.Send(ctx(t), channel.Outbound{ID: "unknown", Chat: chat, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	waitReceipt(t, h, s.PlatformID, channel.ReceiptFailed)
	for _, rc := range h.Receipts() {
		if rc.PlatformID == s.PlatformID && rc.Code != 131047 {
			t.Fatalf("failed receipt %+v, want code 131047", rc)
		}
	}
}

func waitReceipt(t *testing.T, h *channeltest.Recorder, id string, st channel.ReceiptStatus) channel.Receipt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range h.Receipts() {
			if r.PlatformID == id && r.Status == st {
				return r
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s receipt for %s in %+v", st, id, h.Receipts())
	return channel.Receipt{}
}

func TestStatusesBecomeReceiptsInAnyOrder(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), wafake.Options{Unlimited: true, SkipDelivered: true})
	chat := r.Chat(t)
	s, err := r.a.Send(ctx(t), channel.Outbound{ID: "m", Chat: chat, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	waitReceipt(t, h, s.PlatformID, channel.ReceiptSent)
	// read arrives with delivered skipped; a late delivered comes after it.
	if _, err := r.fake.Status(s.PlatformID, "read"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.fake.Status(s.PlatformID, "delivered"); err != nil {
		t.Fatal(err)
	}
	read := waitReceipt(t, h, s.PlatformID, channel.ReceiptRead)
	waitReceipt(t, h, s.PlatformID, channel.ReceiptDelivered)
	if read.Chat != chat || read.Time.IsZero() || read.Channel != "whatsapp" {
		t.Fatalf("read receipt %+v", read)
	}
}

// A failed status whose code is about the person, not the message, says
// so: 131026 unreachable (the contact gets blocked), 131050 a marketing
// opt-out (consent off); 131047 and 131051 are the message's own failure.
func TestFailedStatusesSayWhetherThePersonIsReachable(t *testing.T) {
	a, _ := New(Config{BotID: "b", PhoneNumberID: "1", Token: "t", AppSecret: "s", VerifyToken: "v"})
	for _, c := range []struct {
		code                  int
		unreachable, optedOut bool
	}{{131026, true, false}, {131021, true, false}, {131050, false, true}, {131047, false, false}, {131051, false, false}} {
		body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.x","status":"failed","timestamp":"1700000000","recipient_id":"7999","errors":[{"code":%d,"title":"t"}]}]}}]}]}`, c.code)
		_, rs, err := a.Parse([]byte(body))
		if err != nil || len(rs) != 1 {
			t.Fatalf("code %d: %v %+v", c.code, err, rs)
		}
		if rs[0].Status != channel.ReceiptFailed || rs[0].Code != c.code || rs[0].Unreachable != c.unreachable || rs[0].OptedOut != c.optedOut {
			t.Errorf("code %d: receipt %+v", c.code, rs[0])
		}
	}
}

// A person who blocked the business: WhatsApp takes the message and its
// status fails with 131026, which the receipt marks unreachable.
func TestBlockedPersonFailsByStatus(t *testing.T) {
	h := channeltest.NewRecorder()
	r := newRig(t, h, slog.Default(), wafake.Options{Unlimited: true})
	chat := r.Chat(t)
	r.fake.Block(chat)
	s, err := r.a.Send(ctx(t), channel.Outbound{ID: "m", Chat: chat, Text: "hi", LastInbound: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rc := waitReceipt(t, h, s.PlatformID, channel.ReceiptFailed)
	if rc.Code != 131026 || !rc.Unreachable || len(r.fake.Sent(chat)) != 0 {
		t.Fatalf("receipt %+v, delivered %d", rc, len(r.fake.Sent(chat)))
	}
}

func TestErrorsClassified(t *testing.T) {
	for _, c := range []struct {
		code, status       int
		retry, block, tmpl bool
	}{
		{130429, 400, true, false, false},
		{131056, 400, true, false, false},
		{131047, 400, false, false, true},
		{131026, 400, false, true, false},
		{131021, 400, false, true, false},
		{131000, 500, true, false, false},
		{131009, 400, false, false, false},
		{190, 401, false, false, false},
	} {
		se := classify(&apiError{Status: c.status, Code: c.code, Message: "x"})
		if se.Retryable != c.retry || se.Blocked != c.block || errors.Is(se, channel.ErrNeedsTemplate) != c.tmpl || (c.retry && se.RetryAfter <= 0) {
			t.Errorf("code %d: %+v", c.code, se)
		}
	}
}

func TestUnsignedPostStoresNothing(t *testing.T) {
	h := channeltest.NewRecorder()
	a, _ := New(Config{BotID: "b", PhoneNumberID: "1", Token: "t", AppSecret: "s", VerifyToken: "v"})
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w","type":"text","text":{"body":"x"}}]}}]}]}`)
	for _, sig := range []string{"", "sha256=", "sha256=zz", "md5=" + fakekit.HMACHex("s", body), "sha256=" + fakekit.HMACHex("other", body)} {
		res := a.Webhook(ctx(t), h, channel.WebhookRequest{Method: "POST", Header: http.Header{SignatureHeader: {sig}}, Body: body})
		if res.Status != 401 {
			t.Errorf("signature %q: %d", sig, res.Status)
		}
	}
	res := a.Webhook(ctx(t), h, channel.WebhookRequest{Method: "POST", Header: http.Header{SignatureHeader: {"sha256=" + fakekit.HMACHex("s", body)}}, Body: body})
	if res.Status != 200 || len(h.All()) != 1 {
		t.Fatalf("signed: %d, stored %d", res.Status, len(h.All()))
	}
}
