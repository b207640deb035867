package webchat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

func TestHelloWelcomesWithNewSession(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	w := c.hello("", 0)
	if !ValidSessionID(w.Session) || w.V != ProtocolVersion {
		t.Fatalf("welcome = %+v, want a new session id and v%d", w, ProtocolVersion)
	}
	c2 := e.dial()
	if w2 := c2.hello("", 0); w2.Session == w.Session {
		t.Fatalf("two new clients got the same session %q", w.Session)
	}
	// Resuming keeps the id.
	c3 := e.dial()
	if w3 := c3.hello(w.Session, 0); w3.Session != w.Session {
		t.Fatalf("resume got session %q, want %q", w3.Session, w.Session)
	}
	if st := e.hub.Stats(); st.Sessions != 2 || st.Connections != 3 {
		t.Fatalf("stats = %+v, want 2 sessions, 3 connections", st)
	}
}

func TestTextReachesHandlerAndIsAckedAfterHandle(t *testing.T) {
	e := newEnv(t, DefaultOptions)
	var returned atomic.Bool
	entered := make(chan struct{})
	release := make(chan struct{})
	e.rec.setHook(func(ctx context.Context, in channel.Inbound) error {
		close(entered)
		<-release
		returned.Store(true)
		return nil
	})
	c := e.dial()
	sess := c.hello("", 0).Session
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "Привет"})
	<-entered
	c.quiet(100 * time.Millisecond) // Handle has not returned: no ack yet
	close(release)
	ack := c.expect(TypeAck)
	if ack.ID != "m1" || !returned.Load() {
		t.Fatalf("ack = %+v (handler returned: %v)", ack, returned.Load())
	}
	got := e.rec.inbound()
	if len(got) != 1 {
		t.Fatalf("handler got %d updates", len(got))
	}
	in := got[0]
	want := channel.Inbound{
		Bot: "demo", Channel: "web", Chat: sess, UpdateID: "web:" + sess + ":m1",
		Kind: channel.KindText, Text: "Привет", Time: epoch,
		Contact: engine.Contact{FirstName: "Анна", Language: "ru", Channel: "web"},
	}
	if in != want {
		t.Fatalf("inbound = %+v\nwant      %+v", in, want)
	}
}

func TestPressReachesHandler(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	sess := c.hello("", 0).Session
	c.send(`{"type":"press","id":"p1","payload":"price","label":"Цены"}`)
	c.expect(TypeAck)
	in := e.rec.inbound()[0]
	if in.Kind != channel.KindPress || in.Payload != "price" || in.Text != "Цены" || in.UpdateID != "web:"+sess+":p1" {
		t.Fatalf("inbound = %+v", in)
	}
}

func TestHandlerErrorGivesErrorFrameAndNoAck(t *testing.T) {
	e := newEnv(t, Options{})
	fail := atomic.Bool{}
	fail.Store(true)
	e.rec.setHook(func(context.Context, channel.Inbound) error {
		if fail.Load() {
			return errors.New("store down")
		}
		return nil
	})
	c := e.dial()
	c.hello("", 0)
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "hi"})
	f := c.expect(TypeError)
	if f.Code != CodeFailed || f.ID != "m1" || strings.Contains(f.Message, "store down") {
		t.Fatalf("error frame = %+v: want handler_failed for m1 without internals", f)
	}
	// The client resends with the same id; now it is recorded and acked,
	// and the runtime sees the same update id both times.
	fail.Store(false)
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "hi"})
	if f := c.expect(TypeAck); f.ID != "m1" {
		t.Fatalf("ack = %+v", f)
	}
	got := e.rec.inbound()
	if len(got) != 2 || got[0].UpdateID != got[1].UpdateID {
		t.Fatalf("update ids = %+v", got)
	}
}

func TestSendReachesEveryTabWithIncreasingSeq(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.dial()
	sess := a.hello("", 0).Session
	b := e.dial()
	b.hello(sess, 0)
	other := e.dial()
	other.hello("", 0)

	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		sent, err := e.hub.Send(ctx, channel.Outbound{ID: fmt.Sprintf("o%d", i), Chat: sess, Text: fmt.Sprintf("msg %d", i),
			Buttons: []engine.Button{{Label: "Да", Payload: "yes"}}})
		if err != nil || sent.PlatformID != fmt.Sprint(i) {
			t.Fatalf("send %d: %+v, %v", i, sent, err)
		}
	}
	for _, c := range []*wsClient{a, b} {
		for i := 1; i <= 3; i++ {
			f := c.expect(TypeMessage)
			if f.Seq != uint64(i) || f.ID != fmt.Sprintf("o%d", i) || f.Text != fmt.Sprintf("msg %d", i) ||
				len(f.Buttons) != 1 || f.Buttons[0] != (Button{Label: "Да", Payload: "yes"}) {
				t.Fatalf("frame %d = %+v", i, f)
			}
		}
	}
	other.quiet(50 * time.Millisecond)
}

func TestHandlerSetLater(t *testing.T) {
	h := New(nil, quietLogger(), nil, Options{})
	conn := newPipeConn()
	go h.Serve(context.Background(), conn, "demo")
	defer conn.Close()
	conn.in <- []byte(`{"type":"hello"}`)
	conn.next(t)
	conn.in <- []byte(`{"type":"text","id":"1","text":"hi"}`)
	if f := conn.next(t); f.Type != TypeError || f.Code != CodeFailed || f.ID != "1" {
		t.Fatalf("without a handler: %+v, want a retryable error", f)
	}
	rec := &recorder{}
	h.SetHandler(rec)
	conn.in <- []byte(`{"type":"text","id":"1","text":"hi"}`)
	if f := conn.next(t); f.Type != TypeAck {
		t.Fatalf("after SetHandler: %+v, want ack", f)
	}
	if len(rec.inbound()) != 1 {
		t.Fatal("the handler set later got nothing")
	}
}

func TestSendChecksTheBot(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	sess := c.hello("", 0).Session
	if _, err := e.hub.Send(context.Background(), channel.Outbound{Bot: "demo", Chat: sess, Text: "ok"}); err != nil {
		t.Fatal(err)
	}
	c.expect(TypeMessage)
	_, err := e.hub.Send(context.Background(), channel.Outbound{Bot: "shop", Chat: sess, Text: "misrouted"})
	if se := channel.AsSendError(err); err == nil || se.Retryable {
		t.Fatalf("send as another bot: %v, want a final SendError", err)
	}
	c.quiet(50 * time.Millisecond)
	// A session first seen through Send (after a restart) takes the bot
	// from it, and a hello for another bot then starts afresh.
	id, _ := NewSessionID()
	e.hub.Send(context.Background(), channel.Outbound{Bot: "shop", Chat: id, Text: "x"})
	if w := e.dial().hello(id, 0); w.Session == id {
		t.Fatal("a demo client resumed a shop session")
	}
}

func TestSendDeduplicatesByMessageID(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	sess := c.hello("", 0).Session
	ctx := context.Background()
	s1, _ := e.hub.Send(ctx, channel.Outbound{ID: "o1", Chat: sess, Text: "one"})
	s2, _ := e.hub.Send(ctx, channel.Outbound{ID: "o1", Chat: sess, Text: "one"})
	if s1 != s2 {
		t.Fatalf("resend got %+v, first %+v", s2, s1)
	}
	c.expect(TypeMessage)
	c.quiet(50 * time.Millisecond)
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.hub.Send(context.Background(), channel.Outbound{Chat: "12345", Text: "x"})
	if se := channel.AsSendError(err); err == nil || se.Retryable {
		t.Fatalf("send to a non-session chat: %v, want a final SendError", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	id, _ := NewSessionID()
	_, err = e.hub.Send(ctx, channel.Outbound{Chat: id, Text: "x"})
	if se := channel.AsSendError(err); err == nil || !se.Retryable {
		t.Fatalf("send with a done context: %v, want a retryable SendError", err)
	}
}

func TestReconnectReplaysMissedMessages(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	a := e.dial()
	sess := a.hello("", 0).Session
	e.hub.Send(ctx, channel.Outbound{ID: "o1", Chat: sess, Text: "one"})
	if f := a.expect(TypeMessage); f.Seq != 1 {
		t.Fatalf("first = %+v", f)
	}
	a.conn.Close()
	waitFor(t, func() bool { return e.hub.Stats().Connections == 0 })

	// No connection: Send still succeeds and the message waits.
	for i := 2; i <= 3; i++ {
		if _, err := e.hub.Send(ctx, channel.Outbound{ID: fmt.Sprintf("o%d", i), Chat: sess, Text: "later"}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.dial()
	if w := b.hello(sess, 1); w.Session != sess || w.Seq != 3 {
		t.Fatalf("welcome = %+v", w)
	}
	for i := 2; i <= 3; i++ {
		if f := b.expect(TypeMessage); f.Seq != uint64(i) || f.ID != fmt.Sprintf("o%d", i) {
			t.Fatalf("replay = %+v, want seq %d", f, i)
		}
	}
	b.quiet(50 * time.Millisecond)
}

func TestBacklogIsBounded(t *testing.T) {
	e := newEnv(t, Options{Backlog: 5})
	id, _ := NewSessionID()
	for i := 1; i <= 12; i++ {
		e.hub.Send(context.Background(), channel.Outbound{ID: fmt.Sprint(i), Chat: id, Text: "x"})
	}
	c := e.dial()
	c.hello(id, 0)
	for i := 8; i <= 12; i++ {
		if f := c.expect(TypeMessage); f.Seq != uint64(i) {
			t.Fatalf("replay = %+v, want seq %d", f, i)
		}
	}
	c.quiet(50 * time.Millisecond)
}

func TestResumeAfterRestartRenumbersAfterLastSeen(t *testing.T) {
	e := newEnv(t, Options{}) // a fresh hub: as after a restart
	id, _ := NewSessionID()
	// A delayed message the runtime sends before the person is back.
	e.hub.Send(context.Background(), channel.Outbound{ID: "late", Chat: id, Text: "Вы ещё здесь?"})
	c := e.dial()
	if w := c.hello(id, 41); w.Session != id || w.Seq != 42 {
		t.Fatalf("welcome = %+v, want the same session at seq 42", w)
	}
	if f := c.expect(TypeMessage); f.ID != "late" || f.Seq != 42 {
		t.Fatalf("replay = %+v, want the late message as seq 42", f)
	}
	e.hub.Send(context.Background(), channel.Outbound{ID: "next", Chat: id, Text: "x"})
	if f := c.expect(TypeMessage); f.Seq != 43 {
		t.Fatalf("next = %+v, want seq 43", f)
	}
}

func TestMalformedFramesGetErrorsAndConnectionStays(t *testing.T) {
	e := newEnv(t, Options{FrameBurst: 100})
	c := e.dial()
	c.hello("", 0)
	for _, bad := range []string{
		`{"type":"text","id":"m1","text":`,
		`[1,2,3]`,
		`{"type":"dance"}`,
		`{"id":"x"}`,
		`{"type":"text","text":"no id"}`,
		`{"type":"text","id":"m2","text":"   "}`,
		`{"type":"press","id":"p1","payload":""}`,
		`{"type":"text","id":"m3","text":42}`,
		"\x00\xff",
	} {
		c.send(bad)
		if f := c.expect(TypeError); f.Code != CodeBadFrame {
			t.Fatalf("%q: error frame %+v, want bad_frame", bad, f)
		}
	}
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	c.expect(TypeError)
	c.send(`{"type":"ping"}`)
	c.expect(TypePong)
	c.send(ClientFrame{Type: TypeText, ID: "ok", Text: "still here"})
	c.expect(TypeAck)
	if n := len(e.rec.inbound()); n != 1 {
		t.Fatalf("handler got %d updates, want only the good one", n)
	}
}

func TestTextBeforeHelloIsRefused(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	c.send(`{"type":"ping"}`)
	c.expect(TypePong)
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "hi"})
	if f := c.expect(TypeError); f.Code != CodeNoHello || f.ID != "m1" {
		t.Fatalf("error = %+v", f)
	}
	c.hello("", 0)
	c.send(ClientFrame{Type: TypeHello, Bot: "demo"})
	c.expect(TypeError) // a second hello
}

func TestBadHelloClosesConnection(t *testing.T) {
	e := newEnv(t, Options{})
	for _, hello := range []string{
		`{"type":"hello","bot":"other"}`,                   // the route says demo
		`{"type":"hello","bot":"demo","session":"../etc"}`, // not an id we hand out
	} {
		c := e.dial()
		c.send(hello)
		if f := c.expect(TypeError); f.Code != CodeBadHello {
			t.Fatalf("%s: error = %+v", hello, f)
		}
		if err := c.closed(); !isClose(err, 1008) {
			t.Fatalf("%s: close = %v, want 1008", hello, err)
		}
		if err := <-e.served; !errors.Is(err, ErrBadHello) {
			t.Fatalf("Serve returned %v, want ErrBadHello", err)
		}
	}
}

func TestBotFromHelloWhenRouteHasNone(t *testing.T) {
	e := newEnv(t, Options{})
	c := dialURL(t, strings.TrimSuffix(e.url, "?bot=demo"))
	c.send(`{"type":"hello","bot":"shop"}`)
	c.expect(TypeWelcome)
	c.send(ClientFrame{Type: TypeText, ID: "1", Text: "x"})
	c.expect(TypeAck)
	if in := e.rec.inbound()[0]; in.Bot != "shop" {
		t.Fatalf("bot = %q", in.Bot)
	}
}

func TestSessionOfAnotherBotStartsAfresh(t *testing.T) {
	e := newEnv(t, Options{})
	c := dialURL(t, strings.TrimSuffix(e.url, "?bot=demo")+"?bot=shop")
	c.send(`{"type":"hello"}`)
	shop := c.expect(TypeWelcome).Session
	d := e.dial()
	if w := d.hello(shop, 3); w.Session == shop || w.Seq != 0 {
		t.Fatalf("a demo client resuming a shop session got %+v", w)
	}
}

func TestOversizedText(t *testing.T) {
	e := newEnv(t, Options{MaxTextBytes: 4096})
	c := e.dial()
	c.hello("", 0)
	c.send(ClientFrame{Type: TypeText, ID: "big", Text: strings.Repeat("я", 2049)}) // 4098 bytes
	if f := c.expect(TypeError); f.Code != CodeTooLarge || f.ID != "big" {
		t.Fatalf("error = %+v, want too_large for big", f)
	}
	c.send(ClientFrame{Type: TypeText, ID: "fits", Text: strings.Repeat("я", 2048)})
	c.expect(TypeAck)
}

func TestOversizedFrameClosesConnection(t *testing.T) {
	e := newEnv(t, Options{MaxFrameBytes: 16 << 10})
	c := e.dial()
	c.hello("", 0)
	// The server may cut the connection while the frame is still being
	// written, so the write itself may fail with a reset.
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"text","id":"huge","text":"`+strings.Repeat("x", 20<<10)+`"}`))
	err := c.closed()
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("close = %v, want 1009", err)
	}
	if n := len(e.rec.inbound()); n != 0 {
		t.Fatalf("handler got %d updates", n)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Options{FramesPerSecond: 1, FrameBurst: 3})
	c := e.dial()
	c.hello("", 0) // takes a token
	c.send(`{"type":"ping"}`)
	c.expect(TypePong)
	c.send(ClientFrame{Type: TypeText, ID: "a", Text: "x"})
	c.expect(TypeAck)
	c.send(ClientFrame{Type: TypeText, ID: "b", Text: "x"})
	if f := c.expect(TypeError); f.Code != CodeRateLimited || f.ID != "b" {
		t.Fatalf("error = %+v, want rate_limited for b", f)
	}
	e.clock.Advance(time.Second)
	c.send(ClientFrame{Type: TypeText, ID: "b", Text: "x"})
	c.expect(TypeAck)

	// Binary frames count against the rate too.
	e.clock.Advance(time.Second)
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if f := c.expect(TypeError); f.Code != CodeBadFrame {
		t.Fatalf("binary frame: %+v, want bad_frame", f)
	}
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if f := c.expect(TypeError); f.Code != CodeRateLimited {
		t.Fatalf("binary over the rate: %+v, want rate_limited", f)
	}

	// A client that keeps hammering is cut off.
	for i := 0; i < 20; i++ {
		if c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)) != nil {
			break // already cut off
		}
	}
	if err := c.closed(); !isClose(err, 1013) {
		t.Fatalf("close = %v, want 1013", err)
	}
	if err := <-e.served; !errors.Is(err, ErrFlood) {
		t.Fatalf("Serve returned %v, want ErrFlood", err)
	}
}

func TestIdleAndHelloTimeouts(t *testing.T) {
	e := newEnv(t, Options{HelloTimeout: 100 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	silent := e.dial()
	silent.closed()
	if err := <-e.served; !errors.Is(err, ErrBadHello) {
		t.Fatalf("Serve returned %v, want ErrBadHello", err)
	}
	idle := e.dial()
	idle.hello("", 0)
	idle.closed()
	if err := <-e.served; err != nil {
		t.Fatalf("Serve returned %v after an idle client, want nil", err)
	}
}

func TestContextCancelEndsServe(t *testing.T) {
	h := New(&recorder{}, quietLogger(), nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	conn := newPipeConn()
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, conn, "demo") }()
	conn.in <- []byte(`{"type":"hello"}`)
	if f := conn.next(t); f.Type != TypeWelcome {
		t.Fatalf("frame = %+v", f)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if st := h.Stats(); st.Connections != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// A client that stops reading fills its socket, then its queue, and is
// dropped; Send never waits for it and other sessions keep flowing.
func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t, Options{Backlog: 4, QueueFrames: 4, WriteTimeout: 5 * time.Second})
	slow := e.dial()
	slowSess := slow.hello("", 0).Session
	fast := e.dial()
	fastSess := fast.hello("", 0).Session
	// The slow client's reader stops taking frames: its channel fills and
	// the reader goroutine blocks, so the socket fills behind it.
	for len(slow.frames) < cap(slow.frames) {
		slow.frames <- ServerFrame{}
	}

	big := strings.Repeat("ж", 32<<10) // 64 KB a message
	ctx := context.Background()
	start := time.Now()
	var worst time.Duration
	for i := 0; i < 400 && e.hub.Stats().Connections == 2; i++ {
		t0 := time.Now()
		if _, err := e.hub.Send(ctx, channel.Outbound{Chat: slowSess, Text: big}); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
		if i%50 == 0 {
			e.hub.Send(ctx, channel.Outbound{ID: fmt.Sprint(i), Chat: fastSess, Text: "ping"})
			if f := fast.expect(TypeMessage); f.ID != fmt.Sprint(i) {
				t.Fatalf("fast client got %+v", f)
			}
		}
	}
	waitFor(t, func() bool { return e.hub.Stats().Connections == 1 })
	if err := <-e.served; !errors.Is(err, ErrSlowClient) {
		t.Fatalf("Serve returned %v, want ErrSlowClient", err)
	}
	if worst > time.Second { // far below the 5 s write timeout it would wait otherwise
		t.Fatalf("a Send took %v: it waited for the slow client", worst)
	}
	t.Logf("slow client dropped after %v; slowest Send %v", time.Since(start), worst)
	e.hub.Send(ctx, channel.Outbound{ID: "after", Chat: fastSess, Text: "ping"})
	if f := fast.expect(TypeMessage); f.ID != "after" {
		t.Fatalf("fast client got %+v", f)
	}
}

func TestHandlerMaySendBeforeAck(t *testing.T) {
	e := newEnv(t, Options{})
	e.rec.setHook(func(ctx context.Context, in channel.Inbound) error {
		_, err := e.hub.Send(ctx, channel.Outbound{ID: "r-" + in.UpdateID, Chat: in.Chat, Text: "echo: " + in.Text})
		return err
	})
	c := e.dial()
	c.hello("", 0)
	c.send(ClientFrame{Type: TypeText, ID: "1", Text: "hi"})
	if f := c.expect(TypeMessage); f.Text != "echo: hi" {
		t.Fatalf("got %+v", f)
	}
	c.expect(TypeAck)
}

func TestSessionsExpire(t *testing.T) {
	e := newEnv(t, Options{SessionTTL: time.Hour})
	id, _ := NewSessionID()
	e.hub.Send(context.Background(), channel.Outbound{Chat: id, Text: "x"})
	c := e.dial()
	live := c.hello("", 0).Session
	e.clock.Advance(2 * time.Hour)
	other, _ := NewSessionID()
	e.hub.Send(context.Background(), channel.Outbound{Chat: other, Text: "x"}) // triggers a sweep
	e.hub.mu.Lock()
	_, idle := e.hub.sessions[id]
	_, connected := e.hub.sessions[live]
	e.hub.mu.Unlock()
	if idle || !connected {
		t.Fatalf("after the TTL: idle session kept %v, connected session kept %v", idle, connected)
	}
}

func TestMaxSessions(t *testing.T) {
	h := New(&recorder{}, quietLogger(), &manualClock{now: epoch}, Options{MaxSessions: 100})
	for i := 0; i < 1000; i++ {
		id, _ := NewSessionID()
		h.Send(context.Background(), channel.Outbound{Chat: id, Text: "x"})
	}
	if n := h.Stats().Sessions; n > 100 {
		t.Fatalf("%d sessions kept, cap 100", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWelcomeNamesTheHandoffTextOfTheBot(t *testing.T) {
	var asked []string
	e := newEnv(t, Options{Handoff: func(ctx context.Context, bot string) string {
		asked = append(asked, bot)
		if bot == "demo" {
			return "оператор"
		}
		return ""
	}})
	c := e.dial()
	if w := c.hello("", 0); w.Handoff != "оператор" {
		t.Fatalf("welcome = %+v, want handoff %q", w, "оператор")
	}
	other := dialURL(t, strings.Replace(e.url, "bot=demo", "bot=shop", 1))
	other.send(ClientFrame{Type: TypeHello, Bot: "shop"})
	if w := other.expect(TypeWelcome); w.Handoff != "" {
		t.Fatalf("a bot without a handoff: welcome = %+v, want no handoff", w)
	}
	if len(asked) != 2 || asked[0] != "demo" || asked[1] != "shop" {
		t.Fatalf("Handoff asked about %v, want [demo shop]", asked)
	}
	// Without the option the welcome says nothing about a handoff (older
	// widgets and servers: the field is optional).
	plain := newEnv(t, Options{}).dial()
	if w := plain.hello("", 0); w.Handoff != "" {
		t.Fatalf("welcome without Options.Handoff = %+v", w)
	}
}

func TestMessagesCarryTheHubTime(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	sess := c.hello("", 0).Session
	e.clock.Advance(90 * time.Second)
	if _, err := e.hub.Send(context.Background(), channel.Outbound{ID: "o1", Chat: sess, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if f := c.expect(TypeMessage); f.At != epoch.Add(90*time.Second).UnixMilli() {
		t.Fatalf("message at %d, want %d", f.At, epoch.Add(90*time.Second).UnixMilli())
	}
	// A replay after a reconnect keeps the time the message was sent.
	e.clock.Advance(time.Hour)
	again := e.dial()
	again.hello(sess, 0)
	if f := again.expect(TypeMessage); f.At != epoch.Add(90*time.Second).UnixMilli() {
		t.Fatalf("replayed message at %d, want the original time", f.At)
	}
}

// TestHelloSourceReachesTheHandler: the widget's data-source and the
// page's UTM parameters, sent in the hello, go with every update of the
// connection (the runtime keeps the first on the contact).
func TestHelloSourceReachesTheHandler(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial()
	c.send(ClientFrame{Type: TypeHello, Bot: "demo",
		Profile: &Profile{FirstName: "Анна", Source: "landing_spring", UTM: "utm_source=vk&utm_campaign=spring"}})
	c.expect(TypeWelcome)
	c.send(ClientFrame{Type: TypeText, ID: "m1", Text: "Привет"})
	c.expect(TypeAck)
	got := e.rec.inbound()
	if len(got) != 1 || got[0].Source != "landing_spring" || got[0].UTM != "utm_source=vk&utm_campaign=spring" {
		t.Fatalf("inbound %+v, want the hello's source and UTM", got)
	}
	// A source longer than the protocol allows is cut, a UTM query is dropped.
	c2 := e.dial()
	c2.send(ClientFrame{Type: TypeHello, Bot: "demo", Profile: &Profile{Source: strings.Repeat("s", 500), UTM: "utm_x=" + strings.Repeat("u", 2000)}})
	c2.expect(TypeWelcome)
	c2.send(ClientFrame{Type: TypeText, ID: "m2", Text: "Привет"})
	c2.expect(TypeAck)
	got = e.rec.inbound()
	if last := got[len(got)-1]; len(last.Source) != maxSourceLen || last.UTM != "" {
		t.Fatalf("long source %d bytes, utm %q", len(last.Source), last.UTM)
	}
}
