package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

type flowList struct {
	Flows []flowSummary `json:"flows"`
}

func listOf(t *testing.T, c *client) map[string]flowSummary {
	t.Helper()
	code, body, _ := c.do("GET", "/api/bots/shop/flows", "", nil)
	if code != 200 {
		t.Fatalf("list flows: %d %s", code, body)
	}
	var l flowList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	out := map[string]flowSummary{}
	for _, f := range l.Flows {
		out[f.ID] = f
	}
	return out
}

// The list shows what was saved with each draft: its name and how many
// problems it had. It never parses a draft, so a hostile one stored
// earlier costs the list nothing.
func TestFlowListUsesTheSavedSummary(t *testing.T) {
	s, st := newTestServer(t)
	m := signIn(t, s, "mark", "password-mark")
	doc := "voronka: 1\nid: f\nname: Welcome funnel\nstart: a\nnodes:\n  a: {type: message, text: hi, next: nowhere}\n"
	if code, body, _ := m.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil); code != 200 {
		t.Fatalf("save draft: %d %s", code, body)
	}
	got := listOf(t, m)["f"]
	if !got.Draft || got.Name != "Welcome funnel" || got.Errors != 1 || !got.Running {
		t.Fatalf("list shows %+v, want the draft named Welcome funnel with 1 error", got)
	}

	// A draft stored with a summary that differs from its document: the
	// list shows the summary, so it did not read the document.
	ctx := context.Background()
	amp := "voronka: 1\nid: g\nname: From the document\nstart: a\nnodes:\n  a: {type: score, add: 1, tags: &t [" +
		strings.Repeat("t,", 60_000) + "t], next: b}\n"
	for i := 0; i < 1000; i++ {
		amp += fmt.Sprintf("  b%d: {type: score, add: 1, tags: *t, next: b%d}\n", i, i+1)
	}
	if err := st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "g", Doc: []byte(amp), UpdatedAt: time.Now(), Name: "Saved summary", Errors: 1}); err != nil {
		t.Fatal(err)
	}
	if got := listOf(t, m)["g"]; got.Name != "Saved summary" || got.Errors != 1 {
		t.Fatalf("list shows %+v, want the saved summary", got)
	}
	// Saving it through the API refuses nothing (a draft may have errors)
	// but records the expanded-size error rather than decoding it.
	code, body, _ := m.do("PUT", "/api/bots/shop/flows/g/draft", amp, nil)
	if code != 200 || !strings.Contains(body, "once its aliases (*name) are expanded") {
		t.Fatalf("save the amplified draft: %d %.300s", code, body)
	}
	if got := listOf(t, m)["g"]; got.Name != "" || got.Errors != 1 {
		t.Fatalf("list shows %+v after saving the amplified draft", got)
	}
}

func TestValidateRefusesAliasAmplification(t *testing.T) {
	s, _ := newTestServer(t)
	m := signIn(t, s, "mark", "password-mark")
	amp := "voronka: 1\nid: g\nstart: a\nnodes:\n  a: {type: score, add: 1, tags: &t [" + strings.Repeat("t,", 60_000) + "t], next: b0}\n"
	for i := 0; i < 1000; i++ {
		amp += fmt.Sprintf("  b%d: {type: score, add: 1, tags: *t, next: b%d}\n", i, i+1)
	}
	code, body, _ := m.do("POST", "/api/validate", amp, map[string]string{"Content-Type": "application/yaml"})
	var r struct {
		OK       bool          `json:"ok"`
		Problems []problemJSON `json:"problems"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 200 {
		t.Fatalf("validate: %d %.300s", code, body)
	}
	if r.OK || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "more than 500000 values once its aliases") || r.Problems[0].Line < 5 {
		t.Fatalf("problems %+v", r.Problems)
	}
}

func TestDeleteDraft(t *testing.T) {
	s, st := newTestServer(t)
	m := signIn(t, s, "mark", "password-mark")
	doc := "voronka: 1\nid: f\nname: Shop\nstart: a\nnodes:\n  a: {type: end, text: bye}\n"
	if code, body, _ := m.do("DELETE", "/api/bots/shop/flows/f/draft", "", nil); code != 404 {
		t.Fatalf("delete a missing draft: %d %s", code, body)
	}
	if code, body, _ := m.do("PUT", "/api/bots/shop/flows/f/draft", doc, nil); code != 200 {
		t.Fatalf("save: %d %s", code, body)
	}
	if code, body, _ := m.do("POST", "/api/bots/shop/flows/f/publish", "", nil); code != 201 {
		t.Fatalf("publish: %d %s", code, body)
	}
	if code, body, _ := m.do("PUT", "/api/bots/shop/flows/f/draft", strings.Replace(doc, "bye", "see you", 1), nil); code != 200 {
		t.Fatalf("save again: %d %s", code, body)
	}

	// Operators do not edit flows; a cookie without the CSRF token changes nothing.
	o := signIn(t, s, "olga", "password-olga")
	if code, _, _ := o.do("DELETE", "/api/bots/shop/flows/f/draft", "", nil); code != 403 {
		t.Fatalf("operator deletes a draft: %d", code)
	}
	noCSRF := &client{t: t, s: s, cookie: m.cookie}
	if code, _, _ := noCSRF.do("DELETE", "/api/bots/shop/flows/f/draft", "", nil); code != 403 {
		t.Fatalf("delete without the CSRF token: %d", code)
	}
	if code, _, _ := m.do("DELETE", "/api/bots/nobot/flows/f/draft", "", nil); code != 404 {
		t.Fatalf("delete a draft of an unknown bot: %d", code)
	}
	if code, _, _ := m.do("DELETE", "/api/bots/shop/flows/a~b/draft", "", nil); code != 400 {
		t.Fatalf("delete with a malformed flow id: %d", code)
	}

	if code, body, _ := m.do("DELETE", "/api/bots/shop/flows/f/draft", "", nil); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := m.do("GET", "/api/bots/shop/flows/f/draft", "", nil); code != 404 {
		t.Fatalf("the deleted draft still answers: %d", code)
	}
	if code, _, _ := m.do("DELETE", "/api/bots/shop/flows/f/draft", "", nil); code != 404 {
		t.Fatalf("delete twice: %d", code)
	}
	// The published version is untouched and the flow is still listed.
	v, err := st.LatestFlowVersion(context.Background(), "shop", "f")
	if err != nil || v.Version != 1 || !strings.Contains(string(v.Doc), "bye") {
		t.Fatalf("published version after deleting the draft: %+v %v", v, err)
	}
	if got := listOf(t, m)["f"]; got.Draft || got.Latest != 1 || got.Name != "Shop" {
		t.Fatalf("list after delete: %+v", got)
	}
}
