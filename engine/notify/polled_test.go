package notify

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// lateLog is a notification log whose appends take their number at once and
// become visible only when commit is called: what two replicas inserting at
// once look like to a reader. (The MongoDB log runs the conformance test;
// this one makes the late commit happen on purpose.)
type lateLog struct {
	mu      sync.Mutex
	last    int64
	visible map[int64]store.Notification
	purged  []int64
}

func (l *lateLog) reserve(topic string) store.Notification {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	return store.Notification{Seq: l.last, Topic: topic}
}

func (l *lateLog) commit(n store.Notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.visible[n.Seq] = n
}

func (l *lateLog) AppendNotifications(ctx context.Context, ns []store.Notification) error {
	for i := range ns {
		n := l.reserve(ns[i].Topic)
		n.Payload, n.Origin = ns[i].Payload, ns[i].Origin
		ns[i].Seq = n.Seq
		l.commit(n)
	}
	return nil
}

func (l *lateLog) NotificationsFrom(ctx context.Context, from int64, limit int) ([]store.Notification, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Notification
	for _, n := range l.visible {
		if n.Seq >= from {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b store.Notification) int { return int(a.Seq - b.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (l *lateLog) NotificationsIn(ctx context.Context, seqs []int64) ([]store.Notification, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Notification
	for _, s := range seqs {
		if n, ok := l.visible[s]; ok {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b store.Notification) int { return int(a.Seq - b.Seq) })
	return out, nil
}

func (l *lateLog) LastNotificationSeq(ctx context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, nil
}

func (l *lateLog) PurgeNotifications(ctx context.Context, before int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.purged = append(l.purged, before)
	for s := range l.visible {
		if s < before {
			delete(l.visible, s)
		}
	}
	return nil
}

func TestPolledDeliversALateCommitAndGivesUpALostOne(t *testing.T) {
	ctx := t.Context()
	log := &lateLog{visible: map[int64]store.Notification{}}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p, err := NewPolled(ctx, log, PolledOptions{GapWait: 10 * time.Second, Keep: time.Minute, Batch: 2,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	p.Subscribe(ctx, "", func(m Message) { got = append(got, m.Topic) })
	pollAll := func() {
		t.Helper()
		for {
			full, err := p.poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !full {
				return
			}
		}
	}

	late := log.reserve("late")  // 1: its insert commits after 2's
	lost := log.reserve("lost")  // 2: its publisher dies before the insert
	log.commit(log.reserve("a")) // 3
	pollAll()
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after the first poll got %v, want [a]", got)
	}
	now = now.Add(5 * time.Second)
	log.commit(late)
	log.commit(log.reserve("b")) // 4
	pollAll()
	if want := []string{"a", "late", "b"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v: a commit later than a higher number must still arrive, once", got, want)
	}
	if d := p.done(); d != 2 {
		t.Fatalf("done = %d, want 2: the lost number is still waited for", d)
	}
	now = now.Add(6 * time.Second) // 11 s after 2 was found missing
	pollAll()
	if d := p.done(); d != 5 {
		t.Fatalf("done = %d, want 5: a number missing longer than GapWait is given up", d)
	}
	log.commit(lost) // far too late: the bus already gave it up
	log.commit(log.reserve("c"))
	pollAll()
	if want := []string{"a", "late", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	// A minute after start, what was read by then is purged.
	now = now.Add(time.Minute)
	pollAll()
	if !slices.Equal(log.purged, []int64{1}) {
		t.Fatalf("purged before %v, want [1] (the place a minute ago)", log.purged)
	}
	now = now.Add(time.Minute)
	pollAll()
	if !slices.Equal(log.purged, []int64{1, 6}) {
		t.Fatalf("purged before %v, want [1 6]", log.purged)
	}
}

// gatedLog holds its first append until released and counts appends.
type gatedLog struct {
	*lateLog
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	appends int
}

func (g *gatedLog) AppendNotifications(ctx context.Context, ns []store.Notification) error {
	g.mu.Lock()
	g.appends++
	first := g.appends == 1
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
	return g.lateLog.AppendNotifications(ctx, ns)
}

func TestPolledWritesWhatQueuesDuringAWriteInOneWrite(t *testing.T) {
	ctx := t.Context()
	log := &gatedLog{lateLog: &lateLog{visible: map[int64]store.Notification{}},
		entered: make(chan struct{}), release: make(chan struct{})}
	p, err := NewPolled(ctx, log, PolledOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 20)
	go func() { errs <- p.Publish(ctx, "first", nil) }()
	<-log.entered
	const waiting = 10
	for range waiting {
		go func() { errs <- p.Publish(ctx, "queued", nil) }()
	}
	// One more that gives up while queued: it is not written.
	gaveUp, cancel := context.WithCancel(ctx)
	go func() { errs <- p.Publish(gaveUp, "gave-up", nil) }()
	for queued := 0; queued < waiting+1; {
		p.pubMu.Lock()
		queued = len(p.queue)
		p.pubMu.Unlock()
		time.Sleep(time.Millisecond)
	}
	cancel()
	for {
		p.pubMu.Lock()
		n := len(p.queue)
		p.pubMu.Unlock()
		if n == waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(log.release)
	var failed int
	for range waiting + 2 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d publishes failed, want 1 (the one whose context ended)", failed)
	}
	if log.appends != 2 {
		t.Fatalf("%d appends for %d publishes, want 2: what queued during a write goes in one write", log.appends, waiting+1)
	}
	got, err := log.NotificationsFrom(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != waiting+1 || got[0].Topic != "first" {
		t.Fatalf("stored %d notifications (first %q), want %d starting with the first", len(got), got[0].Topic, waiting+1)
	}
	for _, n := range got {
		if n.Topic == "gave-up" {
			t.Fatal("a publish whose context ended while queued was written")
		}
	}
}
