package tgfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

var epoch = time.Unix(1_750_000_000, 0)

// env is one fake with its clock and a real client.
type env struct {
	fake  *tgfake.Fake
	clock *tgfake.ManualClock
	bot   *tgbotapi.BotAPI
	base  string
}

func newEnv(t *testing.T, opts tgfake.Options) *env {
	t.Helper()
	clock := tgfake.NewManualClock(epoch)
	opts.Clock = clock
	f := tgfake.New(opts)
	base, err := f.Start()
	if err != nil {
		t.Fatalf("start fake: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close fake: %v", err)
		}
	})
	bot, err := tgbotapi.NewBotAPIWithAPIEndpoint(f.Token(), base+"/bot%s/%s")
	if err != nil {
		t.Fatalf("NewBotAPIWithAPIEndpoint: %v", err)
	}
	return &env{fake: f, clock: clock, bot: bot, base: base}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiErr asserts err is a *tgbotapi.Error with code and message.
func apiErr(t *testing.T, err error, code int, msg string) *tgbotapi.Error {
	t.Helper()
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *tgbotapi.Error", err, err)
	}
	if te.Code != code || te.Message != msg {
		t.Fatalf("error = %d %q, want %d %q", te.Code, te.Message, code, msg)
	}
	return te
}

func mustSay(t *testing.T, f *tgfake.Fake, user int64, text string) tgfake.Update {
	t.Helper()
	u, err := f.SendText(user, text)
	if err != nil {
		t.Fatalf("SendText(%d, %q): %v", user, text, err)
	}
	return u
}

func keyboard(data ...string) tgbotapi.InlineKeyboardMarkup {
	var row []tgbotapi.InlineKeyboardButton
	for _, d := range data {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData("btn "+d, d))
	}
	return tgbotapi.NewInlineKeyboardMarkup(row)
}

func TestGetMeAndRouting(t *testing.T) {
	e := newEnv(t, tgfake.Options{Username: "funnel_bot"})
	if got := e.bot.Self; got.ID != 123456789 || !got.IsBot || got.UserName != "funnel_bot" {
		t.Fatalf("Self = %+v", got)
	}
	if _, err := e.bot.MakeRequest("GETME", nil); err != nil {
		t.Fatalf("method names must be case-insensitive: %v", err)
	}
	_, err := e.bot.MakeRequest("sendSticker", nil)
	apiErr(t, err, 404, "Not Found")

	_, err = tgbotapi.NewBotAPIWithAPIEndpoint("1:wrong", e.base+"/bot%s/%s")
	apiErr(t, err, 401, "Unauthorized")

	resp, err := http.Get(e.base + "/bot1:wrong/getMe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("HTTP status = %d, want 401 = error_code", resp.StatusCode)
	}
}

func TestSendMessageKeyboardRoundTrip(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	const user = 42
	mustSay(t, e.fake, user, "/start")

	msg := tgbotapi.NewMessage(user, "Pick one")
	msg.ReplyMarkup = keyboard("yes", "no")
	sent, err := e.bot.Send(msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.MessageID != 2 || sent.Chat.ID != user || sent.From.ID != e.bot.Self.ID || sent.Text != "Pick one" || sent.Date != int(epoch.Unix()) {
		t.Fatalf("sent = %+v", sent)
	}
	if sent.ReplyMarkup == nil || *sent.ReplyMarkup.InlineKeyboard[0][1].CallbackData != "no" {
		t.Fatalf("reply_markup = %+v", sent.ReplyMarkup)
	}
	rec := e.fake.Sent(user)
	if len(rec) != 1 || rec[0].Method != "sendMessage" || rec[0].Text != "Pick one" || rec[0].Keyboard == nil {
		t.Fatalf("recorded = %+v", rec)
	}

	// The user presses "yes"; the bot gets the callback query by long poll.
	if _, err := e.fake.PressButton(user, user, sent.MessageID, "yes"); err != nil {
		t.Fatalf("PressButton: %v", err)
	}
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{Offset: 2})
	if err != nil {
		t.Fatalf("GetUpdates: %v", err)
	}
	if len(ups) != 1 || ups[0].CallbackQuery == nil {
		t.Fatalf("updates = %+v", ups)
	}
	cq := ups[0].CallbackQuery
	if cq.Data != "yes" || cq.Message.MessageID != sent.MessageID || cq.From.ID != user || cq.ChatInstance == "" {
		t.Fatalf("callback query = %+v", cq)
	}

	// answerCallbackQuery returns true: Send cannot decode it, Request can.
	if _, err := e.bot.Send(tgbotapi.NewCallback(cq.ID, "")); err == nil || !strings.Contains(err.Error(), "unmarshal") {
		t.Fatalf("Send(callback) err = %v, want an unmarshal error", err)
	}
	_, err = e.bot.Request(tgbotapi.NewCallback(cq.ID, "Thanks"))
	apiErr(t, err, 400, tgfake.DescQueryTooOld) // the Send above already answered it

	if _, err := e.fake.PressButtonText(user, user, 0, "btn no"); err != nil {
		t.Fatalf("PressButtonText: %v", err)
	}
	ups, err = e.bot.GetUpdates(tgbotapi.UpdateConfig{Offset: ups[0].UpdateID + 1})
	if err != nil || len(ups) != 1 {
		t.Fatalf("GetUpdates = %v, %v", ups, err)
	}
	if _, err := e.bot.Request(tgbotapi.NewCallback(ups[0].CallbackQuery.ID, "Noted")); err != nil {
		t.Fatalf("Request(callback): %v", err)
	}
	if a := e.fake.CallbackAnswers(); len(a) != 2 || a[1].Text != "Noted" {
		t.Fatalf("answers = %+v", a)
	}

	// Editing to the same markup is "not modified"; a new one works.
	e.clock.Advance(time.Second)
	_, err = e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(user, sent.MessageID, keyboard("yes", "no")))
	apiErr(t, err, 400, tgfake.DescNotModified)
	edited, err := e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(user, sent.MessageID, keyboard("done")))
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if edited.EditDate == 0 || *edited.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "done" {
		t.Fatalf("edited = %+v", edited)
	}
	if rec := e.fake.Sent(user); len(rec) != 2 || rec[1].Method != "editMessageReplyMarkup" {
		t.Fatalf("recorded = %+v", rec)
	}
	_, err = e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(user, 99, keyboard("x")))
	apiErr(t, err, 400, tgfake.DescMessageToEditAbsent)
}

func TestSendMessageValidation(t *testing.T) {
	long64 := strings.Repeat("d", 64)
	tests := []struct {
		name     string
		chat     int64 // 0: the user's own chat
		text     string
		data     string // callback_data of one button, "" for no keyboard
		wantCode int
		wantDesc string
	}{
		{name: "4096 ASCII ok", text: strings.Repeat("a", 4096)},
		{name: "4097 ASCII too long", text: strings.Repeat("a", 4097), wantCode: 400, wantDesc: tgfake.DescTextTooLong},
		{name: "2048 emoji = 4096 UTF-16 units ok", text: strings.Repeat("😀", 2048)},
		{name: "2049 emoji too long", text: strings.Repeat("😀", 2049), wantCode: 400, wantDesc: tgfake.DescTextTooLong},
		{name: "4096 Cyrillic ok", text: strings.Repeat("ж", 4096)},
		{name: "empty text", text: "", wantCode: 400, wantDesc: tgfake.DescTextEmpty},
		{name: "blank text", text: "  \n ", wantCode: 400, wantDesc: tgfake.DescTextEmpty},
		{name: "callback_data 64 bytes ok", text: "hi", data: long64},
		{name: "callback_data 65 bytes", text: "hi", data: long64 + "d", wantCode: 400, wantDesc: tgfake.DescButtonDataInvalid},
		{name: "callback_data 33 Cyrillic = 66 bytes", text: "hi", data: strings.Repeat("ж", 33), wantCode: 400, wantDesc: tgfake.DescButtonDataInvalid},
		{name: "unknown chat", chat: 999, text: "hi", wantCode: 400, wantDesc: tgfake.DescChatNotFound},
		{name: "no chat_id", chat: -1, text: "hi", wantCode: 400, wantDesc: tgfake.DescChatIDEmpty},
	}
	e := newEnv(t, tgfake.Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := int64(1000 + i)
			mustSay(t, e.fake, user, "hello")
			chat := user
			switch tt.chat {
			case 0:
			case -1:
				chat = 0 // go-telegram-bot-api omits a zero chat_id
			default:
				chat = tt.chat
			}
			msg := tgbotapi.NewMessage(chat, tt.text)
			if tt.data != "" {
				msg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
					tgbotapi.NewInlineKeyboardButtonData("b", tt.data)))
			}
			_, err := e.bot.Send(msg)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			apiErr(t, err, tt.wantCode, tt.wantDesc)
		})
	}
}

func TestBlockedAndDeactivated(t *testing.T) {
	e := newEnv(t, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	const user = 7
	mustSay(t, e.fake, user, "hi")
	up, err := e.fake.Block(user)
	if err != nil {
		t.Fatalf("Block: %v", err)
	}
	if m := up.MyChatMember; m == nil || m.OldChatMember.Status != "member" || m.NewChatMember.Status != "kicked" || m.NewChatMember.User.ID != e.bot.Self.ID {
		t.Fatalf("block update = %+v", up)
	}
	_, err = e.bot.Send(tgbotapi.NewMessage(user, "are you there?"))
	apiErr(t, err, 403, tgfake.DescBlocked)

	if _, err := e.fake.Unblock(user); err != nil {
		t.Fatalf("Unblock: %v", err)
	}
	if _, err := e.bot.Send(tgbotapi.NewMessage(user, "welcome back")); err != nil {
		t.Fatalf("Send after unblock: %v", err)
	}
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 3 || ups[1].MyChatMember == nil || ups[2].MyChatMember.NewChatMember.Status != "member" {
		t.Fatalf("updates = %+v", ups)
	}

	e.fake.Deactivate(user)
	_, err = e.bot.Send(tgbotapi.NewMessage(user, "hello?"))
	apiErr(t, err, 403, tgfake.DescDeactivated)
	if len(e.fake.Sent(user)) != 1 {
		t.Fatalf("failed sends must not be recorded: %+v", e.fake.Sent(user))
	}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits tgfake.Limits
		chats  int  // distinct chats, round-robin
		group  bool // write to a group instead of private chats
		ok     int  // sends that pass before the 429
		retry  int  // expected retry_after
		wait   time.Duration
	}{
		{name: "private chat burst 3 then 1/s", chats: 1, ok: 3, retry: 1, wait: time.Second},
		{name: "global 30/s", chats: 40, ok: 30, retry: 1, wait: time.Second},
		{name: "group 20/min", chats: 1, group: true, ok: 20, retry: 3, wait: 3 * time.Second},
		{name: "raised private limit", limits: tgfake.Limits{PrivatePerSecond: 100, PrivateBurst: 10, GlobalPerSecond: 1000}, chats: 1, ok: 10, retry: 1, wait: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tgfake.Options{Limits: tt.limits})
			chat := func(i int) int64 {
				if tt.group {
					return -100
				}
				return int64(1 + i%tt.chats)
			}
			for i := 0; i < tt.chats; i++ {
				if tt.group {
					if _, err := e.fake.SendGroupText(1, -100, "Team", "hi"); err != nil {
						t.Fatal(err)
					}
				} else {
					mustSay(t, e.fake, chat(i), "hi")
				}
			}
			for i := 0; i < tt.ok; i++ {
				if _, err := e.bot.Send(tgbotapi.NewMessage(chat(i), "m")); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			_, err := e.bot.Send(tgbotapi.NewMessage(chat(tt.ok), "one too many"))
			te := apiErr(t, err, 429, "Too Many Requests: retry after "+strconv.Itoa(tt.retry))
			if te.RetryAfter != tt.retry {
				t.Fatalf("RetryAfter = %d, want %d", te.RetryAfter, tt.retry)
			}
			if got := e.fake.Stats().TooManyRequests; got != 1 {
				t.Fatalf("TooManyRequests = %d", got)
			}
			e.clock.Advance(tt.wait)
			if _, err := e.bot.Send(tgbotapi.NewMessage(chat(tt.ok), "after waiting")); err != nil {
				t.Fatalf("send after retry_after: %v", err)
			}
		})
	}
}

func TestGetUpdatesOffsets(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	for _, text := range []string{"one", "two", "three"} {
		mustSay(t, e.fake, 5, text)
	}
	texts := func(ups []tgbotapi.Update) string {
		var s []string
		for _, u := range ups {
			s = append(s, u.Message.Text)
		}
		return strings.Join(s, ",")
	}
	steps := []struct {
		name string
		cfg  tgbotapi.UpdateConfig
		want string
	}{
		{"no offset returns all unconfirmed", tgbotapi.UpdateConfig{}, "one,two,three"},
		{"unconfirmed are returned again", tgbotapi.UpdateConfig{}, "one,two,three"},
		{"limit", tgbotapi.UpdateConfig{Limit: 2}, "one,two"},
		{"offset confirms below it", tgbotapi.UpdateConfig{Offset: 3}, "three"},
		{"confirmed are gone", tgbotapi.UpdateConfig{}, "three"},
		{"offset past the end confirms all", tgbotapi.UpdateConfig{Offset: 4}, ""},
	}
	for _, s := range steps {
		ups, err := e.bot.GetUpdates(s.cfg)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := texts(ups); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.name, got, s.want)
		}
	}
	for id := int64(1); id <= 3; id++ {
		if st, _ := e.fake.UpdateStatusOf(id); st.State != tgfake.StateConfirmed {
			t.Fatalf("update %d state = %s", id, st.State)
		}
	}
	for _, text := range []string{"four", "five", "six"} {
		mustSay(t, e.fake, 5, text)
	}
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{Offset: -1})
	if err != nil || texts(ups) != "six" {
		t.Fatalf("negative offset: %q, %v", texts(ups), err)
	}
	ups, err = e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || texts(ups) != "six" || ups[0].UpdateID != 6 {
		t.Fatalf("after negative offset: %+v, %v", ups, err)
	}
	if m := ups[0].Message; m.Chat.Type != "private" || m.From.ID != 5 || m.MessageID != 6 {
		t.Fatalf("message = %+v", m)
	}
}

func TestLongPollAndConflicts(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx := ctxT(t)
	type result struct {
		ups []tgbotapi.Update
		err error
	}
	poll := func(offset int) <-chan result {
		ch := make(chan result, 1)
		go func() {
			ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{Offset: offset, Timeout: 50})
			ch <- result{ups, err}
		}()
		return ch
	}

	// A parked poll returns as soon as an update arrives.
	first := poll(0)
	if err := e.fake.WaitPoll(ctx); err != nil {
		t.Fatal(err)
	}
	mustSay(t, e.fake, 9, "/start")
	r := <-first
	if r.err != nil || len(r.ups) != 1 || r.ups[0].Message.Text != "/start" {
		t.Fatalf("long poll = %+v, %v", r.ups, r.err)
	}
	if ent := r.ups[0].Message.Entities; len(ent) != 1 || ent[0].Type != "bot_command" || ent[0].Length != 6 {
		t.Fatalf("entities = %+v", ent)
	}

	// The timeout runs on the injected clock.
	timed := poll(2)
	if err := e.fake.WaitPoll(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(50 * time.Second)
	if r := <-timed; r.err != nil || len(r.ups) != 0 {
		t.Fatalf("timed-out poll = %+v, %v", r.ups, r.err)
	}

	// A second concurrent poll terminates the first with 409.
	a := poll(2)
	if err := e.fake.WaitPoll(ctx); err != nil {
		t.Fatal(err)
	}
	b := poll(2)
	apiErr(t, (<-a).err, 409, tgfake.DescConflictPoll)
	if err := e.fake.WaitPoll(ctx); err != nil {
		t.Fatal(err)
	}
	mustSay(t, e.fake, 9, "again")
	if r := <-b; r.err != nil || len(r.ups) != 1 {
		t.Fatalf("second poll = %+v, %v", r.ups, r.err)
	}

	// getUpdates is refused while a webhook is set.
	if _, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://127.0.0.1:1/hook"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	apiErr(t, err, 409, tgfake.DescConflictWebhook)
	if _, err := e.bot.Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Fatalf("after deleteWebhook: %v", err)
	}
}

// hookServer is a webhook endpoint that decodes with the real client.
type hookServer struct {
	t       *testing.T
	bot     *tgbotapi.BotAPI
	mu      sync.Mutex
	got     []string // texts in arrival order
	secrets []string
	fail    int                      // answer 500 to this many requests
	reply   map[string]string        // texts answered with this 200 body
	block   map[string]chan struct{} // texts whose handling waits on the channel
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up, err := h.bot.HandleUpdate(r)
	if err != nil {
		h.t.Errorf("HandleUpdate: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.secrets = append(h.secrets, r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
	if h.fail > 0 {
		h.fail--
		h.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	text := up.Message.Text
	h.got = append(h.got, text)
	wait, reply := h.block[text], h.reply[text]
	h.mu.Unlock()
	if wait != nil {
		<-wait
	}
	if reply != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, reply)
}

func (h *hookServer) snapshot() (got, secrets []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...), append([]string(nil), h.secrets...)
}

func TestWebhookSecretAndRetries(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx := ctxT(t)
	hs := &hookServer{t: t, bot: e.bot, fail: 2}
	srv := httptest.NewServer(hs)
	defer srv.Close()

	for _, bad := range []string{"has space", "slash/", strings.Repeat("s", 257)} {
		_, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": srv.URL, "secret_token": bad})
		var te *tgbotapi.Error
		if !errors.As(err, &te) || te.Code != 400 {
			t.Fatalf("secret %q: err = %v, want 400", bad, err)
		}
	}
	resp, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": srv.URL, "secret_token": "s3cr3t_-X"})
	if err != nil || resp.Description != "Webhook was set" {
		t.Fatalf("setWebhook = %+v, %v", resp, err)
	}

	up := mustSay(t, e.fake, 11, "hello")
	// Attempt 1 fails, attempt 2 (immediate) fails, then a 2 s back-off.
	st, err := e.fake.WaitUpdate(ctx, up.UpdateID, func(s tgfake.UpdateStatus) bool { return s.Failures == 2 })
	if err != nil {
		t.Fatal(err)
	}
	if st.Attempts != 2 || st.State != tgfake.StatePending {
		t.Fatalf("after two failures: %+v", st)
	}
	info, err := e.bot.GetWebhookInfo()
	if err != nil || info.PendingUpdateCount != 1 || info.LastErrorMessage == "" || info.MaxConnections != 40 {
		t.Fatalf("webhook info = %+v, %v", info, err)
	}
	e.clock.Advance(1999 * time.Millisecond)
	if st, _ := e.fake.UpdateStatusOf(up.UpdateID); st.Attempts != 2 {
		t.Fatalf("retried before the back-off: %+v", st)
	}
	e.clock.Advance(time.Millisecond)
	st, err = e.fake.WaitUpdateDone(ctx, up.UpdateID)
	if err != nil || st.State != tgfake.StateDelivered || st.Attempts != 3 {
		t.Fatalf("final = %+v, %v", st, err)
	}
	got, secrets := hs.snapshot()
	if len(got) != 1 || got[0] != "hello" || len(secrets) != 3 {
		t.Fatalf("got %v, secrets %v", got, secrets)
	}
	for _, s := range secrets {
		if s != "s3cr3t_-X" {
			t.Fatalf("secret header = %q", s)
		}
	}
}

func TestWebhookExpiry(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx := ctxT(t)
	hs := &hookServer{t: t, bot: e.bot, fail: 1 << 30}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	if _, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": srv.URL}); err != nil {
		t.Fatal(err)
	}
	up := mustSay(t, e.fake, 12, "lost")
	if _, err := e.fake.WaitUpdate(ctx, up.UpdateID, func(s tgfake.UpdateStatus) bool { return s.Failures == 2 }); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour) // fires the 2 s retry, which fails again
	if _, err := e.fake.WaitUpdate(ctx, up.UpdateID, func(s tgfake.UpdateStatus) bool { return s.Failures == 3 }); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute) // the next retry finds it expired
	st, err := e.fake.WaitUpdateDone(ctx, up.UpdateID)
	if err != nil || st.State != tgfake.StateExpired || st.Attempts != 3 {
		t.Fatalf("final = %+v, %v", st, err)
	}
}

func TestWebhookPerChatOrdering(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	ctx := ctxT(t)
	release := make(chan struct{})
	hs := &hookServer{t: t, bot: e.bot, block: map[string]chan struct{}{"A1": release}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	if _, err := e.bot.MakeRequest("setWebhook", tgbotapi.Params{"url": srv.URL, "max_connections": "10"}); err != nil {
		t.Fatal(err)
	}
	a1 := mustSay(t, e.fake, 1, "A1")
	a2 := mustSay(t, e.fake, 1, "A2")
	b1 := mustSay(t, e.fake, 2, "B1")

	// B1 goes through while A1 is still being handled: parallel across chats.
	if st, err := e.fake.WaitUpdateDone(ctx, b1.UpdateID); err != nil || st.State != tgfake.StateDelivered {
		t.Fatalf("B1 = %+v, %v", st, err)
	}
	// A2 waits for A1: one update in flight per chat.
	if st, _ := e.fake.UpdateStatusOf(a2.UpdateID); st.Attempts != 0 {
		t.Fatalf("A2 sent while A1 in flight: %+v", st)
	}
	if st, _ := e.fake.UpdateStatusOf(a1.UpdateID); st.State != tgfake.StatePending || st.Attempts != 1 {
		t.Fatalf("A1 = %+v", st)
	}
	close(release)
	if _, err := e.fake.WaitUpdateDone(ctx, a2.UpdateID); err != nil {
		t.Fatal(err)
	}
	got, _ := hs.snapshot()
	if len(got) != 3 || slices.Index(got, "A1") > slices.Index(got, "A2") {
		t.Fatalf("arrival order = %v, want A1 before A2", got)
	}
}

func TestAnswerCallbackQueryValidity(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 3, "hi")
	m, err := e.bot.Send(tgbotapi.NewMessage(3, "?"))
	if err == nil {
		_, err = e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(3, m.MessageID, keyboard("a")))
	}
	if err != nil {
		t.Fatal(err)
	}
	press := func() string {
		up, err := e.fake.PressButton(3, 3, m.MessageID, "a")
		if err != nil {
			t.Fatal(err)
		}
		return up.CallbackQuery.ID
	}
	tests := []struct {
		name    string
		id      string
		text    string
		advance time.Duration
		want    string
	}{
		{name: "fresh", id: press(), text: "ok"},
		{name: "text 200 chars", id: press(), text: strings.Repeat("я", 200)},
		{name: "text 201 chars", id: press(), text: strings.Repeat("я", 201), want: tgfake.DescCallbackTextLong},
		{name: "unknown id", id: "nope", want: tgfake.DescQueryTooOld},
		{name: "too old", id: press(), advance: 151 * time.Second, want: tgfake.DescQueryTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			_, err := e.bot.Request(tgbotapi.NewCallback(tt.id, tt.text))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				return
			}
			apiErr(t, err, 400, tt.want)
		})
	}
}

func TestWireFormats(t *testing.T) {
	e := newEnv(t, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	mustSay(t, e.fake, 21, "hi")
	url := e.base + "/bot" + e.fake.Token() + "/sendMessage"
	tests := []struct {
		name, contentType, body, query string
	}{
		{"json", "application/json", `{"chat_id":21,"text":"json","reply_markup":{"inline_keyboard":[[{"text":"x","callback_data":"x"}]]}}`, ""},
		{"form", "application/x-www-form-urlencoded", `chat_id=21&text=form`, ""},
		{"query", "", "", "?chat_id=21&text=query"},
		{"multipart", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n21\r\n--XX\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nmultipart\r\n--XX--\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, url+tt.query, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				OK     bool           `json:"ok"`
				Result tgfake.Message `json:"result"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK || out.Result.Text != tt.name {
				t.Fatalf("status %d, %+v, %v", resp.StatusCode, out, err)
			}
		})
	}
	if k := e.fake.Sent(21)[0].Keyboard; k == nil || *k.InlineKeyboard[0][0].CallbackData != "x" {
		t.Fatalf("JSON reply_markup object not understood: %+v", k)
	}
}
