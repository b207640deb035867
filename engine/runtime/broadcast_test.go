package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/testmongo"
)

// realTime runs the runtime on the wall clock, as broadcasts pace their
// sends by it, and looks for broadcasts often.
func realTime(c *runtime.Config) {
	c.Clock = runtime.SystemClock{}
	c.Options.BroadcastPoll = 20 * time.Millisecond
}

var broadcastLimits = channel.Limits{PerSecond: 300, Burst: 30, PerChatSecond: 100, PerChatBurst: 100, PerGroupMin: 100}

func newsBroadcast(id string) *store.Broadcast {
	return &store.Broadcast{ID: id, Bot: bot, Name: "news", Status: store.BroadcastRunning, CreatedAt: time.Now(),
		Variants: []store.BroadcastVariant{
			{Name: "A", Weight: 1, Text: "News A for {{ contact.first_name }}", Buttons: []store.BroadcastButton{{Label: "Ask me", Node: "ask"}}},
			{Name: "B", Weight: 1, Text: "News B for {{ contact.first_name }}"},
		}}
}

func broadcastTexts(h *harness, chat string) []channel.Outbound {
	var out []channel.Outbound
	for _, m := range h.snd.sentTo(chat) {
		if strings.HasPrefix(m.Text, "News") {
			out = append(out, m)
		}
	}
	return out
}

func waitBroadcast(t *testing.T, st store.Store, id string, want store.BroadcastStatus) *store.Broadcast {
	t.Helper()
	var b *store.Broadcast
	eventually(t, "broadcast "+id+" to be "+string(want), nil, func() bool {
		var err error
		b, err = st.GetBroadcast(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return b.Status == want && b.Runner == ""
	})
	return b
}

func TestBroadcastReachesEachConsentingContactOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, openBolt(t), realTime, withLimits(broadcastLimits))
	h.run(h.rt)
	const n = 40
	for i := range n {
		h.text(h.rt, fmt.Sprint(i), fmt.Sprint("u", i), "/start")
	}
	h.text(h.rt, "3", "u-stop", "Стоп!")
	h.waitTexts("3", "Hi Anna", runtime.StopReply)
	if c := h.conv("3"); c.Consent.Subscribed || c.Consent.Source != "stop_word" {
		t.Fatalf("consent after a stop word: %+v", c.Consent)
	}
	blk := inbound("5", "u-block", "")
	blk.Kind = channel.KindBlocked
	if err := h.rt.Handle(ctx, blk); err != nil {
		t.Fatal(err)
	}
	// A send interrupted by a crash left a receipt saying it was starting.
	unconfirmed := store.ConversationID(bot, "telegram", "7")
	if err := h.st.PutReceipts(ctx, store.Receipt{ID: store.ReceiptID("bc1", unconfirmed), Broadcast: "bc1", Bot: bot,
		Conversation: unconfirmed, Variant: "A", Status: store.RecipientSending, At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	b := newsBroadcast("bc1")
	if err := h.st.CreateBroadcast(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	b = waitBroadcast(t, h.st, "bc1", store.BroadcastDone)

	perVariant := map[string]int{}
	for i := range n {
		chat := fmt.Sprint(i)
		got := broadcastTexts(h, chat)
		switch chat {
		case "3", "5", "7":
			if len(got) != 0 {
				t.Errorf("chat %s (no consent, blocked, or sent before the crash) got %d copies", chat, len(got))
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("chat %s got %d copies, want 1", chat, len(got))
		}
		m := got[0]
		if m.Text != "News A for Anna" && m.Text != "News B for Anna" {
			t.Fatalf("chat %s got %q: the template was not rendered", chat, m.Text)
		}
		perVariant[m.Text[5:6]]++
		last := m.Buttons[len(m.Buttons)-1]
		if last.Label != "Отписаться" {
			t.Fatalf("chat %s: the broadcast has no unsubscribe button: %+v", chat, m.Buttons)
		}
	}
	p := b.Progress
	if p.Total != n || p.Sent != n-2 || p.Unconfirmed != 1 || p.Failed != 0 ||
		p.Skipped[runtime.SkipNoConsent] != 1 || p.Skipped[runtime.SkipBlocked] != 1 {
		t.Fatalf("progress %+v, want %d members, %d sent (1 unconfirmed), 1 without consent, 1 blocked", p, n, n-2)
	}
	if perVariant["A"] == 0 || perVariant["B"] == 0 || perVariant["A"]+perVariant["B"] != n-3 {
		t.Fatalf("variant split %v", perVariant)
	}
	if p.Variants["A"]+p.Variants["B"] != n-2 {
		t.Fatalf("variant counts %v", p.Variants)
	}

	// A press on a broadcast button jumps into its flow node; the
	// unsubscribe button turns consent off.
	var chatA, chatB string
	for i := range n {
		if got := broadcastTexts(h, fmt.Sprint(i)); len(got) == 1 {
			if got[0].Text == "News A for Anna" && chatA == "" {
				chatA = fmt.Sprint(i)
			} else if chatB == "" {
				chatB = fmt.Sprint(i)
			}
		}
	}
	a := broadcastTexts(h, chatA)[0]
	press := inbound(chatA, "u-press", "")
	press.Kind, press.Payload = channel.KindPress, a.Buttons[0].Payload
	if err := h.rt.Handle(ctx, press); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the button's node to answer", nil, func() bool {
		got := h.snd.texts(chatA)
		return got[len(got)-1] == "Your name?"
	})
	bm := broadcastTexts(h, chatB)[0]
	press = inbound(chatB, "u-unsub", "")
	press.Kind, press.Payload = channel.KindPress, bm.Buttons[len(bm.Buttons)-1].Payload
	if err := h.rt.Handle(ctx, press); err != nil {
		t.Fatal(err)
	}
	if c := h.conv(chatB); c.Consent.Subscribed || c.Consent.Source != "broadcast_button" {
		t.Fatalf("consent after the unsubscribe button: %+v", c.Consent)
	}
	evs, _, err := h.st.QueryEvents(ctx, store.EventQuery{Bot: bot, Types: []string{runtime.EvBroadcastButton}})
	if err != nil || len(evs) != 2 {
		t.Fatalf("button events %v (%v), want 2", evs, err)
	}

	// /start comes back.
	h.text(h.rt, "3", "u-restart", "/start")
	if c := h.conv("3"); !c.Consent.Subscribed || c.Consent.Source != "start" {
		t.Fatalf("consent after /start: %+v", c.Consent)
	}
}

func TestBroadcastPausedAndResumedOnAnotherProcess(t *testing.T) {
	ctx := context.Background()
	slow := channel.Limits{PerSecond: 40, Burst: 5, PerChatSecond: 100, PerChatBurst: 100, PerGroupMin: 100}
	h := newHarness(t, openBolt(t), realTime, withLimits(slow))
	h.run(h.rt)
	const n = 60
	for i := range n {
		h.text(h.rt, fmt.Sprint(i), fmt.Sprint("u", i), "/start")
	}
	b := newsBroadcast("bc2")
	if err := h.st.CreateBroadcast(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	sent := func() int {
		total := 0
		for i := range n {
			total += len(broadcastTexts(h, fmt.Sprint(i)))
		}
		return total
	}
	eventually(t, "some sends", nil, func() bool { return sent() >= 10 })
	for {
		cur, err := h.st.GetBroadcast(ctx, "bc2")
		if err != nil {
			t.Fatal(err)
		}
		cur.Status = store.BroadcastPaused
		if err := h.st.UpdateBroadcast(ctx, cur); err == nil {
			break
		}
	}
	waitBroadcast(t, h.st, "bc2", store.BroadcastPaused)
	atPause := sent()
	if atPause >= n {
		t.Fatalf("all %d sent before the pause took effect", atPause)
	}
	// The process stops; another resumes the broadcast.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.rt.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if got := sent(); got != atPause {
		t.Fatalf("%d more sent while paused", got-atPause)
	}
	rt2 := h.newRuntime(realTime, withLimits(slow))
	h.run(rt2)
	for {
		cur, _ := h.st.GetBroadcast(ctx, "bc2")
		cur.Status = store.BroadcastRunning
		if err := h.st.UpdateBroadcast(ctx, cur); err == nil {
			break
		}
	}
	rt2.WakeBroadcasts()
	b = waitBroadcast(t, h.st, "bc2", store.BroadcastDone)
	for i := range n {
		if got := broadcastTexts(h, fmt.Sprint(i)); len(got) != 1 {
			t.Fatalf("chat %d got %d copies after pause and resume, want 1", i, len(got))
		}
	}
	if b.Progress.Sent != n || b.Progress.Total != n {
		t.Fatalf("progress %+v, want %d sent", b.Progress, n)
	}
	if d := h.snd.duplicates(); len(d) > 0 {
		t.Fatalf("sent twice: %v", d)
	}
}

func TestBroadcastFrequencyCapAndWindow(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, openBolt(t), realTime, withLimits(broadcastLimits))
	if err := h.st.PutBot(ctx, store.Bot{ID: bot, Settings: store.BotSettings{BroadcastsPerWeek: 1}}); err != nil {
		t.Fatal(err)
	}
	h.run(h.rt)
	for i := range 5 {
		h.text(h.rt, fmt.Sprint(i), fmt.Sprint("u", i), "/start")
	}
	if err := h.st.CreateBroadcast(ctx, newsBroadcast("first")); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	waitBroadcast(t, h.st, "first", store.BroadcastDone)
	second := newsBroadcast("second")
	if err := h.st.CreateBroadcast(ctx, second); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	b := waitBroadcast(t, h.st, "second", store.BroadcastDone)
	if b.Progress.Sent != 0 || b.Progress.Skipped[runtime.SkipFrequencyCap] != 5 {
		t.Fatalf("second broadcast within a week: %+v, want all 5 skipped by the cap", b.Progress)
	}

	// A window that is closed now makes the broadcast wait for it.
	now := time.Now().UTC()
	open := now.Add(2 * time.Hour)
	closed := &store.Broadcast{ID: "later", Bot: bot, Status: store.BroadcastRunning, CreatedAt: now,
		Window:   &store.QuietHours{Start: open.Format("15:04"), End: open.Add(time.Hour).Format("15:04")},
		Variants: []store.BroadcastVariant{{Name: "A", Weight: 1, Text: "News later"}}}
	if err := h.st.CreateBroadcast(ctx, closed); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	eventually(t, "the broadcast to wait for its window", nil, func() bool {
		b, _ := h.st.GetBroadcast(ctx, "later")
		return !b.WaitUntil.IsZero()
	})
	b, _ = h.st.GetBroadcast(ctx, "later")
	if b.WaitUntil.Before(open.Add(-time.Minute)) || b.WaitUntil.After(open) || b.Progress.Sent != 0 {
		t.Fatalf("waits until %v, want the window's start %v; progress %+v", b.WaitUntil, open, b.Progress)
	}
}

// Two replicas on one MongoDB: both look for broadcasts, one runs it; the
// other takes over when the first stops mid-way; everyone gets it once.
func TestBroadcastTwoReplicasOnMongo(t *testing.T) {
	ctx := context.Background()
	db := testmongo.DBName(t)
	stA, stB := openMongoDBWith(t, db, smallPool), openMongoDBWith(t, db, smallPool)
	slow := channel.Limits{PerSecond: 20, Burst: 8, PerChatSecond: 100, PerChatBurst: 100, PerGroupMin: 100}
	h := newHarness(t, stA, realTime, withLimits(slow))
	h.run(h.rt)
	const n = 30
	for i := range n {
		h.text(h.rt, fmt.Sprint(i), fmt.Sprint("u", i), "/start")
	}
	rtB := h.newRuntime(realTime, withLimits(slow), withStore(stB))
	h.run(rtB)
	if err := stA.CreateBroadcast(ctx, newsBroadcast("bc-two")); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	rtB.WakeBroadcasts()
	sent := func() int {
		total := 0
		for i := range n {
			total += len(broadcastTexts(h, fmt.Sprint(i)))
		}
		return total
	}
	eventuallyWithin(t, 5*time.Minute, "some sends", nil, func() bool { return sent() >= 5 })
	// Whichever replica runs it stops (a clean shutdown ends its lease);
	// the other goes on from where it was.
	b, err := stA.GetBroadcast(ctx, "bc-two")
	if err != nil {
		t.Fatal(err)
	}
	runner := h.rt
	if b.Runner == rtB.Owner() {
		runner = rtB
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := runner.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 5*time.Minute, "the other replica to finish it", nil, func() bool {
		b, err := stB.GetBroadcast(ctx, "bc-two")
		return err == nil && b.Status == store.BroadcastDone
	})
	for i := range n {
		if got := broadcastTexts(h, fmt.Sprint(i)); len(got) != 1 {
			t.Fatalf("chat %d got %d copies across two replicas, want 1", i, len(got))
		}
	}
	if d := h.snd.duplicates(); len(d) > 0 {
		t.Fatalf("sent twice: %v", d)
	}
}

// On a channel with a free-form window (WhatsApp's 24 hours), a recipient
// who last wrote longer ago gets the broadcast's template, with its
// parameters rendered for them, or is skipped (needs_template) when the
// broadcast has none; the others get the message, and every send carries
// when the person last wrote.
func TestBroadcastTemplateOutsideTheWindow(t *testing.T) {
	ctx := context.Background()
	window := func(c *runtime.Config) {
		ch := c.Channels["telegram"]
		ch.Window = 24 * time.Hour
		c.Channels["telegram"] = ch
	}
	h := newHarness(t, openBolt(t), realTime, withLimits(broadcastLimits), window)
	h.run(h.rt)
	recent, old := []string{"r1", "r2"}, []string{"o1", "o2", "o3"}
	for _, chat := range recent {
		in := inbound(chat, "u-"+chat, "/start")
		in.Time = time.Now()
		if err := h.rt.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, chat := range old {
		h.text(h.rt, chat, "u-"+chat, "/start") // at t0, months ago
	}
	for i, tmpl := range []*store.BroadcastTemplate{nil, {Name: "news_digest", Language: "ru", Params: []string{"{{ contact.first_name }}", "весна"}}} {
		b := newsBroadcast(fmt.Sprint("bcw", i))
		b.Template = tmpl
		if err := h.st.CreateBroadcast(ctx, b); err != nil {
			t.Fatal(err)
		}
		h.rt.WakeBroadcasts()
		b = waitBroadcast(t, h.st, b.ID, store.BroadcastDone)
		wantSkipped, wantSent := len(old), len(recent)
		if tmpl != nil {
			wantSkipped, wantSent = 0, len(recent)+len(old)
		}
		if p := b.Progress; p.Sent != wantSent || p.Skipped[runtime.SkipNeedsTemplate] != wantSkipped || p.Failed != 0 {
			t.Fatalf("broadcast %d (template %v): progress %+v, want %d sent, %d skipped needs_template", i, tmpl != nil, p, wantSent, wantSkipped)
		}
	}
	for _, chat := range recent {
		got := broadcastTexts(h, chat)
		if len(got) != 2 || got[0].Template != nil || got[1].Template != nil || got[0].LastInbound.IsZero() {
			t.Fatalf("chat %s inside the window got %+v, want both messages as text with the last inbound time", chat, got)
		}
	}
	for _, chat := range old {
		var tmpls []channel.Outbound
		for _, m := range h.snd.sentTo(chat) {
			if m.Template != nil {
				tmpls = append(tmpls, m)
			}
		}
		if len(broadcastTexts(h, chat)) != 0 || len(tmpls) != 1 {
			t.Fatalf("chat %s outside the window: %d texts, %d templates; want the template once", chat, len(broadcastTexts(h, chat)), len(tmpls))
		}
		tp := tmpls[0].Template
		if tp.Name != "news_digest" || tp.Language != "ru" || len(tp.Params) != 2 || tp.Params[0] != "Anna" || tp.Params[1] != "весна" ||
			len(tmpls[0].Buttons) != 0 || !tmpls[0].LastInbound.Equal(t0) {
			t.Fatalf("chat %s got template %+v buttons %v last inbound %v", chat, tp, tmpls[0].Buttons, tmpls[0].LastInbound)
		}
	}
}

// budgetSpy records the send budgets a broadcast draws from.
type budgetSpy struct {
	store.Store
	mu   sync.Mutex
	keys map[string]int
}

func (s *budgetSpy) TakeSendBudget(ctx context.Context, key string, capacity, want int, expires time.Time) (int, error) {
	n, err := s.Store.TakeSendBudget(ctx, key, capacity, want, expires)
	s.mu.Lock()
	s.keys[key[:strings.LastIndexByte(key, ':')]] += n
	s.mu.Unlock()
	return n, err
}

// A broadcast paces each recipient by their own channel's rate: sends to
// WhatsApp contacts draw on the bot's WhatsApp budget, not Telegram's (a
// WhatsApp broadcast used to go at Telegram's 30/s).
func TestBroadcastPacedByEachChannel(t *testing.T) {
	ctx := context.Background()
	spy := &budgetSpy{Store: openBolt(t), keys: map[string]int{}}
	second := func(c *runtime.Config) {
		c.Channels["whatsapp"] = runtime.Channel{Sender: c.Channels["telegram"].Sender, Limits: broadcastLimits}
	}
	h := newHarness(t, spy, realTime, withLimits(broadcastLimits), second)
	h.run(h.rt)
	for i := range 6 {
		in := inbound(fmt.Sprint("wa", i), fmt.Sprint("u", i), "/start")
		in.Channel = "whatsapp"
		if err := h.rt.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	h.text(h.rt, "tg1", "u-tg", "/start")
	b := newsBroadcast("bcpace")
	if err := h.st.CreateBroadcast(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	if b = waitBroadcast(t, h.st, "bcpace", store.BroadcastDone); b.Progress.Sent != 7 {
		t.Fatalf("progress %+v, want 7 sent", b.Progress)
	}
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if spy.keys[bot+":whatsapp"] < 6 || spy.keys[bot+":telegram"] < 1 {
		t.Fatalf("budget granted by key %v: want ≥ 6 from %s:whatsapp and ≥ 1 from %s:telegram", spy.keys, bot, bot)
	}
}

// A broadcast to a slow channel's audience shows its progress while it
// runs, although the runtime also has a fast channel: pages hold about a
// second of the sends their recipients' channels allow. Pages sized by the
// fastest channel (a web chat's 1,000/s) held this whole audience, so the
// progress stayed at 0 sent until the last send, and a crash meanwhile
// left every send unconfirmed.
func TestBroadcastProgressMovesWhileSending(t *testing.T) {
	ctx := context.Background()
	slow := channel.Limits{PerSecond: 40, Burst: 5, PerChatSecond: 100, PerChatBurst: 100, PerGroupMin: 100}
	fast := func(c *runtime.Config) {
		c.Channels["web"] = runtime.Channel{Sender: c.Channels["telegram"].Sender,
			Limits: channel.Limits{PerSecond: 1000, Burst: 1000, PerChatSecond: 100, PerChatBurst: 100, PerGroupMin: 1000}}
	}
	h := newHarness(t, openBolt(t), realTime, withLimits(slow), fast)
	h.run(h.rt)
	const n = 120 // three seconds at 40/s
	for i := range n {
		h.text(h.rt, fmt.Sprint("p", i), fmt.Sprint("u", i), "/start")
	}
	h.settle(h.rt)
	b := newsBroadcast("bcprogress")
	if err := h.st.CreateBroadcast(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.rt.WakeBroadcasts()
	seen := 0 // the most sent the progress showed while the broadcast ran
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := h.st.GetBroadcast(ctx, "bcprogress")
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status != store.BroadcastRunning {
			break
		}
		seen = max(seen, cur.Progress.Sent)
		if time.Now().After(deadline) {
			t.Fatalf("broadcast still running after 30 s: %+v", cur.Progress)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b = waitBroadcast(t, h.st, "bcprogress", store.BroadcastDone); b.Progress.Sent != n || b.Progress.Unconfirmed != 0 {
		t.Fatalf("final progress %+v, want %d sent, none unconfirmed", b.Progress, n)
	}
	if seen == 0 || seen >= n {
		t.Fatalf("the progress showed %d sent while running, want some of the %d before the end", seen, n)
	}
}
