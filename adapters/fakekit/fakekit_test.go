package fakekit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// A webhook that fails is retried on the schedule, one update in flight per
// chat, and the chat's next update waits for the first.
func TestDelivererRetriesInOrderPerChat(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var got []string
	fail := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b.Text)
		if b.Text == "one" && fail > 0 {
			fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	d := NewDeliverer(DelivererOptions{Clock: clock})
	defer d.Close()
	d.SetURL(srv.URL)
	one := d.Enqueue("chat1", []byte(`{"text":"one"}`), nil)
	two := d.Enqueue("chat1", []byte(`{"text":"two"}`), nil)
	// First attempt, then an immediate retry; the third waits 2 s on the clock.
	if _, err := d.Wait(ctx(t), one, func(x Delivery) bool { return x.Failures == 2 }); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Get(two); st.Attempts != 0 {
		t.Fatalf("second update attempted while the first was failing: %+v", st)
	}
	clock.Advance(2 * time.Second)
	for _, id := range []int64{one, two} {
		st, err := d.WaitDone(ctx(t), id)
		if err != nil || st.State != DeliveryDelivered || string(st.Reply) != "ok" {
			t.Fatalf("delivery %d = %+v, %v", id, st, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "one,one,one,two" {
		t.Fatalf("webhook saw %v", got)
	}
}

func TestDelivererExpiresAndWaitsForURL(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	d := NewDeliverer(DelivererOptions{Clock: clock, TTL: time.Hour})
	defer d.Close()
	id := d.Enqueue("c", []byte(`{}`), nil)
	clock.Advance(2 * time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	d.SetURL(srv.URL)
	st, err := d.WaitDone(ctx(t), id)
	if err != nil || st.State != DeliveryExpired || st.Attempts != 0 {
		t.Fatalf("an update past its TTL = %+v, %v; want expired unattempted", st, err)
	}
}

func TestFaultsFailNextThenServe(t *testing.T) {
	var f Faults
	f.FailNext(2, 130429, nil)
	write := func(w http.ResponseWriter, code int) { w.WriteHeader(400); _, _ = w.Write([]byte{byte(code % 256)}) }
	served := 0
	for range 4 {
		rec := httptest.NewRecorder()
		if !f.Serve(rec, httptest.NewRequest("POST", "/x", nil), nil, write) {
			served++
		}
	}
	if served != 2 {
		t.Fatalf("served %d of 4 calls after FailNext(2): want 2", served)
	}
	if _, hits := f.Outage(); hits != 2 {
		t.Fatalf("hits = %d", hits)
	}
}

func TestLimiterPerChatAndGlobal(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	l := NewLimiter(clock, Rate{PerSecond: 3, Burst: 3}, Rate{PerSecond: 1, Burst: 1})
	if l.Allow("a") != 0 || l.Allow("a") == 0 {
		t.Fatal("per-chat burst of 1 not enforced")
	}
	if l.Allow("b") != 0 || l.Allow("c") != 0 || l.Allow("d") == 0 {
		t.Fatal("global burst of 3 not enforced")
	}
	clock.Advance(time.Second)
	if w := l.Allow("a"); w != 0 {
		t.Fatalf("after a second chat a waits %d", w)
	}
}

func TestRecordsWaitWakesOnItsChat(t *testing.T) {
	r := NewRecords[string]()
	done := make(chan []string)
	go func() {
		got, _ := r.Wait(ctx(t), "42", 2)
		done <- got
	}()
	r.Add("42", "a")
	r.Add("7", "x")
	r.Add("42", "b")
	if got := <-done; strings.Join(got, "") != "ab" {
		t.Fatalf("Wait = %v", got)
	}
}

// A load run waits for every reply with WaitCount; it must count a chat's
// records without copying them, since they grow with the run.
func TestRecordsWaitCountCountsWithoutCopying(t *testing.T) {
	r := NewRecords[string]()
	done := make(chan int)
	go func() {
		n, err := r.WaitCount(ctx(t), "42", 2)
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	r.Add("42", "a")
	r.Add("7", "x")
	r.Add("42", "b")
	if n := <-done; n != 2 {
		t.Fatalf("WaitCount = %d, want 2", n)
	}
	for range 1000 {
		r.Add("42", "more")
	}
	c := ctx(t)
	if a := testing.AllocsPerRun(100, func() { _, _ = r.WaitCount(c, "42", 2) }); a != 0 {
		t.Fatalf("WaitCount allocates %.0f times per call, want none", a)
	}
	if n, _ := r.WaitCount(ctx(t), "42", 2); n != 1002 {
		t.Fatalf("WaitCount = %d, want all 1002", n)
	}
	r.Close()
	if _, err := r.WaitCount(ctx(t), "7", 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitCount after Close = %v, want ErrClosed", err)
	}
}

func TestControlRoutes(t *testing.T) {
	var f Faults
	clock := NewManualClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	c := NewControl(&f, clock, nil)
	post := func(path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("POST", "/_fake/"+path, strings.NewReader(body)))
		return rec
	}
	if rec := post("fail", `{"n":1}`); rec.Code != 400 {
		t.Fatalf("fail without a code = %d", rec.Code)
	}
	if rec := post("outage", `{"mode":"hang"}`); rec.Code != 200 {
		t.Fatalf("outage = %d %s", rec.Code, rec.Body)
	}
	if k, _ := f.Outage(); k != OutageHang {
		t.Fatalf("outage = %q", k)
	}
	post("reset", "")
	if k, _ := f.Outage(); k != OutageNone {
		t.Fatalf("after reset outage = %q", k)
	}
	post("clock/advance", `{"seconds":90}`)
	if got := clock.Now().Minute(); got != 1 {
		t.Fatalf("clock minute = %d", got)
	}
	if rec := post("nope", ""); rec.Code != 404 {
		t.Fatalf("unknown route = %d", rec.Code)
	}
}
