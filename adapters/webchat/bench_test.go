package webchat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/engine/channel"
)

// echoHandler answers every inbound through the hub, as a runtime that
// sends right after persisting would.
type echoHandler struct{ hub *Hub }

func (e *echoHandler) Handle(ctx context.Context, in channel.Inbound) error {
	_, err := e.hub.Send(ctx, channel.Outbound{ID: "r:" + in.UpdateID, Chat: in.Chat, Text: in.Text})
	return err
}

// BenchmarkRoundTrip: one text frame → Handle → Send back → the message
// and the ack received, over a loopback WebSocket.
func BenchmarkRoundTrip(b *testing.B) {
	eh := &echoHandler{}
	eh.hub = New(eh, quietLogger(), nil, Options{FramesPerSecond: 1e9, FrameBurst: 1 << 30})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		eh.hub.Serve(ctx, conn, "bench")
	}))
	defer srv.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	read := func() ServerFrame {
		_, data, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		var f ServerFrame
		if err := json.Unmarshal(data, &f); err != nil {
			b.Fatal(err)
		}
		return f
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
	if f := read(); f.Type != TypeWelcome {
		b.Fatalf("got %+v", f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := strconv.Itoa(i)
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"text","id":"`+id+`","text":"Привет, сколько стоит доставка?"}`)); err != nil {
			b.Fatal(err)
		}
		if f := read(); f.Type != TypeMessage {
			b.Fatalf("got %+v, want the reply", f)
		}
		if f := read(); f.Type != TypeAck || f.ID != id {
			b.Fatalf("got %+v, want ack %s", f, id)
		}
	}
}
