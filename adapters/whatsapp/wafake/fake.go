// Package wafake is a faithful fake of the WhatsApp Business Cloud API for
// one phone number, for tests and the load tool (PLATFORMS.md §3).
//
// It answers POST /<version>/<phone_number_id>/messages with a Bearer
// token like the Graph API: {"messaging_product":"whatsapp","contacts":
// [{"input","wa_id"}],"messages":[{"id":"wamid…"}]} on success and
// {"error":{"message":"(#code) …","type":"OAuthException","code":N,
// "error_data":{…},"fbtrace_id":"…"}} on failure (HTTP 401 for a bad token,
// 400 otherwise, 500 for injected server errors). It checks what the real
// API checks: messaging_product, the recipient, text 1–4096; reply buttons
// at most 3 with titles ≤ 20 and ids ≤ 256, body ≤ 1024, footer ≤ 60;
// lists with a button label ≤ 20, body ≤ 4096, ≤ 10 sections and ≤ 10
// rows in all, row titles ≤ 24, descriptions ≤ 72, ids ≤ 200 (code 131009);
// the throughput limit (80 msg/s: 130429) and the pair rate to one user
// (131056). A free-form message to someone whose last message is over 24 h
// old is taken (200, a wamid) and then fails by status webhook with 131047,
// as the Cloud API does; templates are always allowed.
//
// Users write through the control API; their messages, button and list
// replies, and the statuses of sent messages (sent, delivered, read,
// failed) are POSTed to the webhook with X-Hub-Signature-256 =
// sha256=hex(HMAC-SHA256(body, app secret)), retried on failure (fakekit).
// Setting the webhook verifies it first with GET hub.mode=subscribe,
// hub.challenge, hub.verify_token, as Meta's console does.
//
// # Control API (JSON, under /_fake/)
//
//	POST   /_fake/webhook {"url":"…","verify_token":"…"} → true (after the GET check)
//	POST   /_fake/message {"from":"79990001122","name":"Ivan","text":"hi"} → {"id":wamid,"delivery":N}
//	                      ("ago_seconds":90000 dates it a day and more back, as a late delivery)
//	POST   /_fake/press   {"from":"79990001122","id":"<button or row id>"} (or "title") → {"id","delivery"}
//	POST   /_fake/status  {"id":"<wamid>","status":"read"}  → {"delivery":N}
//	POST   /_fake/block   {"from":"79990001122"}  → true (later sends fail by status, 131026)
//	GET    /_fake/sent[?to=79990001122]      → [SentMessage]
//	GET    /_fake/sent/wait?to=…&n=2&timeout=5s → [SentMessage], 408 on timeout
//	DELETE /_fake/sent                        → true
//	GET    /_fake/stats                       → Stats
//
// plus fakekit's /_fake/fail {"n","code"}, /_fake/outage, /_fake/reset,
// /_fake/clock/advance, /_fake/deliveries.
package wafake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// Graph API error codes the fake answers with.
const (
	CodeInvalidToken     = 190
	CodeInvalidParameter = 100
	CodeRateLimit        = 130429
	CodeGeneric          = 131000
	CodeParamMissing     = 131008
	CodeParamInvalid     = 131009
	CodeUndeliverable    = 131026
	CodeReengagement     = 131047
	CodeSpamRate         = 131048
	CodePairRate         = 131056
)

var codeText = map[int]string{
	CodeInvalidToken:     "Invalid OAuth access token - Cannot parse access token",
	CodeInvalidParameter: "Invalid parameter",
	CodeRateLimit:        "Rate limit hit",
	CodeGeneric:          "Something went wrong",
	CodeParamMissing:     "Required parameter is missing",
	CodeParamInvalid:     "Parameter value is not valid",
	CodeUndeliverable:    "Message Undeliverable.",
	CodeReengagement:     "Re-engagement message",
	CodeSpamRate:         "Spam Rate limit hit",
	CodePairRate:         "(Business Account, Consumer Account) pair rate limit hit",
}

// Options configure a Fake; the zero value is usable.
type Options struct {
	PhoneNumberID string // default "100000000000001"
	DisplayPhone  string // default "15550001111"
	Token         string // default "EAAG-fake-whatsapp-token"
	AppSecret     string // default "fake-app-secret"
	Clock         fakekit.Clock
	// PerSecond is the throughput limit (default 80 msg/s).
	PerSecond float64
	// PairPerSecond and PairBurst bound messages to one user (default one
	// per 6 s after a burst of 10).
	PairPerSecond float64
	PairBurst     int
	// Unlimited switches both limits off.
	Unlimited bool
	// SkipDelivered leaves out the delivered status (WhatsApp sometimes
	// does); by default every accepted message gets sent and delivered.
	SkipDelivered bool
	// RetryScale scales the webhook retry back-off (default 1).
	RetryScale float64
	Logger     *slog.Logger
	// Lean keeps counts, not contents, of what the bot sent and forgets
	// delivered updates (fakekit.BaseOptions.Lean): for load runs. Status
	// then knows no message.
	Lean bool
}

// Button is one reply button or list row of a sent message.
type Button struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Template is a sent template message.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params,omitempty"`
}

// SentMessage is one message the bot sent.
type SentMessage struct {
	ID       string    `json:"id"` // wamid
	To       string    `json:"to"`
	Type     string    `json:"type"` // text, interactive, template
	Text     string    `json:"text"`
	List     bool      `json:"list,omitempty"` // a list message (else reply buttons)
	Buttons  []Button  `json:"buttons,omitempty"`
	Template *Template `json:"template,omitempty"`
	Time     time.Time `json:"time"`
}

// Stats are request counters.
type Stats struct {
	Requests  int64 `json:"requests"`
	Sent      int   `json:"sent"`
	RateLimit int64 `json:"rate_limited"` // 130429 and 131056 answers
	BadSig    int64 `json:"-"`
}

type user struct {
	waID     string
	name     string
	lastIn   time.Time
	lastSent *SentMessage // the latest interactive message, for presses
	blocked  bool         // blocked the business: sends fail with 131026
}

// Fake is a fake WhatsApp Cloud API for one phone number.
type Fake struct {
	fakekit.Base[SentMessage]
	opts   Options
	global *fakekit.Limiter
	pair   *fakekit.Limiter

	limited atomic.Int64

	mu     sync.Mutex
	users  map[string]*user
	msgs   map[string]*SentMessage // wamid → message
	nextID int64
}

// New returns a Fake; serve it with Start or mount it as an http.Handler.
func New(opts Options) *Fake {
	if opts.PhoneNumberID == "" {
		opts.PhoneNumberID = "100000000000001"
	}
	if opts.DisplayPhone == "" {
		opts.DisplayPhone = "15550001111"
	}
	if opts.Token == "" {
		opts.Token = "EAAG-fake-whatsapp-token"
	}
	if opts.AppSecret == "" {
		opts.AppSecret = "fake-app-secret"
	}
	if opts.PerSecond <= 0 {
		opts.PerSecond = 80
	}
	if opts.PairPerSecond <= 0 {
		opts.PairPerSecond = 1.0 / 6
	}
	if opts.PairBurst <= 0 {
		opts.PairBurst = 10
	}
	f := &Fake{opts: opts, users: map[string]*user{}, msgs: map[string]*SentMessage{}}
	f.Init(fakekit.BaseOptions{Component: "wafake", Clock: opts.Clock, Logger: opts.Logger, Lean: opts.Lean, ChatParam: "to",
		Stats: func() any { return f.Stats() },
		Hooks: fakekit.DelivererOptions{TTL: 7 * 24 * time.Hour, Backoff: fakekit.ExpBackoff(time.Hour, opts.RetryScale),
			Prepare: func(req *http.Request, d fakekit.Delivery) {
				req.Header.Set("X-Hub-Signature-256", "sha256="+fakekit.HMACHex(opts.AppSecret, d.Body))
			}}})
	if !opts.Unlimited {
		f.global = fakekit.NewLimiter(f.Clock, fakekit.Rate{PerSecond: opts.PerSecond}, fakekit.Rate{})
		f.pair = fakekit.NewLimiter(f.Clock, fakekit.Rate{}, fakekit.Rate{PerSecond: opts.PairPerSecond, Burst: opts.PairBurst})
	}
	f.routes()
	return f
}

// Token, AppSecret and PhoneNumberID are what the bot must use.
func (f *Fake) Token() string         { return f.opts.Token }
func (f *Fake) AppSecret() string     { return f.opts.AppSecret }
func (f *Fake) PhoneNumberID() string { return f.opts.PhoneNumberID }

// Start serves the fake on addr ("" = a free loopback port) and returns
// its base URL, the adapter's api_url.
func (f *Fake) Start(addr string) (string, error) { return f.Serve(addr, f) }

// ServeHTTP serves the Graph API and the control API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Front(w, r, f.writeFault) {
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 2 && r.Method == http.MethodGet && strings.HasPrefix(parts[0], "v") {
		f.phoneInfo(w, r, parts[1])
		return
	}
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusBadRequest, CodeInvalidParameter, "Unsupported get request.", "")
		return
	}
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "v") || parts[2] != "messages" {
		writeErr(w, http.StatusBadRequest, CodeInvalidParameter, "Unknown path components: "+r.URL.Path, "")
		return
	}
	auth := r.Header.Get("Authorization")
	if auth != "Bearer "+f.opts.Token {
		writeErr(w, http.StatusUnauthorized, CodeInvalidToken, codeText[CodeInvalidToken], "")
		return
	}
	if parts[1] != f.opts.PhoneNumberID {
		writeErr(w, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf(
			"Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation", parts[1]), "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalidParameter, "read body: "+err.Error(), "")
		return
	}
	res, status, code, details := f.send(body)
	if code != 0 {
		if code == CodeRateLimit || code == CodePairRate {
			f.limited.Add(1)
		}
		writeErr(w, status, code, codeText[code], details)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(res)
}

// phoneInfo answers GET /<ver>/<phone_number_id>.
func (f *Fake) phoneInfo(w http.ResponseWriter, r *http.Request, id string) {
	if r.Header.Get("Authorization") != "Bearer "+f.opts.Token {
		writeErr(w, http.StatusUnauthorized, CodeInvalidToken, codeText[CodeInvalidToken], "")
		return
	}
	if id != f.opts.PhoneNumberID {
		writeErr(w, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf(
			"Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation", id), "")
		return
	}
	b, _ := json.Marshal(map[string]string{"display_phone_number": "+" + f.opts.DisplayPhone, "verified_name": "Voronka Test",
		"quality_rating": "GREEN", "id": f.opts.PhoneNumberID})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeFault answers an injected failure of code: a Graph error, 5xx as
// a server error.
func (f *Fake) writeFault(w http.ResponseWriter, code int) {
	switch {
	case code == fakekit.CodeBadGateway || (code >= 500 && code < 600):
		writeErr(w, code, CodeGeneric, codeText[CodeGeneric], "")
	default:
		text := codeText[code]
		if text == "" {
			text = "Injected failure"
		}
		if code == CodeRateLimit || code == CodePairRate {
			f.limited.Add(1)
		}
		writeErr(w, http.StatusBadRequest, code, text, "")
	}
}

type graphError struct {
	Message   string         `json:"message"`
	Type      string         `json:"type"`
	Code      int            `json:"code"`
	ErrorData map[string]any `json:"error_data,omitempty"`
	FBTraceID string         `json:"fbtrace_id"`
}

func writeErr(w http.ResponseWriter, status, code int, text, details string) {
	e := graphError{Message: fmt.Sprintf("(#%d) %s", code, text), Type: "OAuthException", Code: code, FBTraceID: "AbCdEfFakeTrace"}
	if code == CodeInvalidToken {
		e.Message = text
	}
	if details != "" {
		e.ErrorData = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// request is a send body.
type request struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
	Text             *struct {
		Body       string `json:"body"`
		PreviewURL bool   `json:"preview_url"`
	} `json:"text"`
	Interactive *struct {
		Type   string `json:"type"`
		Header *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"header"`
		Body *struct {
			Text string `json:"text"`
		} `json:"body"`
		Footer *struct {
			Text string `json:"text"`
		} `json:"footer"`
		Action struct {
			Button  string `json:"button"`
			Buttons []struct {
				Type  string `json:"type"`
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Title string   `json:"title"`
				Rows  []Button `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	} `json:"interactive"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// send checks and records one send; code ≠ 0 is a Graph error.
func (f *Fake) send(body []byte) (res []byte, status, code int, details string) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 400, CodeInvalidParameter, "body is not JSON: " + err.Error()
	}
	if req.MessagingProduct != "whatsapp" {
		return nil, 400, CodeInvalidParameter, "messaging_product must be whatsapp"
	}
	if req.Status == "read" {
		f.mu.Lock()
		_, ok := f.msgs[req.MessageID]
		f.mu.Unlock()
		if !ok && !strings.HasPrefix(req.MessageID, "wamid.") {
			return nil, 400, CodeParamInvalid, "message_id is not valid"
		}
		return []byte(`{"success":true}`), 200, 0, ""
	}
	if req.To == "" {
		return nil, 400, CodeParamMissing, "to is required"
	}
	msg := SentMessage{To: req.To, Type: req.Type, Time: f.Clock.Now()}
	switch req.Type {
	case "text":
		if req.Text == nil || req.Text.Body == "" {
			return nil, 400, CodeParamMissing, "text.body is required"
		}
		if runes(req.Text.Body) > 4096 {
			return nil, 400, CodeParamInvalid, "text.body is too long (max 4096)"
		}
		msg.Text = req.Text.Body
	case "interactive":
		in := req.Interactive
		if in == nil || in.Body == nil || in.Body.Text == "" {
			return nil, 400, CodeParamMissing, "interactive.body.text is required"
		}
		if in.Footer != nil && runes(in.Footer.Text) > 60 {
			return nil, 400, CodeParamInvalid, "footer is too long (max 60)"
		}
		msg.Text = in.Body.Text
		switch in.Type {
		case "button":
			if runes(in.Body.Text) > 1024 {
				return nil, 400, CodeParamInvalid, "body is too long (max 1024)"
			}
			n := len(in.Action.Buttons)
			if n == 0 || n > 3 {
				return nil, 400, CodeParamInvalid, fmt.Sprintf("buttons: %d given, 1 to 3 allowed", n)
			}
			seen := map[string]bool{}
			for _, b := range in.Action.Buttons {
				switch {
				case b.Type != "reply":
					return nil, 400, CodeParamInvalid, "button type must be reply"
				case b.Reply.Title == "" || runes(b.Reply.Title) > 20:
					return nil, 400, CodeParamInvalid, fmt.Sprintf("button title %q must be 1 to 20 characters", b.Reply.Title)
				case b.Reply.ID == "" || runes(b.Reply.ID) > 256:
					return nil, 400, CodeParamInvalid, "button id must be 1 to 256 characters"
				case seen[b.Reply.ID] || seen["t:"+b.Reply.Title]:
					return nil, 400, CodeParamInvalid, "buttons must have unique ids and titles"
				}
				seen[b.Reply.ID], seen["t:"+b.Reply.Title] = true, true
				msg.Buttons = append(msg.Buttons, Button{ID: b.Reply.ID, Title: b.Reply.Title})
			}
		case "list":
			msg.List = true
			if runes(in.Body.Text) > 4096 {
				return nil, 400, CodeParamInvalid, "body is too long (max 4096)"
			}
			if in.Action.Button == "" || runes(in.Action.Button) > 20 {
				return nil, 400, CodeParamInvalid, "action.button must be 1 to 20 characters"
			}
			if len(in.Action.Sections) == 0 || len(in.Action.Sections) > 10 {
				return nil, 400, CodeParamInvalid, "1 to 10 sections allowed"
			}
			rows := 0
			seen := map[string]bool{}
			for _, s := range in.Action.Sections {
				if len(in.Action.Sections) > 1 && s.Title == "" {
					return nil, 400, CodeParamMissing, "section title is required with several sections"
				}
				for _, row := range s.Rows {
					rows++
					switch {
					case row.Title == "" || runes(row.Title) > 24:
						return nil, 400, CodeParamInvalid, fmt.Sprintf("row title %q must be 1 to 24 characters", row.Title)
					case runes(row.Description) > 72:
						return nil, 400, CodeParamInvalid, "row description is too long (max 72)"
					case row.ID == "" || runes(row.ID) > 200:
						return nil, 400, CodeParamInvalid, "row id must be 1 to 200 characters"
					case seen[row.ID]:
						return nil, 400, CodeParamInvalid, "row ids must be unique"
					}
					seen[row.ID] = true
					msg.Buttons = append(msg.Buttons, row)
				}
			}
			if rows == 0 || rows > 10 {
				return nil, 400, CodeParamInvalid, fmt.Sprintf("rows: %d given, 1 to 10 allowed", rows)
			}
		default:
			return nil, 400, CodeParamInvalid, "interactive.type must be button or list here"
		}
	case "template":
		t := req.Template
		if t == nil || t.Name == "" || t.Language.Code == "" {
			return nil, 400, CodeParamMissing, "template.name and template.language.code are required"
		}
		msg.Template = &Template{Name: t.Name, Language: t.Language.Code}
		for _, c := range t.Components {
			for _, p := range c.Parameters {
				msg.Template.Params = append(msg.Template.Params, p.Text)
			}
		}
	default:
		return nil, 400, CodeParamInvalid, fmt.Sprintf("type %q is not supported by the fake", req.Type)
	}
	if f.global != nil {
		if f.global.Allow("") > 0 {
			return nil, 400, CodeRateLimit, ""
		}
		if f.pair.Allow(req.To) > 0 {
			return nil, 400, CodePairRate, ""
		}
	}
	f.mu.Lock()
	f.nextID++
	msg.ID = fmt.Sprintf("wamid.HBgL%012dFAKE", f.nextID)
	u := f.users[req.To]
	outside := u == nil || msg.Time.Sub(u.lastIn) > 24*time.Hour
	if u != nil && len(msg.Buttons) > 0 {
		m := msg
		u.lastSent = &m
	}
	if !f.opts.Lean {
		m := msg
		f.msgs[msg.ID] = &m
	}
	f.mu.Unlock()

	switch {
	case u == nil || u.blocked:
		f.queueStatus(msg.ID, req.To, "failed", CodeUndeliverable)
	case outside && msg.Type != "template":
		f.queueStatus(msg.ID, req.To, "failed", CodeReengagement)
	default:
		f.Records.Add(req.To, msg)
		f.queueStatus(msg.ID, req.To, "sent", 0)
		if !f.opts.SkipDelivered {
			f.queueStatus(msg.ID, req.To, "delivered", 0)
		}
	}
	out, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": req.To}},
		"messages":          []map[string]string{{"id": msg.ID}},
	})
	return out, 200, 0, ""
}

// envelope wraps one change value in the webhook's object.
// waValue is a webhook's change value. The shell is typed rather than
// nested maps: the load tool posts thousands a second, and encoding maps
// sorts their keys each time.
type waValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         map[string]string `json:"metadata"`
	Contacts         []map[string]any  `json:"contacts,omitempty"`
	Messages         []map[string]any  `json:"messages,omitempty"`
	Statuses         []waStatus        `json:"statuses,omitempty"`
}

type waChange struct {
	Field string  `json:"field"`
	Value waValue `json:"value"`
}

type waEntry struct {
	ID      string     `json:"id"`
	Changes []waChange `json:"changes"`
}

type waEnvelope struct {
	Object string    `json:"object"`
	Entry  []waEntry `json:"entry"`
}

func (f *Fake) envelope(value waValue) []byte {
	value.MessagingProduct = "whatsapp"
	value.Metadata = map[string]string{"display_phone_number": f.opts.DisplayPhone, "phone_number_id": f.opts.PhoneNumberID}
	b, _ := json.Marshal(waEnvelope{Object: "whatsapp_business_account",
		Entry: []waEntry{{ID: "102290129340398", Changes: []waChange{{Field: "messages", Value: value}}}}})
	return b
}

func (f *Fake) ts() string { return strconv.FormatInt(f.Clock.Now().Unix(), 10) }

// waStatus is one entry of a status webhook, as Meta sends it.
type waStatus struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Timestamp    string          `json:"timestamp"`
	RecipientID  string          `json:"recipient_id"`
	Conversation *waConversation `json:"conversation,omitempty"`
	Pricing      *waPricing      `json:"pricing,omitempty"`
	Errors       []waError       `json:"errors,omitempty"`
}

type waConversation struct {
	ID     string            `json:"id"`
	Origin map[string]string `json:"origin"`
}

type waPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Category     string `json:"category"`
}

type waError struct {
	Code      int               `json:"code"`
	Title     string            `json:"title"`
	Message   string            `json:"message"`
	ErrorData map[string]string `json:"error_data"`
}

// queueStatus posts a status of message id to the webhook.
func (f *Fake) queueStatus(id, to, status string, code int) int64 {
	st := waStatus{ID: id, Status: status, Timestamp: f.ts(), RecipientID: to}
	if status == "sent" || status == "delivered" {
		st.Conversation = &waConversation{ID: "CONVERSATION_ID", Origin: map[string]string{"type": "service"}}
		st.Pricing = &waPricing{Billable: true, PricingModel: "CBP", Category: "service"}
	}
	if code != 0 {
		st.Errors = []waError{{Code: code, Title: codeText[code], Message: codeText[code],
			ErrorData: map[string]string{"details": codeText[code]}}}
	}
	return f.Hooks.Enqueue(to, f.envelope(waValue{Statuses: []waStatus{st}}), map[string]string{"kind": "status", "status": status})
}

// Status posts a status of a sent message (read, delivered, failed) to the
// webhook now, in whatever order the test wants.
func (f *Fake) Status(id, status string) (int64, error) {
	f.mu.Lock()
	m, ok := f.msgs[id]
	f.mu.Unlock()
	if !ok {
		return 0, fakekit.NotFound("message " + id)
	}
	code := 0
	if status == "failed" {
		code = CodeUndeliverable
	}
	return f.queueStatus(id, m.To, status, code), nil
}

// Inbound is what a user's message produced.
type Inbound struct {
	ID       string `json:"id"`       // the message's wamid
	Delivery int64  `json:"delivery"` // its webhook delivery id
}

func (f *Fake) inbound(from, name string, msg map[string]any, ago time.Duration) Inbound {
	f.mu.Lock()
	u := f.users[from]
	if u == nil {
		u = &user{waID: from}
		f.users[from] = u
	}
	if name != "" {
		u.name = name
	}
	at := f.Clock.Now().Add(-ago)
	u.lastIn = at
	u.blocked = false
	f.nextID++
	id := fmt.Sprintf("wamid.HBgLIN%010dFAKE", f.nextID)
	name = u.name
	f.mu.Unlock()
	msg["from"], msg["id"], msg["timestamp"] = from, id, strconv.FormatInt(at.Unix(), 10)
	body := f.envelope(waValue{
		Contacts: []map[string]any{{"profile": map[string]string{"name": name}, "wa_id": from}},
		Messages: []map[string]any{msg},
	})
	return Inbound{ID: id, Delivery: f.Hooks.Enqueue(from, body, map[string]string{"kind": "message", "id": id})}
}

// SendText is a user writing text to the business.
func (f *Fake) SendText(from, name, text string) Inbound {
	return f.SendTextAgo(from, name, text, 0)
}

// SendTextAgo is a message written ago before its delivery (WhatsApp
// retries a webhook for days, and the message keeps its own timestamp):
// the person's 24-hour window counts from then.
func (f *Fake) SendTextAgo(from, name, text string, ago time.Duration) Inbound {
	return f.inbound(from, name, map[string]any{"type": "text", "text": map[string]string{"body": text}}, ago)
}

// Press is a user tapping a reply button or picking a list row (by id or
// title) of the latest interactive message sent to them.
func (f *Fake) Press(from, id, title string) (Inbound, error) {
	f.mu.Lock()
	u := f.users[from]
	var last *SentMessage
	if u != nil {
		last = u.lastSent
	}
	f.mu.Unlock()
	if last == nil {
		return Inbound{}, fmt.Errorf("no interactive message was sent to %s", from)
	}
	for _, b := range last.Buttons {
		if (id != "" && b.ID == id) || (id == "" && b.Title == title) {
			reply := map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": b.ID, "title": b.Title}}
			if last.List {
				reply = map[string]any{"type": "list_reply", "list_reply": map[string]string{"id": b.ID, "title": b.Title, "description": b.Description}}
			}
			return f.inbound(from, "", map[string]any{
				"type": "interactive", "interactive": reply,
				"context": map[string]string{"from": f.opts.DisplayPhone, "id": last.ID},
			}, 0), nil
		}
	}
	return Inbound{}, fmt.Errorf("the latest interactive message to %s has no button %q", from, id+title)
}

// AddUser makes a person known without a webhook delivery, as if they
// last wrote at lastIn (seeding a broadcast's audience).
func (f *Fake) AddUser(waID, name string, lastIn time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[waID] = &user{waID: waID, name: name, lastIn: lastIn}
}

// Block makes user from block the business: WhatsApp tells the business
// nothing, and its later messages are accepted and then fail by status
// with 131026 (undeliverable). Writing again unblocks.
func (f *Fake) Block(from string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[from]
	if u == nil {
		u = &user{waID: from}
		f.users[from] = u
	}
	u.blocked = true
}

// SetWebhook verifies url with GET as Meta does (hub.challenge echoed only
// with the right verify token), then posts updates to it.
func (f *Fake) SetWebhook(ctx context.Context, hookURL, verifyToken string) error {
	challenge := strconv.FormatInt(f.Clock.Now().UnixNano()%1_000_000_000, 10)
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}, "hub.verify_token": {verifyToken}}
	sep := "?"
	if strings.Contains(hookURL, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hookURL+sep+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("webhook URL: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("The URL couldn't be validated. Callback verification failed: %w", err) //nolint:staticcheck // Meta's wording
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != challenge {
		return fmt.Errorf("The URL couldn't be validated. Response does not match challenge, expected value=%q, received=%q (status %d)", //nolint:staticcheck // Meta's wording
			challenge, string(b), resp.StatusCode)
	}
	f.Hooks.SetURL(hookURL)
	return nil
}

// Sent returns what was delivered to user to, oldest first (messages that
// failed by status are not in it).
func (f *Fake) Sent(to string) []SentMessage { return f.Records.Chat(to) }

// WaitSent waits until n messages were delivered to to.
func (f *Fake) WaitSent(ctx context.Context, to string, n int) ([]SentMessage, error) {
	return f.Records.Wait(ctx, to, n)
}

// Stats returns the counters.
func (f *Fake) Stats() Stats {
	return Stats{Requests: f.Requests.Load(), Sent: f.Records.Len(), RateLimit: f.limited.Load()}
}

func (f *Fake) routes() {
	c := f.Control
	c.Handle("POST", "webhook", func(r *http.Request, body []byte) (any, error) {
		var req struct {
			URL         string `json:"url"`
			VerifyToken string `json:"verify_token"`
		}
		if err := fakekit.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.URL == "" {
			f.Hooks.SetURL("")
			return true, nil
		}
		if err := f.SetWebhook(r.Context(), req.URL, req.VerifyToken); err != nil {
			return nil, err
		}
		return true, nil
	})
	type userReq struct {
		From   string `json:"from"`
		Name   string `json:"name"`
		Text   string `json:"text"`
		ID     string `json:"id"`
		Title  string `json:"title"`
		Status string `json:"status"`
		// AgoSeconds dates a message that long before now.
		AgoSeconds float64 `json:"ago_seconds"`
	}
	c.Handle("POST", "message", func(_ *http.Request, body []byte) (any, error) {
		var req userReq
		if err := fakekit.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.From == "" {
			return nil, errors.New("from (the user's wa_id, digits) is required")
		}
		return f.SendTextAgo(req.From, req.Name, req.Text, time.Duration(req.AgoSeconds*float64(time.Second))), nil
	})
	c.Handle("POST", "press", func(_ *http.Request, body []byte) (any, error) {
		var req userReq
		if err := fakekit.Decode(body, &req); err != nil {
			return nil, err
		}
		return f.Press(req.From, req.ID, req.Title)
	})
	c.Handle("POST", "block", func(_ *http.Request, body []byte) (any, error) {
		var req userReq
		if err := fakekit.Decode(body, &req); err != nil {
			return nil, err
		}
		if req.From == "" {
			return nil, errors.New("from (the user's wa_id) is required")
		}
		f.Block(req.From)
		return true, nil
	})
	c.Handle("POST", "status", func(_ *http.Request, body []byte) (any, error) {
		var req userReq
		if err := fakekit.Decode(body, &req); err != nil {
			return nil, err
		}
		d, err := f.Status(req.ID, req.Status)
		return map[string]int64{"delivery": d}, err
	})
}
