package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store/bolt"
)

// TestAnalyticsOfPlayedConversations plays conversations with known paths
// through the fake Telegram and checks the analytics API's figures, its
// CSV export, and that voronka analytics rebuild recomputes the same.
func TestAnalyticsOfPlayedConversations(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := startStack(t, kind, stackOpts{fakeLimits: unlimited, ourLimits: fast})
			f := s.fake
			playFunnel(t, f, 501) // to the handoff: the goal qualified_lead
			playFunnel(t, f, 502)
			mustSend(t, f, 503, "/start")
			wait(t, f, 503, 2)
			mustPress(t, f, 503, "Хочу купить")
			wait(t, f, 503, 3)
			mustSend(t, f, 503, "не скажу") // invalid: asked again, then silence
			wait(t, f, 503, 4)
			mustSend(t, f, 504, "/start")
			wait(t, f, 504, 2)

			const path = "/api/bots/lead-qualification/analytics"
			var rep map[string]any
			eventually(t, func() bool {
				rep = getJSON(t, s, path)
				return rep["messages"].(map[string]any)["in"].(float64) == 12 && rep["started"].(float64) == 4
			}, "the analytics count 12 inbound messages of 4 runs")
			num := func(v any, keys ...string) float64 {
				for _, k := range keys {
					m, ok := v.(map[string]any)
					if !ok {
						t.Fatalf("%v: no %s in %v", keys, k, v)
					}
					v = m[k]
				}
				f, _ := v.(float64)
				return f
			}
			checks := []struct {
				what string
				keys []string
				want float64
			}{
				{"started", []string{"started"}, 4},
				{"dialogs", []string{"dialogs"}, 4},
				{"active now", []string{"active_now"}, 4},
				{"goal count", []string{"goals", "qualified_lead", "count"}, 2},
				{"goal rate", []string{"goals", "qualified_lead", "rate"}, 0.5},
				{"handoffs", []string{"handoffs"}, 2},
				{"entered welcome", []string{"funnel", "welcome", "entered"}, 4},
				{"entered ask_goal", []string{"funnel", "ask_goal", "entered"}, 4},
				{"ask_goal → ask_budget", []string{"funnel", "ask_goal", "exits", "ask_budget"}, 3},
				{"dropped at ask_goal", []string{"funnel", "ask_goal", "drop_off"}, 1},
				{"entered ask_budget", []string{"funnel", "ask_budget", "entered"}, 3},
				{"ask_budget → ask_phone", []string{"funnel", "ask_budget", "exits", "ask_phone"}, 2},
				{"entered lead_goal", []string{"funnel", "lead_goal", "entered"}, 2},
				{"sessions", []string{"sessions", "count"}, 4},
			}
			for _, c := range checks {
				if got := num(rep, c.keys...); got != c.want {
					t.Errorf("%s = %v, want %v", c.what, got, c.want)
				}
			}
			if d := rep["delivery"].(map[string]any)["telegram"].(map[string]any); d["delivered_rate"] != nil || d["read"] != nil || d["sent"].(float64) < 10 {
				t.Errorf("telegram delivery = %v, want sent and no delivery or read figures (n/a)", d)
			}
			if rep["response_time"].(map[string]any)["bot_p50_ms"] == nil {
				t.Errorf("no bot reply time: %v", rep["response_time"])
			}

			body := getText(t, s, path+"?format=csv&table=funnel")
			if !strings.HasPrefix(body, "\ufeffnode;entered;percent_of_started;next;exits;drop_off\r\n") ||
				!strings.Contains(body, "\r\nask_goal;4;100;ask_budget;3;1\r\n") {
				t.Errorf("funnel CSV:\n%s", body)
			}

			cs := getJSON(t, s, "/api/bots/lead-qualification/contacts")["contacts"].([]any)
			if len(cs) != 4 {
				t.Fatalf("contacts: %d, want 4: %v", len(cs), cs)
			}
			var lead map[string]any
			for _, c := range cs {
				if c.(map[string]any)["chat"] == "501" {
					lead = c.(map[string]any)
				}
			}
			if lead == nil || lead["phone"] != "+79991234567" || lead["vars"].(map[string]any)["budget"] != 150000.0 || lead["segment"] == "" {
				t.Errorf("lead 501: %v", lead)
			}
			hot := getJSON(t, s, "/api/bots/lead-qualification/contacts?q=79991234567&sort=-score")["contacts"].([]any)
			if len(hot) != 2 {
				t.Errorf("search by phone: %d contacts, want 2", len(hot))
			}
			csv := getText(t, s, "/api/bots/lead-qualification/contacts?format=csv")
			lines := strings.Split(strings.TrimSuffix(csv, "\r\n"), "\r\n")
			if !strings.HasPrefix(csv, "\ufeffid;name;channel;") || len(lines) != 5 || !strings.Contains(lines[0], ";budget;") {
				t.Errorf("contacts CSV:\n%s", csv)
			}
			if !strings.Contains(csv, ";+79991234567;") || !strings.Contains(csv, ";150000;") {
				t.Errorf("contacts CSV lacks lead 501's phone and budget:\n%s", csv)
			}

			if kind != "bolt" {
				return
			}
			want, _ := json.Marshal(rep["funnel"])
			s.stop()
			var out, errOut bytes.Buffer
			if code := run([]string{"analytics", "rebuild", "--bot", "lead-qualification", "--data", s.cfg.Data}, &out, &errOut); code != 0 {
				t.Fatalf("analytics rebuild: exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), "bot lead-qualification: rollups rebuilt from") {
				t.Fatalf("analytics rebuild said %q", out.String())
			}
			st, err := bolt.Open(s.cfg.Data, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(context.Background())
			day := time.Now().UTC().Format(time.DateOnly)
			from := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
			to := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
			docs, err := analytics.LoadDocs(context.Background(), st, "lead-qualification", from, to)
			if err != nil {
				t.Fatal(err)
			}
			r := analytics.Build(docs, analytics.Query{From: from, To: to}, nil)
			got, _ := json.Marshal(r.Funnel)
			var gv any
			json.Unmarshal(got, &gv)
			got, _ = json.Marshal(gv)
			if string(got) != string(want) || r.Started != 4 {
				t.Errorf("after rebuild (%s): started %d, funnel\n%s\nwant\n%s", day, r.Started, got, want)
			}
		})
	}
}

func getText(t *testing.T, s *stack, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
