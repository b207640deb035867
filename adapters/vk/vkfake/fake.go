// Package vkfake is a faithful fake of the VK API and Callback API for one
// community (PLATFORMS.md §5), for tests and the load tool.
//
// Methods are called at /method/<name>, form-encoded (JSON bodies are
// refused, as VK does) with access_token and v: groups.getById,
// messages.send (peer_id, random_id, message ≤ 9,000 characters, keyboard
// as a JSON string, payload ≤ 1,000) and messages.sendMessageEventAnswer
// (event_id valid for a minute, answerable once). Answers are HTTP 200 with
// {"response":…} or {"error":{"error_code":N,"error_msg":"…",
// "request_params":[…]}}: 5 bad token, 6 too many requests per second (20
// a second with a community token), 9 flood control, 100 bad parameters,
// 901 no permission (the person never wrote or denied messages), 911 bad
// keyboard, 914 message too long. A repeated random_id to the same peer
// sends nothing and answers the first message's id.
//
// Keyboards are checked as VK checks them: inline ≤ 6 rows, ≤ 5 buttons a
// row, ≤ 10 buttons; standard ≤ 10 rows, ≤ 5 a row, ≤ 40; labels 1–40
// characters; payload ≤ 255; action types text, callback, open_link.
//
// Callback API: SetServer checks the server with a confirmation event
// (the answer must be the confirmation string), then events are POSTed as
// {type, object, group_id, event_id, v, secret}; an answer other than
// "ok" is retried (X-Retry-Counter on retries).
//
// # Control API (JSON, under /_fake/)
//
//	POST   /_fake/server  {"url":"…","secret":"…","confirmation":"…"}
//	POST   /_fake/message {"user_id":1,"text":"hi"}   → message_new (allows messages too)
//	POST   /_fake/press   {"user_id":1,"payload":"…"} (or "text": label) → message_event or message_new
//	POST   /_fake/allow | /_fake/deny {"user_id":1}  → message_allow / message_deny
//	POST   /_fake/read    {"user_id":1,"message_id":N}  → message_read
//	GET    /_fake/sent[?peer_id=1], GET /_fake/sent/wait?peer_id=…&n=…, DELETE /_fake/sent
//	GET    /_fake/answers, GET /_fake/stats
//
// plus fakekit's /_fake/fail {"n","code"} (a VK error code, or 500 for an
// HTTP error), /_fake/outage, /_fake/reset, /_fake/clock/advance,
// /_fake/deliveries. User actions answer {"event_id":"…","delivery":N}.
package vkfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/voronka/voronka/adapters/fakekit"
)

// VK error codes.
const (
	ErrAuth         = 5
	ErrTooMany      = 6
	ErrFlood        = 9
	ErrInternal     = 10
	ErrParam        = 100
	ErrBlacklist    = 900
	ErrNoPermission = 901
	ErrPrivacy      = 902
	ErrKeyboard     = 911
	ErrTooLong      = 914
)

var errText = map[int]string{
	ErrAuth:         "User authorization failed: invalid access_token (4).",
	ErrTooMany:      "Too many requests per second",
	ErrFlood:        "Flood control",
	ErrInternal:     "Internal server error",
	ErrParam:        "One of the parameters specified was missing or invalid",
	ErrBlacklist:    "Can't send messages for users from blacklist",
	ErrNoPermission: "Can't send messages for users without permission",
	ErrPrivacy:      "Can't send messages to this user due to their privacy settings",
	ErrKeyboard:     "Keyboard format is invalid",
	ErrTooLong:      "Message is too long",
}

// Options configure a Fake; the zero value is usable.
type Options struct {
	GroupID int64  // default 229000001
	Name    string // default "Voronka Shop"
	Token   string // default "vk1.a.fake-community-token"
	Clock   fakekit.Clock
	// PerSecond is the community token's request rate (default 20).
	PerSecond  float64
	Unlimited  bool
	RetryScale float64
	Logger     *slog.Logger
	// Lean keeps counts, not contents, of what the bot sent and forgets
	// delivered updates (fakekit.BaseOptions.Lean): for load runs.
	Lean bool
}

// Button is one keyboard button of a sent message.
type Button struct {
	Type    string `json:"type"`
	Label   string `json:"label"`
	Payload string `json:"payload,omitempty"`
}

// SentMessage is one message the bot sent.
type SentMessage struct {
	ID       int64     `json:"id"`
	PeerID   int64     `json:"peer_id"`
	RandomID int64     `json:"random_id"`
	Text     string    `json:"text"`
	Inline   bool      `json:"inline,omitempty"`
	Buttons  []Button  `json:"buttons,omitempty"`
	Time     time.Time `json:"time"`
}

// EventAnswer is one messages.sendMessageEventAnswer.
type EventAnswer struct {
	EventID   string `json:"event_id"`
	UserID    int64  `json:"user_id"`
	PeerID    int64  `json:"peer_id"`
	EventData string `json:"event_data,omitempty"`
}

// Stats are request counters.
type Stats struct {
	Requests        int64 `json:"requests"`
	Sent            int   `json:"sent"`
	TooManyRequests int64 `json:"too_many_requests"`
	Deduplicated    int64 `json:"deduplicated"`
}

type user struct {
	id      int64
	allowed bool
	lastKB  *SentMessage
}

type pressEvent struct {
	user, peer int64
	created    time.Time
	answered   bool
}

// Fake is a fake VK API for one community.
type Fake struct {
	fakekit.Base[SentMessage]
	opts  Options
	limit *fakekit.Limiter

	tooMany atomic.Int64
	dedup   atomic.Int64

	mu      sync.Mutex
	users   map[int64]*user
	randoms map[string]int64 // "peer/random_id" → message id
	events  map[string]*pressEvent
	answers []EventAnswer
	secret  string
	nextMsg int64
	nextEvt int64
}

// New returns a Fake.
func New(opts Options) *Fake {
	if opts.GroupID == 0 {
		opts.GroupID = 229000001
	}
	if opts.Name == "" {
		opts.Name = "Voronka Shop"
	}
	if opts.Token == "" {
		opts.Token = "vk1.a.fake-community-token"
	}
	if opts.PerSecond <= 0 {
		opts.PerSecond = 20
	}
	f := &Fake{opts: opts, users: map[int64]*user{}, randoms: map[string]int64{}, events: map[string]*pressEvent{}}
	f.Init(fakekit.BaseOptions{Component: "vkfake", Clock: opts.Clock, Logger: opts.Logger, Lean: opts.Lean, ChatParam: "peer_id",
		Stats: func() any { return f.Stats() },
		Hooks: fakekit.DelivererOptions{TTL: 8 * time.Hour, Backoff: fakekit.ExpBackoff(60*time.Second, opts.RetryScale),
			Prepare: func(req *http.Request, d fakekit.Delivery) {
				if d.Attempts > 1 {
					req.Header.Set("X-Retry-Counter", strconv.Itoa(d.Attempts-1))
				}
			},
			Accept: func(status int, body []byte) error {
				if status != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
					return fmt.Errorf("server answered %d %q, not ok", status, truncate(string(body), 40))
				}
				return nil
			}}})
	if !opts.Unlimited {
		f.limit = fakekit.NewLimiter(f.Clock, fakekit.Rate{PerSecond: opts.PerSecond}, fakekit.Rate{})
	}
	f.routes()
	return f
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Token and GroupID are what the bot must use.
func (f *Fake) Token() string  { return f.opts.Token }
func (f *Fake) GroupID() int64 { return f.opts.GroupID }

// Start serves the fake; api_url is base + "/method".
func (f *Fake) Start(addr string) (string, error) { return f.Serve(addr, f) }

type apiErr struct {
	code int
	msg  string
}

func fail(code int, detail string) *apiErr {
	m := errText[code]
	if detail != "" {
		m += ": " + detail
	}
	return &apiErr{code: code, msg: m}
}

func writeErr(w http.ResponseWriter, e *apiErr, params url.Values) {
	rp := []map[string]string{{"key": "oauth", "value": "1"}}
	for k, v := range params {
		if k == "access_token" {
			continue // VK never echoes the token
		}
		rp = append(rp, map[string]string{"key": k, "value": v[0]})
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"error_code": e.code, "error_msg": e.msg, "request_params": rp}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

func (f *Fake) writeFault(w http.ResponseWriter, code int) {
	if code >= 500 || code == fakekit.CodeBadGateway {
		http.Error(w, http.StatusText(code), code)
		return
	}
	if code == ErrTooMany {
		f.tooMany.Add(1)
	}
	writeErr(w, fail(code, ""), nil)
}

// ServeHTTP serves /method/<name> and the control API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Front(w, r, f.writeFault) {
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/method/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && mt == "application/json" {
		writeErr(w, fail(ErrParam, "request body must be form-encoded, not JSON"), nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeErr(w, fail(ErrParam, err.Error()), nil)
		return
	}
	p := r.Form
	if p.Get("access_token") != f.opts.Token {
		writeErr(w, fail(ErrAuth, ""), p)
		return
	}
	if p.Get("v") == "" {
		writeErr(w, &apiErr{code: 8, msg: "Invalid request: v (version) is required"}, p)
		return
	}
	if f.limit != nil && f.limit.Allow("") > 0 {
		f.tooMany.Add(1)
		writeErr(w, fail(ErrTooMany, ""), p)
		return
	}
	var res any
	var e *apiErr
	switch method {
	case "groups.getById":
		res = map[string]any{"groups": []map[string]any{{"id": f.opts.GroupID, "name": f.opts.Name,
			"screen_name": "club" + strconv.FormatInt(f.opts.GroupID, 10), "type": "group"}}, "profiles": []any{}}
	case "messages.send":
		res, e = f.send(p)
	case "messages.sendMessageEventAnswer":
		res, e = f.answer(p)
	default:
		e = &apiErr{code: 3, msg: "Unknown method passed"}
	}
	if e != nil {
		if e.code == ErrTooMany {
			f.tooMany.Add(1)
		}
		writeErr(w, e, p)
		return
	}
	b, _ := json.Marshal(map[string]any{"response": res})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

type keyboard struct {
	OneTime bool `json:"one_time"`
	Inline  bool `json:"inline"`
	Buttons [][]struct {
		Action struct {
			Type    string `json:"type"`
			Label   string `json:"label"`
			Payload string `json:"payload"`
			Link    string `json:"link"`
		} `json:"action"`
		Color string `json:"color"`
	} `json:"buttons"`
}

func checkKeyboard(raw string) ([]Button, bool, *apiErr) {
	var kb keyboard
	if err := json.Unmarshal([]byte(raw), &kb); err != nil {
		return nil, false, fail(ErrKeyboard, "not JSON")
	}
	maxRows, maxKeys := 10, 40
	if kb.Inline {
		maxRows, maxKeys = 6, 10
	}
	if len(kb.Buttons) > maxRows {
		return nil, false, fail(ErrKeyboard, fmt.Sprintf("%d rows, at most %d", len(kb.Buttons), maxRows))
	}
	var out []Button
	for _, row := range kb.Buttons {
		if len(row) == 0 || len(row) > 5 {
			return nil, false, fail(ErrKeyboard, fmt.Sprintf("a row of %d buttons, 1 to 5 allowed", len(row)))
		}
		for _, b := range row {
			a := b.Action
			switch {
			case a.Type != "text" && a.Type != "callback" && a.Type != "open_link":
				return nil, false, fail(ErrKeyboard, "action type "+a.Type)
			case a.Label == "" || utf8.RuneCountInString(a.Label) > 40:
				return nil, false, fail(ErrKeyboard, "label must be 1 to 40 characters")
			case len(a.Payload) > 255:
				return nil, false, fail(ErrKeyboard, "payload over 255 characters")
			case a.Payload != "" && !json.Valid([]byte(a.Payload)):
				return nil, false, fail(ErrKeyboard, "payload is not JSON")
			case b.Color != "" && b.Color != "primary" && b.Color != "secondary" && b.Color != "negative" && b.Color != "positive":
				return nil, false, fail(ErrKeyboard, "color "+b.Color)
			}
			out = append(out, Button{Type: a.Type, Label: a.Label, Payload: a.Payload})
		}
	}
	if len(out) > maxKeys {
		return nil, false, fail(ErrKeyboard, fmt.Sprintf("%d buttons, at most %d", len(out), maxKeys))
	}
	return out, kb.Inline, nil
}

func (f *Fake) send(p url.Values) (any, *apiErr) {
	peer, err := strconv.ParseInt(p.Get("peer_id"), 10, 64)
	if err != nil || peer == 0 {
		return nil, fail(ErrParam, "peer_id is undefined")
	}
	if _, ok := p["random_id"]; !ok {
		return nil, fail(ErrParam, "random_id is a required parameter")
	}
	rnd, err := strconv.ParseInt(p.Get("random_id"), 10, 32)
	if err != nil {
		return nil, fail(ErrParam, "random_id not integer")
	}
	text := p.Get("message")
	if text == "" && p.Get("attachment") == "" {
		return nil, fail(ErrParam, "message is empty")
	}
	if utf8.RuneCountInString(text) > 9000 {
		return nil, fail(ErrTooLong, "")
	}
	if len(p.Get("payload")) > 1000 {
		return nil, fail(ErrParam, "payload is too long")
	}
	var buttons []Button
	inline := false
	if raw := p.Get("keyboard"); raw != "" {
		var e *apiErr
		if buttons, inline, e = checkKeyboard(raw); e != nil {
			return nil, e
		}
	}
	f.mu.Lock()
	u := f.users[peer]
	if u == nil || !u.allowed {
		f.mu.Unlock()
		return nil, fail(ErrNoPermission, "")
	}
	key := strconv.FormatInt(peer, 10) + "/" + strconv.FormatInt(rnd, 10)
	if id, ok := f.randoms[key]; ok && rnd != 0 {
		f.mu.Unlock()
		f.dedup.Add(1)
		return id, nil
	}
	f.nextMsg++
	m := SentMessage{ID: f.nextMsg, PeerID: peer, RandomID: rnd, Text: text, Inline: inline, Buttons: buttons, Time: f.Clock.Now()}
	if rnd != 0 {
		f.randoms[key] = m.ID
	}
	if len(buttons) > 0 {
		mm := m
		u.lastKB = &mm
	}
	f.mu.Unlock()
	f.Records.Add(strconv.FormatInt(peer, 10), m)
	return m.ID, nil
}

func (f *Fake) answer(p url.Values) (any, *apiErr) {
	id := p.Get("event_id")
	uid, _ := strconv.ParseInt(p.Get("user_id"), 10, 64)
	peer, _ := strconv.ParseInt(p.Get("peer_id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := f.events[id]
	if ev == nil || ev.user != uid || ev.peer != peer {
		return nil, fail(ErrParam, "event_id is invalid")
	}
	if ev.answered || f.Clock.Now().Sub(ev.created) > time.Minute {
		return nil, fail(ErrParam, "event_id is expired")
	}
	ev.answered = true
	f.answers = append(f.answers, EventAnswer{EventID: id, UserID: uid, PeerID: peer, EventData: p.Get("event_data")})
	return 1, nil
}

// SetServer adds the callback server: VK sends a confirmation event first
// and needs the confirmation string back.
func (f *Fake) SetServer(ctx context.Context, serverURL, secret, confirmation string) error {
	body, _ := json.Marshal(map[string]any{"type": "confirmation", "group_id": f.opts.GroupID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("server URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("confirmation request: %w", err)
	}
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(got)) != confirmation {
		return fmt.Errorf("the server answered %d %q instead of the confirmation string", resp.StatusCode, truncate(string(got), 40))
	}
	f.mu.Lock()
	f.secret = secret
	f.mu.Unlock()
	f.Hooks.SetURL(serverURL)
	return nil
}

// Action is what a user action produced.
type Action struct {
	EventID  string `json:"event_id"`
	Delivery int64  `json:"delivery"`
}

func (f *Fake) event(peer int64, typ string, object any) Action {
	f.mu.Lock()
	f.nextEvt++
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%d", f.opts.GroupID, f.nextEvt)))
	id := hex.EncodeToString(h[:20])
	secret := f.secret
	f.mu.Unlock()
	env := map[string]any{"group_id": f.opts.GroupID, "type": typ, "event_id": id, "v": "5.199", "object": object}
	if secret != "" {
		env["secret"] = secret
	}
	b, _ := json.Marshal(env)
	return Action{EventID: id, Delivery: f.Hooks.Enqueue(strconv.FormatInt(peer, 10), b, map[string]string{"type": typ})}
}

var clientInfo = map[string]any{"button_actions": []string{"text", "vkpay", "open_app", "location", "open_link", "callback", "intent_subscribe", "intent_unsubscribe"},
	"keyboard": true, "inline_keyboard": true, "carousel": true, "lang_id": 0}

func (f *Fake) messageNew(uid int64, text, payload string) Action {
	f.mu.Lock()
	u := f.users[uid]
	if u == nil {
		u = &user{id: uid}
		f.users[uid] = u
	}
	u.allowed = true // writing to a community allows its messages
	f.nextMsg++
	id := f.nextMsg
	f.mu.Unlock()
	msg := map[string]any{"date": f.Clock.Now().Unix(), "from_id": uid, "id": id, "out": 0, "peer_id": uid,
		"text": text, "conversation_message_id": id, "fwd_messages": []any{}, "important": false, "is_hidden": false,
		"attachments": []any{}, "random_id": 0}
	if payload != "" {
		msg["payload"] = payload
	}
	return f.event(uid, "message_new", map[string]any{"message": msg, "client_info": clientInfo})
}

// SendText is a user writing to the community.
func (f *Fake) SendText(uid int64, text string) Action { return f.messageNew(uid, text, "") }

// Press is a user pressing the button with payload (the button's JSON
// payload string) or label on the latest keyboard sent to them: a callback
// button sends message_event (answer it within a minute), a text button a
// message_new with the payload.
func (f *Fake) Press(uid int64, payload, label string) (Action, error) {
	f.mu.Lock()
	u := f.users[uid]
	var kb *SentMessage
	if u != nil {
		kb = u.lastKB
	}
	f.mu.Unlock()
	if kb == nil {
		return Action{}, fmt.Errorf("no keyboard was sent to %d", uid)
	}
	for _, b := range kb.Buttons {
		if (payload != "" && b.Payload == payload) || (payload == "" && b.Label == label) {
			if b.Type == "text" {
				return f.messageNew(uid, b.Label, b.Payload), nil
			}
			f.mu.Lock()
			f.nextEvt++
			evID := fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("ev%d", f.nextEvt))))[:12]
			f.events[evID] = &pressEvent{user: uid, peer: uid, created: f.Clock.Now()}
			f.mu.Unlock()
			return f.event(uid, "message_event", map[string]any{"user_id": uid, "peer_id": uid, "event_id": evID,
				"payload": json.RawMessage(orNull(b.Payload)), "conversation_message_id": kb.ID}), nil
		}
	}
	return Action{}, fmt.Errorf("the latest keyboard sent to %d has no button %q", uid, payload+label)
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// AddUser makes a person who allowed the community's messages known
// without a callback (seeding a broadcast's audience).
func (f *Fake) AddUser(uid int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[uid] = &user{id: uid, allowed: true}
}

// Allow and Deny are the person allowing or denying the community's messages.
func (f *Fake) Allow(uid int64) Action {
	f.mu.Lock()
	u := f.users[uid]
	if u == nil {
		u = &user{id: uid}
		f.users[uid] = u
	}
	u.allowed = true
	f.mu.Unlock()
	return f.event(uid, "message_allow", map[string]any{"user_id": uid, "key": "fake"})
}

// Deny is the person denying the community's messages: sends fail with 901.
func (f *Fake) Deny(uid int64) Action {
	f.mu.Lock()
	if u := f.users[uid]; u != nil {
		u.allowed = false
	}
	f.mu.Unlock()
	return f.event(uid, "message_deny", map[string]any{"user_id": uid})
}

// Read is the person reading up to message id.
func (f *Fake) Read(uid, messageID int64) Action {
	return f.event(uid, "message_read", map[string]any{"from_id": uid, "peer_id": uid, "read_message_id": messageID,
		"conversation_message_id": messageID})
}

// Sent returns what was sent to peer, oldest first.
func (f *Fake) Sent(peer int64) []SentMessage { return f.Records.Chat(strconv.FormatInt(peer, 10)) }

// WaitSent waits for n messages to peer.
func (f *Fake) WaitSent(ctx context.Context, peer int64, n int) ([]SentMessage, error) {
	return f.Records.Wait(ctx, strconv.FormatInt(peer, 10), n)
}

// Answers returns the event answers.
func (f *Fake) Answers() []EventAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]EventAnswer(nil), f.answers...)
}

// Stats returns the counters.
func (f *Fake) Stats() Stats {
	return Stats{Requests: f.Requests.Load(), Sent: f.Records.Len(), TooManyRequests: f.tooMany.Load(), Deduplicated: f.dedup.Load()}
}

func (f *Fake) routes() {
	c := f.Control
	type req struct {
		URL          string `json:"url"`
		Secret       string `json:"secret"`
		Confirmation string `json:"confirmation"`
		UserID       int64  `json:"user_id"`
		Text         string `json:"text"`
		Payload      string `json:"payload"`
		MessageID    int64  `json:"message_id"`
	}
	decode := func(b []byte, needUser bool) (req, error) {
		var r req
		if err := fakekit.Decode(b, &r); err != nil {
			return r, err
		}
		if needUser && r.UserID <= 0 {
			return r, errors.New("user_id must be a positive integer")
		}
		return r, nil
	}
	c.Handle("POST", "server", func(hr *http.Request, b []byte) (any, error) {
		r, err := decode(b, false)
		if err != nil {
			return nil, err
		}
		return true, f.SetServer(hr.Context(), r.URL, r.Secret, r.Confirmation)
	})
	user := func(fn func(req) (any, error)) fakekit.ControlFunc {
		return func(_ *http.Request, b []byte) (any, error) {
			r, err := decode(b, true)
			if err != nil {
				return nil, err
			}
			return fn(r)
		}
	}
	c.Handle("POST", "message", user(func(r req) (any, error) { return f.SendText(r.UserID, r.Text), nil }))
	c.Handle("POST", "press", user(func(r req) (any, error) { return f.Press(r.UserID, r.Payload, r.Text) }))
	c.Handle("POST", "allow", user(func(r req) (any, error) { return f.Allow(r.UserID), nil }))
	c.Handle("POST", "deny", user(func(r req) (any, error) { return f.Deny(r.UserID), nil }))
	c.Handle("POST", "read", user(func(r req) (any, error) { return f.Read(r.UserID, r.MessageID), nil }))
	c.Handle("GET", "answers", func(*http.Request, []byte) (any, error) { return f.Answers(), nil })
}
