package runtime_test

import (
	"context"
	"slices"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

// A message whose reply has to wait behind the chat's previous reply (the
// platform is slow to take that one) is in the transcript as soon as it is
// handled: on MongoDB a step's lines ride with its reply only when that
// reply goes out next, so a backlog neither holds the transcript back nor
// grows the conversation document. Once the platform answers, everything
// is there once: both messages, both replies, their events.
func TestMessageQueuedBehindAReplyIsInTheTranscriptAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		const chat = "610"
		gate := make(chan struct{})
		h.snd.mu.Lock()
		h.snd.gate[chat] = gate
		h.snd.mu.Unlock()
		ctx := context.Background()
		id := store.ConversationID(bot, "telegram", chat)
		inbound := func() []string {
			lines, _, err := h.st.ListMessages(ctx, id, "", store.MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			var in []string
			for _, l := range lines {
				if l.Direction == store.DirectionIn {
					in = append(in, l.Text)
				}
			}
			return in
		}

		h.text(h.rt, chat, "u1", "hello") // its reply is held at the platform
		h.text(h.rt, chat, "u2", "Ask")   // its reply waits behind that one
		if in := inbound(); !slices.Contains(in, "Ask") {
			t.Errorf("transcript while the first reply is held: inbound %q, want the second message there", in)
		}
		if n := h.snd.total(); n != 0 {
			t.Fatalf("%d sends went through the closed gate", n)
		}

		close(gate)
		h.waitTexts(chat, "Hi Anna", "Your name?")
		h.settle(h.rt)
		if in := inbound(); !slices.Equal(in, []string{"hello", "Ask"}) {
			t.Errorf("inbound lines %q, want each message once", in)
		}
		lines, _, err := h.st.ListMessages(ctx, id, "", store.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range lines {
			if l.Direction != store.DirectionIn {
				out = append(out, l.Text)
			}
		}
		if !slices.Equal(out, []string{"Hi Anna", "Your name?"}) {
			t.Errorf("reply lines %q, want each reply once", out)
		}
		if n := len(h.events("message_in")); n != 2 {
			t.Errorf("%d message_in events, want 2", n)
		}
		if n := len(h.events("sent")); n != 2 {
			t.Errorf("%d sent events, want 2", n)
		}
	})
}
