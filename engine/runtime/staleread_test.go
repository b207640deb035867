package runtime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
)

// heldReads lets a test hold one conversation read after the store
// answered it, so the answer is stale by the time the caller sees it.
type heldReads struct {
	store.Store
	mu      sync.Mutex
	armed   string        // the conversation whose next read is held
	held    chan struct{} // receives once the armed read has its answer
	release chan struct{}
}

func (s *heldReads) GetConversation(ctx context.Context, id string) (*store.Conversation, error) {
	c, err := s.Store.GetConversation(ctx, id)
	s.mu.Lock()
	hold := s.armed == id
	if hold {
		s.armed = ""
	}
	s.mu.Unlock()
	if hold {
		s.held <- struct{}{}
		<-s.release
	}
	return c, err
}

// A read of a conversation that returns after a step committed a newer
// version must not hide that step's reply from the sender. Here the read is
// a job's, and this process's lease lapses in between (the store was slow),
// which makes the process forget what it had cached: the old version read
// by the job was then cached in its place, the sender looked at it, found
// nothing of its own to send, and the reply to the second message stayed in
// the outbox until the chat wrote again.
func TestStaleReadDoesNotHideAReply(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		st := &heldReads{Store: open(t), held: make(chan struct{}), release: make(chan struct{})}
		const owner = "p-stale"
		h := newHarness(t, st, func(c *runtime.Config) {
			c.Options.Owner, c.Options.LeaseTTL, c.Options.Heartbeat = owner, 3*time.Second, time.Second
		})
		h.run(h.rt)
		ctx := context.Background()
		const chat = "620"
		id := store.ConversationID(bot, "telegram", chat)
		gate := make(chan struct{})
		h.snd.mu.Lock()
		h.snd.gate[chat] = gate
		h.snd.mu.Unlock()

		h.text(h.rt, chat, "u1", "hello") // its reply is held at the platform

		// A job reads the conversation; its answer is held.
		st.mu.Lock()
		st.armed = id
		st.mu.Unlock()
		job := store.Job{ID: id + ":resend:test", Kind: runtime.JobResend, Bot: bot, Target: id, DueAt: h.clock.Now()}
		if err := st.ScheduleJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		go func() {
			// The job loop may take the job first; either way it is run.
			if _, err := h.rt.RunDueJobs(ctx); err != nil {
				t.Errorf("run jobs: %v", err)
			}
		}()
		select {
		case <-st.held:
		case <-time.After(20 * time.Second):
			t.Fatal("the job never read the conversation")
		}

		h.text(h.rt, chat, "u2", "Ask") // a newer version, with its reply

		// The lease lapses and is renewed: the process forgets its cache.
		h.clock.Advance(5 * time.Second)
		eventually(t, "the lapsed lease to be renewed", nil, func() bool {
			l, err := st.GetLease(ctx, owner)
			return err == nil && l.Until.After(h.clock.Now())
		})

		close(st.release)
		eventually(t, "the job to finish", nil, func() bool { return h.jobStatus(job.ID) == store.JobDone })
		close(gate)
		h.waitTexts(chat, "Hi Anna", "Your name?")
		if d := h.snd.duplicates(); len(d) > 0 {
			t.Errorf("sent twice: %v", d)
		}
	})
}
