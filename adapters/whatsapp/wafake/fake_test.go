package wafake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/adapters/fakekit"
)

func post(t *testing.T, base, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func errCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

func TestFakeChecksWhatTheCloudAPIChecks(t *testing.T) {
	clock := fakekit.NewManualClock(time.Now())
	f := New(Options{Clock: clock, PerSecond: 2})
	base, err := f.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SendText("79990001122", "Ivan", "hi")
	path := "/v21.0/" + f.PhoneNumberID() + "/messages"
	btn := func(title string) string {
		return `{"type":"reply","reply":{"id":"` + title + `","title":"` + title + `"}}`
	}
	cases := []struct {
		name, path, token, body string
		status, code            int
	}{
		{"bad token", path, "nope", `{}`, 401, 190},
		{"other phone id", "/v21.0/999/messages", f.Token(), `{}`, 400, 100},
		{"no product", path, f.Token(), `{"to":"79990001122","type":"text","text":{"body":"x"}}`, 400, 100},
		{"long text", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"` + strings.Repeat("я", 4097) + `"}}`, 400, 131009},
		{"four buttons", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[` +
			btn("a") + "," + btn("b") + "," + btn("c") + "," + btn("d") + `]}}}`, 400, 131009},
		{"long title", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"interactive","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[` +
			btn(strings.Repeat("t", 21)) + `]}}}`, 400, 131009},
		{"ok", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"x"}}`, 200, 0},
		{"ok 2", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"y"}}`, 200, 0},
		{"throughput", path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"z"}}`, 400, 130429},
	}
	for _, c := range cases {
		st, m := post(t, base, c.path, c.token, c.body)
		if st != c.status || errCode(m) != c.code {
			t.Errorf("%s: %d %v, want %d code %d", c.name, st, m, c.status, c.code)
		}
	}
	if got := f.Sent("79990001122"); len(got) != 2 {
		t.Fatalf("recorded %d messages, want the two accepted", len(got))
	}
	clock.Advance(time.Second)
	if st, m := post(t, base, path, f.Token(), `{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"z"}}`); st != 200 {
		t.Fatalf("after a second: %d %v", st, m)
	}
}

// A lean fake (the load tool's) accepts and counts sends, keeps none of
// them, and forgets each status once posted to the webhook.
func TestLeanCountsSendsAndKeepsNone(t *testing.T) {
	hook := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // Meta's verification request
			_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		hook <- struct{}{}
	}))
	defer srv.Close()
	f := New(Options{Unlimited: true, Lean: true, SkipDelivered: true})
	base, err := f.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.SetWebhook(ctx, srv.URL, "verify"); err != nil {
		t.Fatal(err)
	}
	f.SendText("79990001122", "Ivan", "hi")
	<-hook
	st, m := post(t, base, "/v21.0/"+f.PhoneNumberID()+"/messages", f.Token(),
		`{"messaging_product":"whatsapp","to":"79990001122","type":"text","text":{"body":"x"}}`)
	if st != 200 {
		t.Fatalf("send = %d %v", st, m)
	}
	<-hook // the sent status
	if n, err := f.Records.WaitCount(ctx, "79990001122", 1); err != nil || n != 1 {
		t.Fatalf("WaitCount = %d, %v; want 1", n, err)
	}
	if got := f.Sent("79990001122"); len(got) != 0 {
		t.Fatalf("lean fake kept %d messages", len(got))
	}
	id, _ := m["messages"].([]any)[0].(map[string]any)["id"].(string)
	if _, err := f.Status(id, "read"); err == nil {
		t.Fatal("lean fake still knows a sent message's id")
	}
	for f.Deliveries().Pending() > 0 && ctx.Err() == nil { // the hook saw it just before it answered
		time.Sleep(time.Millisecond)
	}
	if all := f.Deliveries().All(); len(all) != 0 {
		t.Fatalf("lean fake kept %d deliveries after they were posted", len(all))
	}
}
