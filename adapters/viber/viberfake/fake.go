// Package viberfake is a faithful fake of the Viber REST Bot API for one
// bot account (PLATFORMS.md §4), for tests and the load tool.
//
// Methods are POSTed as JSON to /pa/<method> with X-Viber-Auth-Token:
// set_webhook (which first POSTs event "webhook" to the URL and needs a
// 200), get_account_info and send_message. Every answer is HTTP 200 with
// {"status":N,"status_message":"…"}: 0 ok, 1 invalidUrl, 2
// invalidAuthToken, 3 badData, 4 missingData, 5 receiverNotRegistered, 6
// receiverNotSubscribed, 7 publicAccountBlocked, 10 webhookNotSet, 11
// receiverNoSuitableDevice, 12 tooManyRequests (more than 100 messages in
// an hour to a user who has not replied, or over 500 requests in 10 s).
// send_message checks sender.name (1–28), text (≤ 7,000, unverified),
// tracking_data (≤ 4,000) and the keyboard (Type "keyboard", 1–24 buttons,
// Columns 1–6, Rows 1–2, ActionBody required), and answers message_token
// values above 2^53, so a client that decodes them as floats loses digits.
//
// Callbacks carry X-Viber-Content-Signature = hex(HMAC-SHA256(body,
// token)) and are retried for an hour (fakekit). A conversation_started
// callback's 200 body may hold a welcome message, which the fake records
// as sent to that user.
//
// # Control API (JSON, under /_fake/)
//
//	POST   /_fake/open        {"user_id":"…","name":"Ivan"} → conversation_started
//	POST   /_fake/subscribe   {"user_id":"…"}               → subscribed
//	POST   /_fake/message     {"user_id":"…","name":"Ivan","text":"hi"} (subscribes too)
//	POST   /_fake/press       {"user_id":"…","payload":"…"} (or "text": label)
//	POST   /_fake/unsubscribe {"user_id":"…"}               → unsubscribed
//	POST   /_fake/seen        {"user_id":"…","token":"…"}   → seen
//	GET    /_fake/sent[?user_id=…], GET /_fake/sent/wait?user_id=…&n=…, DELETE /_fake/sent
//	GET    /_fake/stats
//
// Each user action answers {"token":"<message_token>","delivery":N}; plus
// fakekit's /_fake/fail {"n","code"} (code: a Viber status, or 500 for an
// HTTP error), /_fake/outage, /_fake/reset, /_fake/clock/advance,
// /_fake/deliveries.
package viberfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/fakekit"
)

// Viber status codes.
const (
	StatusOK                     = 0
	StatusInvalidURL             = 1
	StatusInvalidAuthToken       = 2
	StatusBadData                = 3
	StatusMissingData            = 4
	StatusNotRegistered          = 5
	StatusNotSubscribed          = 6
	StatusAccountBlocked         = 7
	StatusWebhookNotSet          = 10
	StatusNoSuitableDevice       = 11
	StatusTooManyRequests        = 12
	firstToken             int64 = 5741311803571721087 // above 2^53
)

var statusText = map[int]string{
	StatusOK: "ok", StatusInvalidURL: "invalidUrl", StatusInvalidAuthToken: "invalidAuthToken",
	StatusBadData: "badData", StatusMissingData: "missingData", StatusNotRegistered: "receiverNotRegistered",
	StatusNotSubscribed: "receiverNotSubscribed", StatusAccountBlocked: "publicAccountBlocked",
	StatusWebhookNotSet: "webhookNotSet", StatusNoSuitableDevice: "receiverNoSuitableDevice",
	StatusTooManyRequests: "tooManyRequests",
}

// Options configure a Fake; the zero value is usable.
type Options struct {
	Token      string // default "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
	Name       string // the bot account's name (default "Voronka Shop")
	Clock      fakekit.Clock
	Unlimited  bool
	RetryScale float64
	Logger     *slog.Logger
	// Lean keeps counts, not contents, of what the bot sent and forgets
	// delivered updates (fakekit.BaseOptions.Lean): for load runs.
	Lean bool
}

// Button is a keyboard button of a sent message.
type Button struct {
	ActionType string `json:"ActionType"`
	ActionBody string `json:"ActionBody"`
	Text       string `json:"Text"`
	Columns    int    `json:"Columns,omitempty"`
	Rows       int    `json:"Rows,omitempty"`
	Silent     bool   `json:"Silent,omitempty"`
}

// SentMessage is one message the bot sent (or a welcome in a callback
// answer, Welcome set).
type SentMessage struct {
	Token        int64     `json:"token"`
	Receiver     string    `json:"receiver"`
	Sender       string    `json:"sender"`
	Text         string    `json:"text"`
	TrackingData string    `json:"tracking_data,omitempty"`
	Buttons      []Button  `json:"buttons,omitempty"`
	Welcome      bool      `json:"welcome,omitempty"`
	Time         time.Time `json:"time"`
}

type user struct {
	id, name     string
	subscribed   bool
	sinceReply   []time.Time // bot messages since the user last wrote
	lastKeyboard *SentMessage
}

// Stats are request counters.
type Stats struct {
	Requests        int64 `json:"requests"`
	Sent            int   `json:"sent"`
	TooManyRequests int64 `json:"too_many_requests"`
}

// Fake is a fake Viber Bot API for one bot account.
type Fake struct {
	fakekit.Base[SentMessage]
	opts  Options
	limit *fakekit.Limiter

	tooMany atomic.Int64

	mu        sync.Mutex
	users     map[string]*user
	nextToken int64
	events    []string
}

// New returns a Fake.
func New(opts Options) *Fake {
	if opts.Token == "" {
		opts.Token = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
	}
	if opts.Name == "" {
		opts.Name = "Voronka Shop"
	}
	f := &Fake{opts: opts, users: map[string]*user{}, nextToken: firstToken}
	f.Init(fakekit.BaseOptions{Component: "viberfake", Clock: opts.Clock, Logger: opts.Logger, Lean: opts.Lean, ChatParam: "user_id",
		Stats: func() any { return f.Stats() },
		Hooks: fakekit.DelivererOptions{TTL: time.Hour, Backoff: fakekit.ExpBackoff(5*time.Minute, opts.RetryScale),
			Prepare: func(req *http.Request, d fakekit.Delivery) {
				req.Header.Set("X-Viber-Content-Signature", fakekit.HMACHex(opts.Token, d.Body))
			},
			Accept: func(status int, _ []byte) error {
				if status != http.StatusOK {
					return fmt.Errorf("webhook answered %d", status)
				}
				return nil
			},
			OnAccepted: f.onAccepted}})
	if !opts.Unlimited {
		f.limit = fakekit.NewLimiter(f.Clock, fakekit.Rate{PerSecond: 50, Burst: 500}, fakekit.Rate{})
	}
	f.routes()
	return f
}

// Token is the auth token the fake accepts.
func (f *Fake) Token() string { return f.opts.Token }

// Start serves the fake and returns its base URL (api_url: base + "/pa").
func (f *Fake) Start(addr string) (string, error) { return f.Serve(addr, f) }

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func statusBody(code int, extra string) map[string]any {
	m := map[string]any{"status": code, "status_message": statusText[code]}
	if extra != "" {
		m["status_message"] = statusText[code] + ": " + extra
	}
	return m
}

func (f *Fake) writeFault(w http.ResponseWriter, code int) {
	if code >= 500 || code == fakekit.CodeBadGateway {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if code == StatusTooManyRequests {
		f.tooMany.Add(1)
	}
	writeJSON(w, statusBody(code, ""))
}

// ServeHTTP serves /pa/<method> and the control API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Front(w, r, f.writeFault) {
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/pa/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Viber-Auth-Token") != f.opts.Token {
		writeJSON(w, statusBody(StatusInvalidAuthToken, ""))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, statusBody(StatusBadData, err.Error()))
		return
	}
	switch method {
	case "set_webhook":
		writeJSON(w, f.setWebhook(r.Context(), body))
	case "get_account_info":
		writeJSON(w, map[string]any{"status": 0, "status_message": "ok", "id": "pa:5552234542312225", "name": f.opts.Name,
			"uri": strings.ToLower(strings.ReplaceAll(f.opts.Name, " ", "")), "webhook": f.Hooks.URL(), "subscribers_count": len(f.users)})
	case "send_message":
		res := f.sendMessage(body)
		if s, _ := res["status"].(int); s == StatusTooManyRequests {
			f.tooMany.Add(1)
		}
		// message_token goes out as a bare integer above 2^53.
		writeJSON(w, res)
	default:
		writeJSON(w, statusBody(StatusBadData, "unknown method "+method))
	}
}

func (f *Fake) setWebhook(ctx context.Context, body []byte) map[string]any {
	var req struct {
		URL        string   `json:"url"`
		EventTypes []string `json:"event_types"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return statusBody(StatusBadData, err.Error())
	}
	if req.URL == "" {
		f.Hooks.SetURL("")
		return statusBody(StatusOK, "")
	}
	if !strings.HasPrefix(req.URL, "http://") && !strings.HasPrefix(req.URL, "https://") {
		return statusBody(StatusInvalidURL, "")
	}
	// Viber checks the URL with a signed "webhook" callback first.
	cb, _ := json.Marshal(map[string]any{"event": "webhook", "timestamp": f.Clock.Now().UnixMilli(),
		"chat_hostname": "SN-CALLBACK-FAKE_", "message_token": f.token()})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, strings.NewReader(string(cb)))
	if err != nil {
		return statusBody(StatusInvalidURL, err.Error())
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("X-Viber-Content-Signature", fakekit.HMACHex(f.opts.Token, cb))
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return statusBody(StatusInvalidURL, err.Error())
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusBody(StatusInvalidURL, "webhook answered "+resp.Status)
	}
	f.mu.Lock()
	f.events = req.EventTypes
	f.mu.Unlock()
	f.Hooks.SetURL(req.URL)
	events := req.EventTypes
	if len(events) == 0 {
		events = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
	}
	return map[string]any{"status": 0, "status_message": "ok", "event_types": events}
}

func (f *Fake) token() int64 {
	return atomic.AddInt64(&f.nextToken, 1)
}

type sendReq struct {
	Receiver      string `json:"receiver"`
	MinAPIVersion int    `json:"min_api_version"`
	Sender        *struct {
		Name   string `json:"name"`
		Avatar string `json:"avatar"`
	} `json:"sender"`
	TrackingData string `json:"tracking_data"`
	Type         string `json:"type"`
	Text         string `json:"text"`
	Keyboard     *struct {
		Type          string   `json:"Type"`
		DefaultHeight bool     `json:"DefaultHeight"`
		Buttons       []Button `json:"Buttons"`
	} `json:"keyboard"`
}

// checkMessage validates a message body (send_message, or a welcome).
func checkMessage(req sendReq) (int, string) {
	if req.Sender == nil || req.Sender.Name == "" {
		return StatusMissingData, "sender.name is required"
	}
	if utf8.RuneCountInString(req.Sender.Name) > 28 {
		return StatusBadData, "sender.name is longer than 28 characters"
	}
	if req.Type != "text" {
		return StatusBadData, fmt.Sprintf("type %q is not supported by the fake", req.Type)
	}
	if req.Text == "" {
		return StatusMissingData, "text is required"
	}
	if utf8.RuneCountInString(req.Text) > 7000 {
		return StatusBadData, "text is longer than 7000 characters"
	}
	if len(req.TrackingData) > 4000 {
		return StatusBadData, "tracking_data is longer than 4000 characters"
	}
	if kb := req.Keyboard; kb != nil {
		if kb.Type != "keyboard" {
			return StatusBadData, "keyboard.Type must be keyboard"
		}
		if len(kb.Buttons) == 0 || len(kb.Buttons) > 24 {
			return StatusBadData, fmt.Sprintf("keyboard has %d buttons, 1 to 24 allowed", len(kb.Buttons))
		}
		for i, b := range kb.Buttons {
			switch {
			case b.ActionBody == "":
				return StatusMissingData, fmt.Sprintf("button %d: ActionBody is required", i)
			case b.Columns != 0 && (b.Columns < 1 || b.Columns > 6):
				return StatusBadData, fmt.Sprintf("button %d: Columns must be 1 to 6", i)
			case b.Rows != 0 && (b.Rows < 1 || b.Rows > 2):
				return StatusBadData, fmt.Sprintf("button %d: Rows must be 1 to 2", i)
			case b.ActionType != "" && b.ActionType != "reply" && b.ActionType != "open-url" && b.ActionType != "none":
				return StatusBadData, fmt.Sprintf("button %d: ActionType %q", i, b.ActionType)
			}
		}
	}
	return StatusOK, ""
}

func (f *Fake) sendMessage(body []byte) map[string]any {
	var req sendReq
	if err := json.Unmarshal(body, &req); err != nil {
		return statusBody(StatusBadData, err.Error())
	}
	if req.Receiver == "" {
		return statusBody(StatusMissingData, "receiver is required")
	}
	if code, why := checkMessage(req); code != StatusOK {
		return statusBody(code, why)
	}
	if f.Hooks.URL() == "" {
		return statusBody(StatusWebhookNotSet, "")
	}
	now := f.Clock.Now()
	f.mu.Lock()
	u := f.users[req.Receiver]
	switch {
	case u == nil:
		f.mu.Unlock()
		return statusBody(StatusNotRegistered, "")
	case !u.subscribed:
		f.mu.Unlock()
		return statusBody(StatusNotSubscribed, "")
	}
	recent := u.sinceReply[:0]
	for _, t := range u.sinceReply {
		if now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	u.sinceReply = recent
	if len(recent) >= 100 {
		f.mu.Unlock()
		return statusBody(StatusTooManyRequests, "")
	}
	if f.limit != nil && f.limit.Allow("") > 0 {
		f.mu.Unlock()
		return statusBody(StatusTooManyRequests, "")
	}
	u.sinceReply = append(u.sinceReply, now)
	m := SentMessage{Token: f.token(), Receiver: req.Receiver, Sender: req.Sender.Name, Text: req.Text, TrackingData: req.TrackingData, Time: now}
	if req.Keyboard != nil {
		m.Buttons = req.Keyboard.Buttons
		mm := m
		u.lastKeyboard = &mm
	}
	f.mu.Unlock()
	f.Records.Add(req.Receiver, m)
	f.callback(req.Receiver, map[string]any{"event": "delivered", "message_token": m.Token, "user_id": req.Receiver})
	return map[string]any{"status": 0, "status_message": "ok", "message_token": m.Token, "chat_hostname": "SN-CHAT-05_", "billing_status": 1}
}

// onAccepted records a welcome message answered to conversation_started.
func (f *Fake) onAccepted(d fakekit.Delivery, reply []byte) {
	if d.Meta["event"] != "conversation_started" || len(strings.TrimSpace(string(reply))) == 0 {
		return
	}
	var req sendReq
	if err := json.Unmarshal(reply, &req); err != nil {
		f.Log.Debug("welcome is not JSON", "err", err)
		return
	}
	if code, why := checkMessage(req); code != StatusOK {
		f.Log.Debug("welcome refused", "status", code, "why", why)
		return
	}
	m := SentMessage{Token: f.token(), Receiver: d.Key, Sender: req.Sender.Name, Text: req.Text,
		TrackingData: req.TrackingData, Welcome: true, Time: f.Clock.Now()}
	if req.Keyboard != nil {
		m.Buttons = req.Keyboard.Buttons
		f.mu.Lock()
		if u := f.users[d.Key]; u != nil {
			mm := m
			u.lastKeyboard = &mm
		}
		f.mu.Unlock()
	}
	f.Records.Add(d.Key, m)
}

// Action is what a user action produced.
type Action struct {
	Token    string `json:"token"`
	Delivery int64  `json:"delivery"`
}

// callback queues one signed callback for user.
func (f *Fake) callback(userID string, ev map[string]any) Action {
	if _, ok := ev["message_token"]; !ok {
		ev["message_token"] = f.token()
	}
	ev["timestamp"] = f.Clock.Now().UnixMilli()
	ev["chat_hostname"] = "SN-CHAT-05_"
	b, _ := json.Marshal(ev)
	name, _ := ev["event"].(string)
	tok := fmt.Sprint(ev["message_token"])
	return Action{Token: tok, Delivery: f.Hooks.Enqueue(userID, b, map[string]string{"event": name})}
}

func (f *Fake) userLocked(id, name string) *user {
	u := f.users[id]
	if u == nil {
		u = &user{id: id, name: name}
		f.users[id] = u
	}
	if name != "" {
		u.name = name
	}
	return u
}

func profile(u *user) map[string]any {
	return map[string]any{"id": u.id, "name": u.name, "avatar": "", "country": "RU", "language": "ru", "api_version": 10}
}

// AddUser makes a subscribed user known without a callback (seeding a
// broadcast's audience).
func (f *Fake) AddUser(userID, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userLocked(userID, name).subscribed = true
}

// Open is a user opening the chat (conversation_started).
func (f *Fake) Open(userID, name string) Action {
	f.mu.Lock()
	u := f.userLocked(userID, name)
	p, sub := profile(u), u.subscribed
	f.mu.Unlock()
	return f.callback(userID, map[string]any{"event": "conversation_started", "type": "open", "context": "", "user": p, "subscribed": sub})
}

// Subscribe is a user subscribing.
func (f *Fake) Subscribe(userID, name string) Action {
	f.mu.Lock()
	u := f.userLocked(userID, name)
	u.subscribed = true
	p := profile(u)
	f.mu.Unlock()
	return f.callback(userID, map[string]any{"event": "subscribed", "user": p})
}

// Unsubscribe is a user unsubscribing: sends to them fail with status 6.
func (f *Fake) Unsubscribe(userID string) Action {
	f.mu.Lock()
	if u := f.users[userID]; u != nil {
		u.subscribed = false
	}
	f.mu.Unlock()
	return f.callback(userID, map[string]any{"event": "unsubscribed", "user_id": userID})
}

// SendText is a user writing; writing subscribes them, as in Viber.
func (f *Fake) SendText(userID, name, text string) Action {
	return f.message(userID, name, text, "")
}

func (f *Fake) message(userID, name, text, tracking string) Action {
	f.mu.Lock()
	u := f.userLocked(userID, name)
	u.subscribed = true
	u.sinceReply = nil
	p := profile(u)
	if tracking == "" && u.lastKeyboard != nil {
		tracking = u.lastKeyboard.TrackingData
	}
	f.mu.Unlock()
	msg := map[string]any{"type": "text", "text": text}
	if tracking != "" {
		msg["tracking_data"] = tracking
	}
	return f.callback(userID, map[string]any{"event": "message", "sender": p, "message": msg, "silent": false})
}

// Press is a user pressing the keyboard button whose ActionBody is payload
// (or whose Text is label) of the latest keyboard sent to them: Viber sends
// the ActionBody as a message with the message's tracking_data.
func (f *Fake) Press(userID, payload, label string) (Action, error) {
	f.mu.Lock()
	u := f.users[userID]
	var kb *SentMessage
	if u != nil {
		kb = u.lastKeyboard
	}
	f.mu.Unlock()
	if kb == nil {
		return Action{}, fmt.Errorf("no keyboard was sent to %s", userID)
	}
	for _, b := range kb.Buttons {
		if (payload != "" && b.ActionBody == payload) || (payload == "" && b.Text == label) {
			return f.message(userID, "", b.ActionBody, kb.TrackingData), nil
		}
	}
	return Action{}, fmt.Errorf("the latest keyboard sent to %s has no button %q", userID, payload+label)
}

// Seen is the user seeing a message.
func (f *Fake) Seen(userID string, token int64) Action {
	return f.callback(userID, map[string]any{"event": "seen", "message_token": token, "user_id": userID})
}

// Failed is a message failing on the user's device.
func (f *Fake) Failed(userID string, token int64, desc string) Action {
	return f.callback(userID, map[string]any{"event": "failed", "message_token": token, "user_id": userID, "desc": desc})
}

// Sent returns what the bot sent to user, oldest first.
func (f *Fake) Sent(userID string) []SentMessage { return f.Records.Chat(userID) }

// WaitSent waits for n messages to user.
func (f *Fake) WaitSent(ctx context.Context, userID string, n int) ([]SentMessage, error) {
	return f.Records.Wait(ctx, userID, n)
}

// Stats returns the counters.
func (f *Fake) Stats() Stats {
	return Stats{Requests: f.Requests.Load(), Sent: f.Records.Len(), TooManyRequests: f.tooMany.Load()}
}

func (f *Fake) routes() {
	c := f.Control
	type req struct {
		UserID  string `json:"user_id"`
		Name    string `json:"name"`
		Text    string `json:"text"`
		Payload string `json:"payload"`
		Token   string `json:"token"`
	}
	user := func(body []byte) (req, error) {
		var r req
		if err := fakekit.Decode(body, &r); err != nil {
			return r, err
		}
		if r.UserID == "" {
			return r, errors.New("user_id is required")
		}
		return r, nil
	}
	c.Handle("POST", "open", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		return f.Open(r.UserID, r.Name), nil
	})
	c.Handle("POST", "subscribe", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		return f.Subscribe(r.UserID, r.Name), nil
	})
	c.Handle("POST", "unsubscribe", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		return f.Unsubscribe(r.UserID), nil
	})
	c.Handle("POST", "message", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		return f.SendText(r.UserID, r.Name, r.Text), nil
	})
	c.Handle("POST", "press", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		return f.Press(r.UserID, r.Payload, r.Text)
	})
	c.Handle("POST", "seen", func(_ *http.Request, b []byte) (any, error) {
		r, err := user(b)
		if err != nil {
			return nil, err
		}
		tok, err := strconv.ParseInt(r.Token, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		return f.Seen(r.UserID, tok), nil
	})
}
