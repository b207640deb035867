package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-token", "42:abc", "-username", "cmd_bot", "-manual-clock"}, pw, io.Discard)
		pw.Close()
	}()
	base, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read base URL: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base = strings.TrimSpace(base)

	resp, err := http.Get(base + "/bot42:abc/getMe")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"username":"cmd_bot"`) || !strings.Contains(string(body), `"id":42`) {
		t.Fatalf("getMe = %s", body)
	}
	resp, err = http.Post(base+"/_fake/clock/advance", "application/json", strings.NewReader(`{"seconds":5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("advance: %d", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}
