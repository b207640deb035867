package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestHTTPAllowConfig(t *testing.T) {
	cfg, err := loadServeConfig(nil, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8, crm.internal"}), io.Discard)
	if err != nil || cfg.HTTPAllow != "10.0.0.0/8, crm.internal" {
		t.Fatalf("allow-list from the environment: %q, %v", cfg.HTTPAllow, err)
	}
	cfg, err = loadServeConfig([]string{"-http-allow", "*.corp.example"}, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8"}), io.Discard)
	if err != nil || cfg.HTTPAllow != "*.corp.example" {
		t.Fatalf("the flag wins over the environment: %q, %v", cfg.HTTPAllow, err)
	}
	_, err = loadServeConfig(nil, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8, http://crm:8080"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"http://crm:8080"`) {
		t.Fatalf("a URL in the allow-list: %v, want an error naming the entry", err)
	}
}

// startWebChat runs voronka serve (bolt, the example flows) with cfg's web
// chat limits and returns its address.
func startWebChat(t *testing.T, limits func(*serveConfig)) string {
	t.Helper()
	cfg := defaults()
	cfg.Flows = "../../flows"
	cfg.Data = t.TempDir() + "/voronka.db"
	cfg.Listen = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	limits(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, log, ready) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return ""
}

// wsFrom dials the web chat from a loopback source address, so one machine
// plays several client addresses.
func wsFrom(ctx context.Context, addr, from string) (*websocket.Conn, *http.Response, error) {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 20 * time.Second}
	d := &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 20 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
	return d.DialContext(ctx, "ws://"+addr+"/ws/chat", nil)
}

// hello says hello and returns the first frame the server answers with, or
// the close error it ended the connection with.
func hello(ws *websocket.Conn) (map[string]any, error) {
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := ws.WriteJSON(map[string]any{"type": "hello", "bot": "faq-bot"}); err != nil {
		return nil, err
	}
	for {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			return nil, err
		}
		if f["type"] == "welcome" {
			return f, nil
		}
	}
}

// A flood of web chat connections from one address gets refused past the
// per-address cap (429 before the upgrade, or close 1013 after it) while a
// visitor from another address chats as usual; the flood's own few
// connections keep working.
func TestWebChatFloodFromOneAddressLeavesOthersServed(t *testing.T) {
	const attempts, perAddr = 2000, 20
	addr := startWebChat(t, func(c *serveConfig) {
		c.WebChatMaxConnsPerAddr = perAddr
		c.WebChatNewPerMinute = -1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var mu sync.Mutex
	outcomes := map[string]int{}
	var held []*websocket.Conn
	defer func() {
		for _, ws := range held {
			ws.Close()
		}
	}()
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := 0; i < attempts; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ws, resp, err := wsFrom(ctx, addr, "127.0.0.1")
			outcome := ""
			switch {
			case err != nil && resp != nil:
				outcome = fmt.Sprintf("HTTP %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			case err != nil:
				outcome = "dial error: " + err.Error()
			default:
				_, err := hello(ws)
				var ce *websocket.CloseError
				switch {
				case err == nil:
					outcome = "welcomed"
					mu.Lock()
					held = append(held, ws)
					mu.Unlock()
				case errors.As(err, &ce):
					outcome = fmt.Sprintf("closed %d %s", ce.Code, ce.Text)
					ws.Close()
				default:
					outcome = "error: " + err.Error()
					ws.Close()
				}
			}
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	refused := outcomes[`HTTP 429, Retry-After "10"`] + outcomes["closed 1013 too many web chat connections from your address"]
	if outcomes["welcomed"] != perAddr || refused != attempts-perAddr {
		t.Errorf("outcomes of %d attempts with a cap of %d: %v", attempts, perAddr, outcomes)
	}

	// Someone else chats meanwhile.
	ws, _, err := wsFrom(ctx, addr, "127.0.0.2")
	if err != nil {
		t.Fatalf("visitor refused: %v", err)
	}
	defer ws.Close()
	if _, err := hello(ws); err != nil {
		t.Fatalf("visitor hello: %v", err)
	}
	if err := ws.WriteJSON(map[string]any{"type": "text", "id": "v1", "text": "привет"}); err != nil {
		t.Fatal(err)
	}
	for acked, answered := false, false; !acked || !answered; {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("visitor waiting for the answer: %v", err)
		}
		acked = acked || f["type"] == "ack"
		answered = answered || f["type"] == "message"
	}
	// And one of the flood's own connections still works.
	if err := held[0].WriteJSON(map[string]any{"type": "ping"}); err != nil {
		t.Fatal(err)
	}
	for {
		var f map[string]any
		if err := held[0].ReadJSON(&f); err != nil {
			t.Fatalf("held connection: %v", err)
		}
		if f["type"] == "pong" {
			break
		}
	}
}

// New chats are limited per address and minute: past the limit a hello
// that would start one gets an error frame and close 1013; another address
// starts its chat.
func TestWebChatNewChatsPerMinutePerAddress(t *testing.T) {
	addr := startWebChat(t, func(c *serveConfig) { c.WebChatNewPerMinute = 5 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sessions []string
	for i := 0; i < 7; i++ {
		ws, _, err := wsFrom(ctx, addr, "127.0.0.3")
		if err != nil {
			t.Fatal(err)
		}
		f, err := hello(ws)
		ws.Close()
		var ce *websocket.CloseError
		switch {
		case i < 5 && err == nil:
			sessions = append(sessions, f["session"].(string))
		case i >= 5 && errors.As(err, &ce) && ce.Code == 1013 && strings.Contains(ce.Text, "too many new chats"):
		default:
			t.Fatalf("chat %d: %v, %v", i+1, f, err)
		}
	}
	// Resuming a chat is not a new one.
	ws, _, err := wsFrom(ctx, addr, "127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteJSON(map[string]any{"type": "hello", "bot": "faq-bot", "session": sessions[0]})
	var f map[string]any
	if err := ws.ReadJSON(&f); err != nil || f["type"] != "welcome" || f["session"] != sessions[0] {
		t.Fatalf("resume: %v, %v", f, err)
	}
	other, _, err := wsFrom(ctx, addr, "127.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := hello(other); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// Other channel types' bot-wide rates come from -channel-rates or the
// environment; a malformed entry is refused with its text.
func TestChannelRatesConfig(t *testing.T) {
	cfg, err := loadServeConfig([]string{"-channel-rates", "whatsapp=1000, vk=20"}, envOf(nil), io.Discard)
	if err != nil || cfg.ChannelRates["whatsapp"] != 1000 || cfg.ChannelRates["vk"] != 20 || len(cfg.ChannelRates) != 2 {
		t.Fatalf("flag: %v %v", cfg.ChannelRates, err)
	}
	cfg, err = loadServeConfig(nil, envOf(map[string]string{"VORONKA_CHANNEL_RATES": "viber=300"}), io.Discard)
	if err != nil || cfg.ChannelRates["viber"] != 300 {
		t.Fatalf("env: %v %v", cfg.ChannelRates, err)
	}
	for _, bad := range []string{"whatsapp", "whatsapp=0", "=5", "vk=fast"} {
		if _, err := loadServeConfig([]string{"-channel-rates", bad}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "channel rate") {
			t.Errorf("%q: %v, want a channel rate error", bad, err)
		}
	}
}
