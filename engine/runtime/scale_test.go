package runtime_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/internal/testmongo"
)

// parallel runs f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// timersPerTest is how many timers the two-runtime tests set: the issue asks
// for 1,000, each firing exactly once.
const timersPerTest = 1000

// mongoTimers is how many timers the Mongo variant sets: timersPerTest
// unless VORONKA_SCALE_TIMERS asks for another number, e.g. against a real
// MongoDB in MONGO_URI:
//
//	VORONKA_SCALE_TIMERS=10000 go test -run TwoRuntimes ./engine/runtime
func mongoTimers(t *testing.T) int {
	v := os.Getenv("VORONKA_SCALE_TIMERS")
	if v == "" {
		return timersPerTest
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("VORONKA_SCALE_TIMERS=%q, want a positive number", v)
	}
	return n
}

func TestTwoRuntimesOnMongoFireEachTimerOnce(t *testing.T) {
	// Two clients of one database, like two replicas, each with the small
	// pool the FerretDB test server copes with.
	db := testmongo.DBName(t)
	twoRuntimesFireEachTimerOnce(t, mongoTimers(t), openMongoDBWith(t, db, smallPool), openMongoDBWith(t, db, smallPool))
}

func TestTwoRuntimesOnBoltFireEachTimerOnce(t *testing.T) {
	// One bolt file belongs to one process; two runtimes in it share the
	// store, so their claims still race through its transactions.
	st := openBolt(t)
	twoRuntimesFireEachTimerOnce(t, timersPerTest, st, st)
}

// twoRuntimesFireEachTimerOnce sets n delays through runtime a, moves the
// clock past them and checks that a and b together fire each exactly once:
// one follow-up per chat, one timer_fired event per timer, no duplicates.
func twoRuntimesFireEachTimerOnce(t *testing.T, n int, stA, stB store.Store) {
	// Patience for each phase: the FerretDB test server on a busy 2-core
	// machine is slow; nothing here asserts on time.
	const patience = 15 * time.Minute
	start := time.Now()
	h := newHarness(t, stA)
	// A flow that starts with the delay keeps the set-up to one update per chat.
	h.prog = compile(t, "delay.yaml", []byte(delayFlow))
	// Small claims, so both replicas' loops get a share of the due timers;
	// few workers, because the store, not the runtime, is the bottleneck;
	// a lease far longer than the test, so a slow machine never lets a lease
	// lapse and the counts below stay exact; likewise for the processes'
	// leases, so no replica adopts another's live outbox.
	small := func(c *runtime.Config) {
		c.Options.JobBatch = 25
		c.Options.JobWorkers = 4
		c.Options.JobLease = time.Hour
		c.Options.LeaseTTL = time.Hour
	}
	a := h.newRuntime(small)
	b := h.newRuntime(small, withStore(stB))
	h.run(a)
	h.run(b)
	parallel(n, 4, func(i int) { h.text(a, fmt.Sprint("c", i), "u1", "hello") })
	h.settleWithin(a, patience)
	if p, err := stA.CountPendingJobs(context.Background()); err != nil || p < int64(n) {
		t.Fatalf("%d pending jobs (%v), want at least %d", p, err, n)
	}
	t.Logf("%d delays set in %v", n, time.Since(start).Round(time.Millisecond))
	fireStart := time.Now()
	h.clock.Advance(11 * time.Minute) // wakes both scheduler loops
	// Progress is read from the fake sender: Stats counts the pending jobs
	// in the store, and asking that every millisecond would keep the test
	// server busy with counting instead of with the timers.
	report := time.Now()
	tick := func() {
		// The loops poll on the manual clock; nudge it a millisecond at a time.
		h.clock.Advance(time.Millisecond)
		if time.Since(report) > 30*time.Second {
			report = time.Now()
			t.Logf("%d of %d follow-ups sent after %v", h.snd.total(), n, time.Since(fireStart).Round(time.Second))
		}
	}
	eventuallyWithin(t, patience, "every follow-up", tick, func() bool { return h.snd.total() >= n })
	t.Logf("%d timers fired and sent in %v", n, time.Since(fireStart).Round(time.Millisecond))
	h.settleWithin(a, patience)
	h.settleWithin(b, patience)
	sa, _ := a.Stats(context.Background())
	sb, _ := b.Stats(context.Background())
	if got := sa.TimersFired + sb.TimersFired; got != uint64(n) {
		t.Errorf("%d timer firings, want %d", got, n)
	}
	t.Logf("fired by a: %d, by b: %d", sa.TimersFired, sb.TimersFired)
	for i := range n {
		chat := fmt.Sprint("c", i)
		if got := h.snd.texts(chat); !slices.Equal(got, []string{"Later!"}) {
			t.Fatalf("chat %s got %q", chat, got)
		}
	}
	if d := h.snd.duplicates(); len(d) > 0 {
		t.Errorf("%d messages delivered twice, e.g. %s", len(d), d[0])
	}
	if got := countEvents(t, stA, "timer_fired"); got != n {
		t.Errorf("%d timer_fired events, want %d", got, n)
	}
}

// countEvents counts a bot's events of one type, paging past MaxLimit.
func countEvents(t *testing.T, st store.Store, typ string) int {
	t.Helper()
	q := store.EventQuery{Bot: bot, Types: []string{typ}, Limit: store.MaxLimit}
	n := 0
	for {
		evs, next, err := st.QueryEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
		if next == "" {
			return n
		}
		q.Cursor = next
	}
}

// TestLeadQualificationFunnel drives the example funnel from flows/ through
// the runtime, published in the store like the server will publish it: a
// buyer with a big budget is scored hot, sent to the CRM and handed over.
func TestLeadQualificationFunnel(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		st := open(t)
		src, err := os.ReadFile("../../flows/lead-qualification.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var got atomic.Value
		crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/leads" || r.Header.Get("Authorization") != "Bearer secret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			buf := make([]byte, 4096)
			k, _ := r.Body.Read(buf)
			got.Store(string(buf[:k]))
			w.Write([]byte(`{"id":"L-1"}`))
		}))
		defer crm.Close()
		if err := st.PutBot(ctx, store.Bot{ID: bot, Name: "Sales", FlowID: "lead-qualification",
			Settings: store.BotSettings{AllowedEnv: []string{"CRM_URL", "CRM_TOKEN"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PublishFlow(ctx, store.FlowVersion{Bot: bot, FlowID: "lead-qualification", Doc: src}); err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, st)
		h.env["CRM_URL"], h.env["CRM_TOKEN"] = crm.URL, "secret"
		h.prog = compile(t, "lead-qualification.yaml", src)
		rt := h.newRuntime(withFlows(runtime.NewStoreFlows(st, 0)))
		h.run(rt)
		h.text(rt, "1", "u1", "/start")
		h.press(rt, "1", "u2", "Хочу купить")
		h.text(rt, "1", "u3", "150 000")
		h.text(rt, "1", "u4", "+7 999 123-45-67")
		h.settle(rt)
		h.waitTexts("1",
			"Здравствуйте, Anna! Я помогу подобрать тариф и отвечу на вопросы.",
			"Что вас интересует?",
			"Какой у вас бюджет в месяц, в рублях?",
			"Оставьте телефон — менеджер перезвонит в течение часа.",
			"Передаю вас менеджеру, он ответит в течение 15 минут.")
		c := h.conv("1")
		if c.Status != store.StatusHandoff || c.Segment != "hot" || !c.HasTag("hot") {
			t.Errorf("conversation %s, segment %s, tags %v; want a hot lead in handoff", c.Status, c.Segment, c.Tags)
		}
		if s, _ := got.Load().(string); s == "" {
			t.Error("the CRM was not called")
		}
		if crmVar := fmt.Sprint(c.Vars["crm"]); !strings.Contains(crmVar, "L-1") {
			t.Errorf("crm var %v, want the CRM's answer", c.Vars["crm"])
		}
		if evs := h.events("goal"); len(evs) != 1 || evs[0].Data["name"] != "qualified_lead" || evs[0].FlowVersion != 1 {
			t.Errorf("goal events: %+v", evs)
		}
	})
}

func TestGroupChatsGetTheGroupLimit(t *testing.T) {
	h := newHarness(t, openBolt(t), withLimits(channel.Limits{PerSecond: 30, Burst: 30, PerChatSecond: 100, PerChatBurst: 3, PerGroupMin: 20}))
	h.run(h.rt)
	h.text(h.rt, "-100", "u1", "hello")
	h.press(h.rt, "-100", "u2", "Ask")
	for i := range 4 {
		h.text(h.rt, "-100", fmt.Sprint("t", i), fmt.Sprint("n", i))
	}
	// 10 messages: a burst of 3, then one every 3 s (20 a minute).
	eventually(t, "the burst", nil, func() bool { return len(h.snd.texts("-100")) >= 3 })
	h.clock.Advance(2 * time.Second)
	h.text(h.rt, "2", "u1", "hello") // a private chat is not held up
	h.waitTexts("2", "Hi Anna")
	if got := len(h.snd.texts("-100")); got != 3 {
		t.Fatalf("group got %d messages within 2 s, want 3", got)
	}
	eventually(t, "the rest", func() { h.clock.Advance(time.Second) }, func() bool { return len(h.snd.texts("-100")) >= 10 })
}
