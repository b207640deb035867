package webchat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/notify"
)

// Two hubs on one bus are two replicas: what one sends reaches a socket the
// other holds.
func TestSendReachesASocketHeldByAnotherReplica(t *testing.T) {
	bus := notify.NewLocal()
	a, b := newEnv(t, Options{}), newEnv(t, Options{})
	a.hub.UseBus(t.Context(), bus)
	b.hub.UseBus(t.Context(), bus)

	c := a.dial()
	sess := c.hello("", 0).Session
	msg := channel.Outbound{ID: "out-1", Bot: "demo", Chat: sess, Text: "Оператор на связи",
		Buttons: []engine.Button{{Label: "Спасибо", Payload: "thanks"}}}
	if _, err := b.hub.Send(t.Context(), msg); err != nil {
		t.Fatalf("send on the other replica: %v", err)
	}
	f := c.expect(TypeMessage)
	if f.ID != "out-1" || f.Text != "Оператор на связи" || len(f.Buttons) != 1 || f.Buttons[0].Payload != "thanks" {
		t.Fatalf("the socket on replica a got %+v", f)
	}
	// The runtime's resend of the same message shows nothing twice, and a
	// message sent by the holding replica itself comes once.
	if _, err := b.hub.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if _, err := a.hub.Send(t.Context(), channel.Outbound{ID: "out-2", Bot: "demo", Chat: sess, Text: "второе"}); err != nil {
		t.Fatal(err)
	}
	if f := c.expect(TypeMessage); f.ID != "out-2" || f.Seq != 2 {
		t.Fatalf("got %+v, want out-2 with seq 2 (out-1 once, out-2 once)", f)
	}
	c.quiet(100 * time.Millisecond)

	// A session no replica holds is not taken up by the others.
	other, err := NewSessionID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.Send(t.Context(), channel.Outbound{ID: "x", Bot: "demo", Chat: other, Text: "никому"}); err != nil {
		t.Fatal(err)
	}
	if st := a.hub.Stats(); st.Sessions != 1 {
		t.Fatalf("replica a keeps %d sessions, want 1: it took up a session it does not hold", st.Sessions)
	}
}

// failingBus refuses every publish.
type failingBus struct{ notify.Bus }

func (failingBus) Publish(context.Context, string, []byte) error { return errors.New("store down") }

func TestSendFailsRetryablyWhenNeitherASocketHereNorTheBusTakesIt(t *testing.T) {
	e := newEnv(t, Options{})
	e.hub.UseBus(t.Context(), failingBus{notify.NewLocal()})
	nobody, err := NewSessionID()
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.hub.Send(t.Context(), channel.Outbound{ID: "1", Bot: "demo", Chat: nobody, Text: "hi"})
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("send with no socket here and a failing bus: %v, want a retryable SendError", err)
	}

	c := e.dial()
	sess := c.hello("", 0).Session
	if _, err := e.hub.Send(t.Context(), channel.Outbound{ID: "2", Bot: "demo", Chat: sess, Text: "hi"}); err != nil {
		t.Fatalf("send to a socket held here with a failing bus: %v", err)
	}
	if f := c.expect(TypeMessage); f.ID != "2" {
		t.Fatalf("got %+v", f)
	}
}
