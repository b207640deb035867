package fakekit

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// baseFake is the least a fake built on Base is: one API route that
// records a message per chat.
type baseFake struct{ Base[string] }

func (f *baseFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Front(w, r, func(w http.ResponseWriter, code int) { http.Error(w, "injected", code) }) {
		return
	}
	f.Records.Add(r.URL.Query().Get("chat"), r.URL.Query().Get("text"))
	_, _ = w.Write([]byte("ok"))
}

// Every fake built on Base answers the shared control routes over its
// records, lets an injected fault answer before its API, and counts only
// the calls that reached the API.
func TestBaseSharedRoutes(t *testing.T) {
	f := &baseFake{}
	f.Init(BaseOptions{Component: "test", ChatParam: "to", Stats: func() any { return map[string]int64{"requests": f.Requests.Load()} }})
	base, err := f.Serve("", f)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	call := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	call("GET", "/api?chat=a&text=one")
	call("GET", "/api?chat=b&text=two")
	f.Faults().FailLater(0, 1, 500, nil)
	if st, _ := call("GET", "/api?chat=a&text=lost"); st != 500 {
		t.Fatalf("injected fault answered %d", st)
	}
	for _, c := range []struct{ path, want string }{
		{"/_fake/sent?to=a", `["one"]`},
		{"/_fake/sent", `["one","two"]`},
		{"/_fake/sent/wait?to=b&n=1&timeout=1s", `["two"]`},
		{"/_fake/stats", `{"requests":2}`},
	} {
		if st, body := call("GET", c.path); st != 200 || body != c.want {
			t.Errorf("GET %s = %d %s, want %s", c.path, st, body, c.want)
		}
	}
	if st, body := call("GET", "/_fake/sent/wait?to=b&n=2&timeout=50ms"); st != http.StatusRequestTimeout {
		t.Errorf("wait past the records = %d %s, want 408", st, body)
	}
	if st, _ := call("DELETE", "/_fake/sent"); st != 200 || len(f.AllSent()) != 0 {
		t.Fatalf("DELETE /_fake/sent = %d, %d records left", st, len(f.AllSent()))
	}
	var deliveries []Delivery
	if st, body := call("GET", "/_fake/deliveries"); st != 200 || json.Unmarshal([]byte(body), &deliveries) != nil {
		t.Fatalf("deliveries route = %d %s", st, body)
	}
}
