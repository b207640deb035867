package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzSession: a connection that sends any sequence of frames (one per
// line of the input) gets only well-formed frames back, hands the handler
// only well-formed messages, and ends cleanly when it closes, leaving no
// connection counted.
func FuzzSession(f *testing.F) {
	sid, _ := NewSessionID()
	for _, s := range []string{
		`{"type":"hello","bot":"demo","protocol":1}` + "\n" + `{"type":"text","id":"1","text":"hi"}` + "\n" + `{"type":"press","id":"2","payload":"p","label":"Yes"}`,
		`{"type":"hello","session":"` + sid + `","bot":"demo","profile":{"first_name":"A"},"last_seen":3}` + "\n" + `{"type":"ping"}`,
		`{"type":"text","id":"1","text":"before hello"}`,
		`{"type":"hello"}` + "\n" + `{"type":"hello"}` + "\n" + `{"type":"text","id":"1","text":"` + strings.Repeat("x", 5000) + `"}`,
		`{"type":"hello","bot":"other"}`, `{"type":"hello","protocol":99}`, "{\n[]\nnull\n\xff", `{"type":"text","id":"","text":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		h := New(rec, quietLogger(), nil, Options{})
		conn := newPipeConn()
		done := make(chan error, 1)
		go func() { done <- h.Serve(context.Background(), conn, "demo") }()
	feed:
		for _, line := range bytes.Split(data, []byte("\n")) {
			select {
			case conn.in <- line:
			case <-conn.closed:
				break feed
			case <-time.After(5 * time.Second):
				t.Fatalf("the hub stopped reading frames: %q", data)
			}
		}
		// Let the hub answer what it read, then hang up.
		deadline := time.Now().Add(2 * time.Second)
		for len(conn.in) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		conn.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Serve did not end after the connection closed: %q", data)
		}
		for len(conn.out) > 0 {
			b := <-conn.out
			var fr ServerFrame
			if err := json.Unmarshal(b, &fr); err != nil {
				t.Fatalf("the hub wrote %q, not a frame: %v", b, err)
			}
			switch fr.Type {
			case TypeWelcome, TypeMessage, TypeAck, TypeError, TypePong, TypeTyping:
			default:
				t.Fatalf("the hub wrote a frame of type %q: %s", fr.Type, b)
			}
		}
		for _, in := range rec.inbound() {
			if in.Bot != "demo" || in.Channel != "web" || in.Chat == "" || in.UpdateID == "" || in.Time.IsZero() {
				t.Fatalf("the handler got %+v from %q", in, data)
			}
		}
		if st := h.Stats(); st.Connections != 0 {
			t.Fatalf("%d connections counted after the only one closed", st.Connections)
		}
	})
}
