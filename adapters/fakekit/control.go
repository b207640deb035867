package fakekit

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

// ControlError is a control API failure with its HTTP status.
type ControlError struct {
	Status int
	Msg    string
}

func (e *ControlError) Error() string { return e.Msg }

// NotFound is the control API's 404.
func NotFound(what string) error {
	return &ControlError{Status: http.StatusNotFound, Msg: what + " not found"}
}

// ControlFunc serves one control route: body is the POST body (JSON, may
// be empty); the result is answered as JSON.
type ControlFunc func(r *http.Request, body []byte) (any, error)

// Control is the JSON control API of a fake under /_fake/: results are
// answered as JSON with 200, errors as {"error":"…"} with their status
// (400 unless a *ControlError says otherwise).
type Control struct {
	routes map[string]ControlFunc // "METHOD path" → func
}

// NewControl returns a control API with the routes shared by every fake:
//
//	POST /_fake/fail    {"n":2,"code":130429}   the next n API calls fail with the code
//	                    ("skip":1 lets one call through first)
//	POST /_fake/outage  {"mode":"502"|"hang"|"reset"|"","seconds":5}
//	GET  /_fake/outage                         {"mode":…,"hits":N}
//	POST /_fake/reset                          ends outages and pending failures
//	POST /_fake/clock/advance {"seconds":2.5}  (ManualClock only)
//	GET  /_fake/deliveries                     every webhook delivery
//
// faults, clock and deliverer may be nil (their routes then 404).
func NewControl(faults *Faults, clock Clock, deliverer *Deliverer) *Control {
	c := &Control{routes: map[string]ControlFunc{}}
	if faults != nil {
		c.Handle("POST", "fail", func(_ *http.Request, body []byte) (any, error) {
			var req struct {
				Skip int `json:"skip"`
				N    int `json:"n"`
				Code int `json:"code"`
			}
			if err := Decode(body, &req); err != nil {
				return nil, err
			}
			if req.N < 0 || (req.N > 0 && req.Code == 0) {
				return nil, errors.New(`want {"n":<calls>,"code":<platform error code>}`)
			}
			faults.FailLater(req.Skip, req.N, req.Code, nil)
			return true, nil
		})
		c.Handle("POST", "outage", func(_ *http.Request, body []byte) (any, error) {
			var req struct {
				Mode    *Outage `json:"mode"`
				Seconds float64 `json:"seconds"`
			}
			if err := Decode(body, &req); err != nil {
				return nil, err
			}
			if req.Mode == nil {
				return nil, errors.New(`mode is required: "502", "hang", "reset", or "" to end the outage`)
			}
			if err := faults.SetOutage(*req.Mode, time.Duration(req.Seconds*float64(time.Second))); err != nil {
				return nil, err
			}
			return true, nil
		})
		c.Handle("GET", "outage", func(*http.Request, []byte) (any, error) {
			kind, hits := faults.Outage()
			return map[string]any{"mode": kind, "hits": hits}, nil
		})
		c.Handle("POST", "reset", func(*http.Request, []byte) (any, error) {
			faults.Reset()
			return true, nil
		})
	}
	if mc, ok := clock.(*ManualClock); ok {
		c.Handle("POST", "clock/advance", func(_ *http.Request, body []byte) (any, error) {
			var req struct {
				Seconds float64 `json:"seconds"`
			}
			if err := Decode(body, &req); err != nil {
				return nil, err
			}
			mc.Advance(time.Duration(req.Seconds * float64(time.Second)))
			return mc.Now(), nil
		})
	}
	if deliverer != nil {
		c.Handle("GET", "deliveries", func(*http.Request, []byte) (any, error) { return deliverer.All(), nil })
	}
	return c
}

// Handle adds (or replaces) a route; path is relative to /_fake/.
func (c *Control) Handle(method, path string, fn ControlFunc) {
	c.routes[method+" "+strings.Trim(path, "/")] = fn
}

// ServeHTTP serves /_fake/<path>.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_fake/"), "/")
	fn, ok := c.routes[r.Method+" "+path]
	if !ok {
		writeControl(w, http.StatusNotFound, map[string]string{"error": "no control route " + r.Method + " /_fake/" + path})
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
			return
		}
		body = b
	}
	res, err := fn(r, body)
	if err != nil {
		status := http.StatusBadRequest
		var ce *ControlError
		if errors.As(err, &ce) {
			status = ce.Status
		}
		writeControl(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeControl(w, http.StatusOK, res)
}

// Decode reads a JSON control body into v; an empty body leaves v alone.
func Decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode JSON body: %w", err)
	}
	return nil
}

func writeControl(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode result"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WaitRoute serves GET sent/wait?<param>=<chat>&n=…&timeout=… (default
// 10 s): the chat's records once there are n, 408 on timeout.
func WaitRoute[T any](r *http.Request, rec *Records[T], param string) (any, error) {
	q := r.URL.Query()
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
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	out, err := rec.Wait(ctx, q.Get(param), n)
	if err != nil {
		return nil, &ControlError{Status: http.StatusRequestTimeout, Msg: err.Error()}
	}
	return out, nil
}
