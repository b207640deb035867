package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

// countingStore counts the writes the runtime makes.
type countingStore struct {
	store.Store
	commits, appends, jobs atomic.Int64
}

func (c *countingStore) CommitConversation(ctx context.Context, ch store.ConversationChange) error {
	c.commits.Add(1)
	return c.Store.CommitConversation(ctx, ch)
}

func (c *countingStore) AppendEvents(ctx context.Context, events ...store.Event) error {
	c.appends.Add(1)
	return c.Store.AppendEvents(ctx, events...)
}

func (c *countingStore) AppendMessages(ctx context.Context, msgs ...store.Message) error {
	c.appends.Add(1)
	return c.Store.AppendMessages(ctx, msgs...)
}

func (c *countingStore) ScheduleJob(ctx context.Context, j store.Job) error {
	c.jobs.Add(1)
	return c.Store.ScheduleJob(ctx, j)
}

// A message costs one conversation write (the step, with its transcript
// lines and events) and one append (its reply's sent event); delivering
// writes no conversation and schedules no job. It also reports the bolt
// pages written per message.
func TestOneConversationWritePerMessage(t *testing.T) {
	b := openBolt(t).(interface {
		store.Store
		PagesWritten() int64
	})
	st := &countingStore{Store: b}
	h := newHarness(t, st, withStore(st))
	h.run(h.rt)
	const chats, turns = 100, 10
	say := func(c, i int) {
		in := inbound(fmt.Sprint(c), fmt.Sprint("u", i), fmt.Sprint("n", i))
		if i == 0 {
			in.Text = "hello"
		}
		if err := h.rt.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	// The first two turns set up the conversation (greeting, timers, the
	// answer loop); the measured ones are the loop: one question, one echo.
	var wg sync.WaitGroup
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			say(c, 0)
			say(c, 1)
		}()
	}
	wg.Wait()
	h.settle(h.rt)
	st.commits.Store(0)
	st.appends.Store(0)
	st.jobs.Store(0)
	pages, sent := b.PagesWritten(), h.snd.total()
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 2; i < turns; i++ {
				say(c, i)
			}
		}()
	}
	wg.Wait()
	h.settle(h.rt)
	msgs := int64(chats * (turns - 2))
	pages, sent = b.PagesWritten()-pages, h.snd.total()-sent
	t.Logf("per message: %.2f conversation writes, %.2f appends, %.2f jobs, %.2f bolt pages written",
		float64(st.commits.Load())/float64(msgs), float64(st.appends.Load())/float64(msgs),
		float64(st.jobs.Load())/float64(msgs), float64(pages)/float64(msgs))
	if st.commits.Load() != msgs {
		t.Errorf("%d messages wrote their conversation %d times, want once each", msgs, st.commits.Load())
	}
	if st.jobs.Load() != 0 {
		t.Errorf("%d messages scheduled %d jobs, want none", msgs, st.jobs.Load())
	}
	if st.appends.Load() > int64(sent) {
		t.Errorf("%d replies made %d appends, want one sent event each", sent, st.appends.Load())
	}
}
