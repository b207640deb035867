package tgfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

// getMe calls getMe over plain HTTP and returns the status and body, or
// the transport error.
func getMe(t *testing.T, e *env) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, e.base+"/bot"+e.fake.Token()+"/getMe", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestOutageBadGatewayAndReset(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	mustSay(t, e.fake, 42, "written while Telegram is down")

	if err := e.fake.SetOutage(tgfake.OutageBadGateway, 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.bot.GetMe()
	apiErr(t, err, http.StatusBadGateway, tgfake.DescBadGateway)

	if err := e.fake.SetOutage(tgfake.OutageReset, 0); err != nil {
		t.Fatal(err)
	}
	if code, body, err := getMe(t, e); err == nil {
		t.Fatalf("getMe during a reset outage answered %d %s, want a transport error", code, body)
	}
	// Go's client may retry a GET on a reused connection that was reset.
	if kind, hits := e.fake.Outage(); kind != tgfake.OutageReset || hits < 2 {
		t.Fatalf("Outage() = %q, %d hits; want reset, at least 2", kind, hits)
	}

	if err := e.fake.SetOutage(tgfake.OutageNone, 0); err != nil {
		t.Fatal(err)
	}
	if me, err := e.bot.GetMe(); err != nil || me.UserName != e.fake.Bot().Username {
		t.Fatalf("getMe after the outage = %+v, %v", me, err)
	}
	// What users wrote during the outage waits for the bot.
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "written while Telegram is down" {
		t.Fatalf("updates after the outage = %+v, %v", ups, err)
	}
	if err := e.fake.SetOutage("flood", 0); err == nil {
		t.Fatal("an unknown outage was accepted")
	}
}

func TestOutageHangServesOnceOver(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	if err := e.fake.SetOutage(tgfake.OutageHang, 0); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code int
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		code, _, err := getMe(t, e)
		done <- answer{code, err}
	}()
	for {
		if _, hits := e.fake.Outage(); hits == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case a := <-done:
		t.Fatalf("getMe answered during the hang: %+v", a)
	default:
	}
	if err := e.fake.SetOutage(tgfake.OutageNone, 0); err != nil {
		t.Fatal(err)
	}
	if a := <-done; a.err != nil || a.code != http.StatusOK {
		t.Fatalf("getMe after the hang = %+v, want 200", a)
	}
}

func TestOutageEndsByItselfAndOverTheControlAPI(t *testing.T) {
	e := newEnv(t, tgfake.Options{})
	post := func(body string) (int, string) {
		resp, err := http.Post(e.base+"/_fake/outage", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"mode":"502","seconds":0.05}`); code != http.StatusOK {
		t.Fatalf("POST /_fake/outage = %d %s", code, body)
	}
	if code, _, err := getMe(t, e); err != nil || code != http.StatusBadGateway {
		t.Fatalf("getMe during the outage = %d, %v; want 502", code, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, err := getMe(t, e)
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 50 ms outage did not end: %d %v", code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(e.base + "/_fake/outage")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Result struct {
			Mode string `json:"mode"`
			Hits int64  `json:"hits"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Result.Mode != "" || got.Result.Hits < 1 {
		t.Fatalf("GET /_fake/outage = %+v, want no outage and at least one hit", got.Result)
	}
	if code, body := post(`{"seconds":1}`); code != http.StatusBadRequest || !strings.Contains(body, "mode is required") {
		t.Fatalf("POST without mode = %d %s", code, body)
	}
	if code, _ := post(`{"mode":"flood"}`); code != http.StatusBadRequest {
		t.Fatalf("POST with an unknown mode = %d, want 400", code)
	}
}
