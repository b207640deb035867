package channel

import (
	"errors"
	"io"
	"net/http"
	"net/url"
)

// WebhookRequest is one HTTP request to an adapter's webhook route, apart
// from any HTTP framework: the server copies what it got into it, so an
// adapter can be tested with plain values.
type WebhookRequest struct {
	Method string
	Query  url.Values
	Header http.Header
	// Body is the raw body; it is not retained after the call.
	Body []byte
}

// WebhookResponse is what the server answers a webhook request with.
// An empty ContentType with a Body means text/plain.
type WebhookResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// Text is a text/plain response.
func Text(status int, body string) WebhookResponse {
	return WebhookResponse{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}

// JSON is an application/json response of a body already encoded.
func JSON(status int, body []byte) WebhookResponse {
	return WebhookResponse{Status: status, ContentType: "application/json", Body: body}
}

// ServeHTTP is a net/http handler for a webhook function: tests and fakes
// mount an adapter with it; the server has its own copy for Fiber.
func ServeHTTP(serve func(*http.Request, WebhookRequest) WebhookResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readLimited(r, 1<<20)
		if err != nil {
			http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		res := serve(r, WebhookRequest{Method: r.Method, Query: r.URL.Query(), Header: r.Header, Body: body})
		if res.Status == 0 {
			res.Status = http.StatusOK
		}
		if len(res.Body) > 0 {
			ct := res.ContentType
			if ct == "" {
				ct = "text/plain; charset=utf-8"
			}
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	})
}

func readLimited(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("body over the limit")
	}
	return b, nil
}
