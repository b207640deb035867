package tgfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// controlRequest is the JSON body of the control API's POST endpoints.
type controlRequest struct {
	UserID       int64   `json:"user_id"`
	ChatID       int64   `json:"chat_id"`
	ChatTitle    string  `json:"chat_title"`
	MessageID    int     `json:"message_id"`
	Text         string  `json:"text"`
	Data         *string `json:"data"`
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Username     string  `json:"username"`
	LanguageCode string  `json:"language_code"`
	Seconds      float64 `json:"seconds"`
	Mode         *Outage `json:"mode"`
	Skip         int     `json:"skip"`
	N            int     `json:"n"`
	Code         int     `json:"code"`
	Method       string  `json:"method"`
}

// serveControl serves /_fake/...; see the package documentation.
func (f *Fake) serveControl(w http.ResponseWriter, r *http.Request) {
	route := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_fake/"), "/")
	var req controlRequest
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, badRequest("Bad Request: read body: "+err.Error()))
			return
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				writeError(w, badRequest("Bad Request: decode JSON body: "+err.Error()))
				return
			}
		}
	}
	result, err := f.control(r.Context(), r, route, req)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = badRequest("Bad Request: " + err.Error())
		}
		writeError(w, ae)
		return
	}
	b, merr := json.Marshal(result)
	if merr != nil {
		writeError(w, internal(merr))
		return
	}
	writeResult(w, b, "")
}

func (f *Fake) control(ctx context.Context, r *http.Request, route string, req controlRequest) (any, error) {
	post := r.Method == http.MethodPost
	needUser := func() error {
		if req.UserID <= 0 {
			return errors.New("user_id must be a positive integer")
		}
		return nil
	}
	switch {
	case route == "message" && post:
		if err := needUser(); err != nil {
			return nil, err
		}
		f.maybeProfile(req)
		if req.ChatID < 0 {
			return f.SendGroupText(req.UserID, req.ChatID, req.ChatTitle, req.Text)
		}
		return f.SendText(req.UserID, req.Text)
	case route == "press" && post:
		if err := needUser(); err != nil {
			return nil, err
		}
		chat := req.ChatID
		if chat == 0 {
			chat = req.UserID
		}
		if req.Data != nil {
			return f.PressButton(req.UserID, chat, req.MessageID, *req.Data)
		}
		return f.PressButtonText(req.UserID, chat, req.MessageID, req.Text)
	case route == "block" && post:
		if err := needUser(); err != nil {
			return nil, err
		}
		return f.Block(req.UserID)
	case route == "unblock" && post:
		if err := needUser(); err != nil {
			return nil, err
		}
		return f.Unblock(req.UserID)
	case route == "deactivate" && post:
		if err := needUser(); err != nil {
			return nil, err
		}
		f.Deactivate(req.UserID)
		return true, nil
	case route == "sent" && r.Method == http.MethodDelete:
		f.ClearSent()
		return true, nil
	case route == "sent":
		if s := r.URL.Query().Get("chat_id"); s != "" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("chat_id: %w", err)
			}
			return f.Sent(id), nil
		}
		return f.AllSent(), nil
	case route == "sent/wait":
		q := r.URL.Query()
		id, err := strconv.ParseInt(q.Get("chat_id"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("chat_id: %w", err)
		}
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		timeout := 10 * time.Second
		if s := q.Get("timeout"); s != "" {
			if timeout, err = time.ParseDuration(s); err != nil {
				return nil, fmt.Errorf("timeout: %w", err)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		msgs, err := f.WaitSent(wctx, id, n)
		if err != nil {
			return nil, &apiError{code: http.StatusRequestTimeout, desc: "Request Timeout: " + err.Error()}
		}
		return msgs, nil
	case route == "updates":
		return f.Updates(), nil
	case route == "answers":
		return f.CallbackAnswers(), nil
	case route == "stats":
		return f.Stats(), nil
	case route == "outage" && post:
		if req.Mode == nil {
			return nil, errors.New(`mode is required: "502", "hang", "reset", or "" to end the outage`)
		}
		if err := f.SetOutage(*req.Mode, time.Duration(req.Seconds*float64(time.Second))); err != nil {
			return nil, err
		}
		return true, nil
	case route == "fail" && post:
		if req.N < 0 || (req.N > 0 && req.Code == 0) {
			return nil, errors.New(`want {"n":<calls>,"code":<error code>,"method":<optional method>}`)
		}
		f.FailLater(req.Skip, req.N, req.Method, req.Code)
		return true, nil
	case route == "outage":
		kind, hits := f.Outage()
		return map[string]any{"mode": kind, "hits": hits}, nil
	case route == "clock/advance" && post:
		mc, ok := f.clock.(*ManualClock)
		if !ok {
			return nil, errors.New("the fake runs on the wall clock; only a ManualClock can be advanced")
		}
		mc.Advance(time.Duration(req.Seconds * float64(time.Second)))
		return mc.Now(), nil
	}
	return nil, &apiError{code: http.StatusNotFound, desc: DescNotFound}
}

// maybeProfile applies profile fields sent with a control request.
func (f *Fake) maybeProfile(req controlRequest) {
	if req.FirstName == "" && req.LastName == "" && req.Username == "" && req.LanguageCode == "" {
		return
	}
	f.AddUser(User{
		ID: req.UserID, FirstName: req.FirstName, LastName: req.LastName,
		Username: req.Username, LanguageCode: req.LanguageCode,
	})
}
