package fakekit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server serves a fake on a loopback port.
type Server struct {
	srv *http.Server
	url string
}

// Listen serves h on addr ("" means 127.0.0.1:0, a free port) and returns
// the server; URL is its base, e.g. "http://127.0.0.1:43567".
func Listen(addr string, h http.Handler) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakekit: listen on %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String()}
	go func() { _ = s.srv.Serve(ln) }() // ErrServerClosed after Close
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.url }

// Close shuts the server down, waiting up to 5 s for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("fakekit: shutdown: %w", err)
	}
	return nil
}

// HMACHex is hex(HMAC-SHA256(body, key)), the signature WhatsApp (with the
// app secret, "sha256=" in front) and Viber (with the auth token) put on
// their webhook requests.
func HMACHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
