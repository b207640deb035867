package analytics_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
)

// The simulation plays conversations with known paths through one funnel:
//
//	start → q1 (question; invalid answers re-ask) → sp (split A/B) →
//	offerA | offerB (buttons: buy, or back to q1) → lead (goal, 100) → h (handoff)
//
// with drop-offs at every step, "stop" unsubscribing (unsub node), restarts
// with /start days later, two flow versions, three sources, Telegram and
// WhatsApp (receipts), failed sends, operator replies, resolutions and
// CSAT. It writes the events the runtime would and, separately, the facts
// the ground truth is computed from, without the fold's bookkeeping.

var simLoc = mustLoc("Europe/Moscow")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, simLoc)

const simBot = "shop"

type fact struct {
	at      time.Time
	flow    string
	version int
}

type entry struct {
	node string
	at   time.Time
}

type simRun struct {
	fact
	entries []entry
	goal    *time.Time
	variant string
}

type simSent struct {
	fact
	ms      int64
	by      string
	ok      bool // sent; else failed
	deliver bool
	read    bool
}

type simHandoff struct {
	fact
	opFirst  *time.Time
	resolved *time.Time
}

type simConv struct {
	id, channel, source string
	runs                []*simRun
	in                  []fact
	sent                []simSent
	unsub               []fact
	handoffs            []*simHandoff
	csatReq             []fact
	csat                []struct {
		fact
		score int
	}
}

type simulator struct {
	// span is how long after simStart conversations begin (60 days when zero).
	span   time.Duration
	rnd    *rand.Rand
	events []store.Event
	convs  []*simConv
}

func (s *simulator) version(t time.Time) int {
	if t.Before(simStart.AddDate(0, 0, 30)) {
		return 1
	}
	return 2
}

// play generates conversation i.
func (s *simulator) play(i int) {
	r := s.rnd
	c := &simConv{id: fmt.Sprintf("%s:%s:%d", simBot, "telegram", i), channel: "telegram"}
	if r.IntN(10) < 4 {
		c.channel = "whatsapp"
		c.id = fmt.Sprintf("%s:%s:%d", simBot, "whatsapp", i)
	}
	c.source = []string{"", "ads", "vk"}[r.IntN(3)]
	s.convs = append(s.convs, c)
	span := s.span
	if span == 0 {
		span = 60 * 24 * time.Hour
	}
	t := simStart.Add(time.Duration(r.Int64N(int64(span))))
	key := 0
	var run *simRun
	var cur fact
	node := ""
	// step records one change: the inbound message (when in), the step's
	// events (typ, node, data) and n bot messages.
	step := func(in bool, evs [][3]any, n int) {
		// The change's events go into the log in the order the runtime
		// appends them (analytics.SortChange).
		defer func(from int) { analytics.SortChange(s.events[from:]) }(len(s.events))
		key++
		k := "u" + strconv.Itoa(key)
		base := store.Event{Bot: simBot, Flow: cur.flow, FlowVersion: cur.version, Conversation: c.id, Channel: c.channel, At: t}
		if in {
			e := base
			e.ID, e.Type, e.Node, e.Data = c.id+"/"+k+"/in", engine.EvMessageIn, node, map[string]any{"kind": "text"}
			s.events = append(s.events, e)
			c.in = append(c.in, fact{t, cur.flow, cur.version})
		}
		for j, x := range evs {
			e := base
			e.ID, e.Type, e.Node = c.id+"/"+k+"/"+strconv.Itoa(j), x[0].(string), x[1].(string)
			if x[2] != nil {
				e.Data = x[2].(map[string]any)
			}
			if e.Type == engine.EvNodeEntered {
				node = e.Node
			}
			s.events = append(s.events, e)
		}
		for j := 0; j < n; j++ {
			ss := simSent{fact: fact{t, cur.flow, cur.version}, ms: 5 + r.Int64N(3000), by: "bot", ok: r.IntN(50) != 0}
			id := c.id + ":" + k + ":" + strconv.Itoa(j)
			e := base
			e.ID = id + "/sent"
			if ss.ok {
				e.Type, e.Data = engine.EvSent, map[string]any{"by": "bot", "ms": float64(ss.ms)}
			} else {
				e.ID, e.Type, e.Data = id+"/failed", engine.EvFailed, map[string]any{"error": "refused", "by": "bot"}
			}
			s.events = append(s.events, e)
			if ss.ok && c.channel == "whatsapp" {
				if ss.deliver = r.IntN(10) != 0; ss.deliver {
					d := base
					d.ID, d.Type = id+"/delivered", engine.EvDelivered
					s.events = append(s.events, d)
					if ss.read = r.IntN(10) < 7; ss.read {
						d.ID, d.Type = id+"/read", engine.EvRead
						s.events = append(s.events, d)
					}
				}
			}
			c.sent = append(c.sent, ss)
		}
	}
	enter := func(n string) [3]any {
		run.entries = append(run.entries, entry{n, t})
		return [3]any{engine.EvNodeEntered, n, map[string]any{"name": "x"}}
	}
	later := func(min, max time.Duration) {
		t = t.Add(min + time.Duration(r.Int64N(int64(max-min))))
	}
	for runs := 0; runs < 3; runs++ {
		cur = fact{at: t, flow: "f", version: s.version(t)}
		run = &simRun{fact: cur}
		c.runs = append(c.runs, run)
		started := map[string]any{}
		if c.source != "" {
			started["source"] = c.source
		}
		evs := [][3]any{}
		if runs > 0 {
			evs = append(evs, [3]any{engine.EvTriggerFired, node, map[string]any{"name": "/start"}})
		}
		evs = append(evs, [3]any{engine.EvConversationStarted, "start", started})
		evs = append(evs, enter("start"), enter("q1"))
		step(true, evs, 2)
	question:
		for r.IntN(4) == 0 { // invalid answers
			later(5*time.Second, 3*time.Minute)
			step(true, [][3]any{{engine.EvInputInvalid, "q1", map[string]any{"name": "number"}}}, 1)
		}
		if r.IntN(6) == 0 {
			goto next // dropped at q1
		}
		later(5*time.Second, 50*time.Minute)
		if r.IntN(12) == 0 { // "stop"
			step(true, [][3]any{{engine.EvTriggerFired, "q1", map[string]any{"name": "stop"}}, enter("unsub"),
				{engine.EvUnsubscribed, "unsub", nil}, {engine.EvConversationEnded, "unsub", nil}}, 1)
			c.unsub = append(c.unsub, fact{t, cur.flow, cur.version})
			goto next
		}
		{
			if run.variant == "" {
				run.variant = []string{"A", "B"}[r.IntN(2)]
			}
			offer := "offer" + run.variant
			step(true, [][3]any{{engine.EvAnswered, "q1", map[string]any{"name": "budget"}}, enter("sp"),
				{engine.EvSplitAssigned, "sp", map[string]any{"name": run.variant, "variant": run.variant}}, enter(offer)}, 1)
			if r.IntN(3) == 0 {
				goto next // dropped at the offer
			}
			later(5*time.Second, 3*time.Hour)
			if r.IntN(8) == 0 { // back to the question
				step(true, [][3]any{{engine.EvButtonPressed, offer, map[string]any{"name": "back"}}, enter("q1")}, 1)
				goto question
			}
			step(true, [][3]any{{engine.EvButtonPressed, offer, map[string]any{"name": "buy"}}, enter("lead"),
				{engine.EvGoal, "lead", map[string]any{"name": "lead", "num": 100.0}}, enter("h"),
				{engine.EvHandoffStarted, "h", map[string]any{"name": "sales"}}}, 1)
			g := t
			run.goal = &g
			h := &simHandoff{fact: fact{t, cur.flow, cur.version}}
			c.handoffs = append(c.handoffs, h)
			if r.IntN(4) != 0 {
				later(10*time.Second, 40*time.Minute)
				key++
				id := c.id + ":op" + strconv.Itoa(key) + ":0"
				ms := 5 + r.Int64N(500)
				s.events = append(s.events, store.Event{ID: id + "/sent", Bot: simBot, Flow: cur.flow, FlowVersion: cur.version,
					Node: "h", Type: engine.EvSent, Conversation: c.id, Channel: c.channel, At: t,
					Data: map[string]any{"by": "operator", "ms": float64(ms)}})
				c.sent = append(c.sent, simSent{fact: fact{t, cur.flow, cur.version}, ms: ms, by: "operator", ok: true})
				ot := t
				h.opFirst = &ot
				if r.IntN(3) != 0 {
					later(time.Minute, 5*time.Hour)
					key++
					k := "r" + strconv.Itoa(key)
					base := store.Event{Bot: simBot, Flow: cur.flow, FlowVersion: cur.version, Node: "h", Conversation: c.id, Channel: c.channel, At: t}
					res := base
					res.ID, res.Type = c.id+"/"+k+"/resolved", engine.EvResolved
					req := base
					req.ID, req.Type = c.id+"/"+k+"/csat_requested", engine.EvCSATRequested
					s.events = append(s.events, res, req)
					rt := t
					h.resolved = &rt
					c.csatReq = append(c.csatReq, fact{t, cur.flow, cur.version})
					if r.IntN(2) == 0 {
						later(time.Second, 10*time.Minute)
						score := 1 + r.IntN(5)
						ans := base
						ans.At, ans.ID, ans.Type, ans.Data = t, c.id+"/"+k+"/csat", engine.EvCSAT, map[string]any{"score": float64(score)}
						s.events = append(s.events, ans)
						c.csat = append(c.csat, struct {
							fact
							score int
						}{fact{t, cur.flow, cur.version}, score})
					}
				}
			}
		}
	next:
		if r.IntN(5) != 0 {
			break
		}
		later(time.Hour, 20*24*time.Hour) // comes back with /start
	}
}

// truth is the report computed from the facts, the straightforward way.
func (s *simulator) truth(q analytics.Query) *analytics.Report {
	day := func(t time.Time) string { return t.In(simLoc).Format(time.DateOnly) }
	in := func(c *simConv, f fact) bool {
		d := day(f.at)
		return d >= q.From && d <= q.To && (q.Flow == "" || f.flow == q.Flow) && (q.Version == 0 || f.version == q.Version) &&
			(!q.HasSource && q.Source == "" || c.source == q.Source)
	}
	r := &analytics.Report{From: q.From, To: q.To, Goals: map[string]analytics.Goal{}, Funnel: map[string]analytics.FunnelNode{},
		Variants: map[string]analytics.SplitReport{}, Delivery: map[string]analytics.Delivery{}}
	var rt, frt, res, sessDur []int64
	var sessSum int64
	messaged, csatGood := 0, 0
	goalCount, goalValue := int64(0), 0.0
	varEntered, varGoal := map[string]int64{}, map[string]int64{}
	dl := map[string]*[4]int64{}
	for _, c := range s.convs {
		dialog, msgd := false, false
		for _, run := range c.runs {
			if in(c, run.fact) {
				r.Started++
				if run.goal != nil {
					goalCount++
					goalValue += 100
				}
				if run.variant != "" && slices.ContainsFunc(run.entries, func(e entry) bool { return e.node == "sp" }) {
					varEntered[run.variant]++
					if run.goal != nil {
						varGoal[run.variant]++
					}
				}
			}
			seen := map[string]bool{}
			for i, e := range run.entries {
				if seen[e.node] {
					continue
				}
				seen[e.node] = true
				if !in(c, fact{e.at, run.flow, run.version}) {
					continue
				}
				f := r.Funnel[e.node]
				f.Entered++
				if f.Exits == nil {
					f.Exits = map[string]int64{}
				}
				if i+1 < len(run.entries) {
					f.Exits[run.entries[i+1].node]++
				}
				r.Funnel[e.node] = f
			}
		}
		for _, f := range c.in {
			if in(c, f) {
				r.Messages.In++
				dialog = true
				lt := f.at.In(simLoc)
				r.PeakHours[(int(lt.Weekday())+6)%7][lt.Hour()]++
			}
		}
		for _, ss := range c.sent {
			if !in(c, ss.fact) {
				continue
			}
			if dl[c.channel] == nil {
				dl[c.channel] = &[4]int64{}
			}
			if !ss.ok {
				dl[c.channel][3]++
				continue
			}
			msgd = true
			dl[c.channel][0]++
			if ss.deliver {
				dl[c.channel][1]++
			}
			if ss.read {
				dl[c.channel][2]++
			}
			if ss.by == "bot" {
				r.Messages.Bot++
			} else {
				r.Messages.Operator++
			}
		}
		if dialog {
			r.Dialogs++
		}
		if msgd {
			messaged++
		}
		for _, f := range c.unsub {
			if in(c, f) {
				r.Unsubscribes++
			}
		}
		for _, h := range c.handoffs {
			if !in(c, h.fact) {
				continue
			}
			r.Handoffs++
			if h.opFirst != nil {
				frt = append(frt, analytics.Bucket((h.opFirst.UnixMilli()-h.at.UnixMilli())/1000))
			}
			if h.resolved != nil {
				res = append(res, analytics.Bucket((h.resolved.UnixMilli()-h.at.UnixMilli())/1000))
			}
		}
		for _, f := range c.csatReq {
			if in(c, f) {
				r.CSAT.Surveys++
			}
		}
		for _, a := range c.csat {
			if in(c, a.fact) {
				r.CSAT.Responses++
				if a.score >= 4 {
					csatGood++
				}
			}
		}
		// Bot reply times: the first unanswered inbound message to the
		// first bot message the platform took at or after it.
		type msg struct {
			fact
			in   bool
			sent *simSent
		}
		var tl []msg
		for _, f := range c.in {
			tl = append(tl, msg{fact: f, in: true})
		}
		for i := range c.sent {
			if c.sent[i].ok {
				tl = append(tl, msg{fact: c.sent[i].fact, sent: &c.sent[i]})
			}
		}
		sort.SliceStable(tl, func(i, j int) bool {
			if !tl[i].at.Equal(tl[j].at) {
				return tl[i].at.Before(tl[j].at)
			}
			return tl[i].in && !tl[j].in
		})
		var await *time.Time
		for _, m := range tl {
			switch {
			case m.in && await == nil:
				a := m.at
				await = &a
			case !m.in && m.sent.by == "bot" && await != nil:
				if in(c, m.fact) {
					rt = append(rt, analytics.Bucket(m.at.UnixMilli()-await.UnixMilli()+m.sent.ms))
				}
				await = nil
			}
		}
		// Sessions: messages (in, and sent by anyone) no more than 30 min apart.
		var ss0, last time.Time
		var sf fact
		flush := func() {
			if !ss0.IsZero() && in(c, sf) {
				d := (last.UnixMilli() - ss0.UnixMilli()) / 1000
				sessDur = append(sessDur, analytics.Bucket(d))
				sessSum += d
			}
		}
		for _, m := range tl {
			if ss0.IsZero() || m.at.Sub(last) > 30*time.Minute {
				flush()
				ss0, last, sf = m.at, m.at, m.fact
				continue
			}
			if m.at.After(last) {
				last = m.at
			}
		}
		flush()
	}
	if goalCount > 0 {
		r.Goals["lead"] = analytics.Goal{Count: goalCount, Rate: ratio(goalCount, r.Started), Value: goalValue}
	}
	if len(varEntered) > 0 {
		sp := analytics.SplitReport{Variants: map[string]analytics.Variant{}, PValues: map[string]*float64{}}
		var e, g []int64
		for _, v := range []string{"A", "B"} {
			if varEntered[v] == 0 {
				continue
			}
			sp.Variants[v] = analytics.Variant{Entered: varEntered[v], Goals: map[string]int64{}}
			if varGoal[v] > 0 {
				sp.Variants[v].Goals["lead"] = varGoal[v]
			}
			e, g = append(e, varEntered[v]), append(g, varGoal[v])
		}
		if goalCount > 0 {
			sp.PValues["lead"] = twoProportion(e, g)
		}
		r.Variants["sp"] = sp
	}
	for node, f := range r.Funnel {
		f.DropOff = f.Entered
		for _, n := range f.Exits {
			f.DropOff -= n
		}
		r.Funnel[node] = f
	}
	for ch, x := range dl {
		d := analytics.Delivery{Sent: x[0], Failed: x[3]}
		if ch == "whatsapp" {
			d.Delivered, d.Read = &x[1], &x[2]
			d.DeliveredRate, d.ReadRate = ratio(x[1], x[0]), ratio(x[2], x[0])
		}
		r.Delivery[ch] = d
	}
	if r.Messages.Bot+r.Messages.Operator > 0 {
		r.AutoRatio = ratio(r.Messages.Bot, r.Messages.Bot+r.Messages.Operator)
	}
	r.ResponseTime.BotReplies, r.ResponseTime.BotP50MS, r.ResponseTime.BotP90MS = pct(rt)
	r.ResponseTime.OperatorFirst, r.ResponseTime.OperatorP50S, r.ResponseTime.OperatorP90S = pct(frt)
	r.ResponseTime.Resolved, r.ResponseTime.ResolveP50S, r.ResponseTime.ResolveP90S = pct(res)
	if r.CSAT.Responses > 0 {
		x := float64(csatGood) / float64(r.CSAT.Responses) * 100
		r.CSAT.Score = &x
	}
	r.Sessions.Count = int64(len(sessDur))
	if len(sessDur) > 0 {
		slices.Sort(sessDur)
		n := len(sessDur)
		m := float64(sessDur[n/2])
		if n%2 == 0 {
			m = float64(sessDur[n/2-1]+sessDur[n/2]) / 2
		}
		mean := float64(sessSum) / float64(n)
		r.Sessions.MedianS, r.Sessions.MeanS = &m, &mean
	}
	if messaged > 0 {
		r.UnsubRate = ratio(r.Unsubscribes, int64(messaged))
	}
	return r
}

func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	x := float64(a) / float64(b)
	return &x
}

// pct is the count and the nearest-rank p50 and p90 of xs.
func pct(xs []int64) (int64, *int64, *int64) {
	if len(xs) == 0 {
		return 0, nil, nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(p float64) *int64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		v := s[max(i, 0)]
		return &v
	}
	return int64(len(s)), at(0.5), at(0.9)
}

// twoProportion is the two-sided two-proportion z-test's p-value.
func twoProportion(n, x []int64) *float64 {
	if len(n) != 2 {
		return nil
	}
	p1, p2 := float64(x[0])/float64(n[0]), float64(x[1])/float64(n[1])
	p := float64(x[0]+x[1]) / float64(n[0]+n[1])
	if p == 0 || p == 1 {
		return nil
	}
	z := (p1 - p2) / math.Sqrt(p*(1-p)*(1/float64(n[0])+1/float64(n[1])))
	v := math.Erfc(math.Abs(z) / math.Sqrt2)
	return &v
}

func simulate(n int, seed uint64) *simulator {
	s := &simulator{rnd: rand.New(rand.NewPCG(seed, 14))}
	for i := 0; i < n; i++ {
		s.play(i)
	}
	return s
}

// receipts: WhatsApp reports delivery and reads, Telegram neither.
func receipts(ch string) (bool, bool) { return ch == "whatsapp", ch == "whatsapp" }

// checkReports compares the stored rollups' reports with the truth for a
// set of periods and filters.
func checkReports(t *testing.T, ctx context.Context, st store.Store, sim *simulator, what string) {
	t.Helper()
	queries := []analytics.Query{
		{From: "2026-01-01", To: "2026-12-31"},
		{From: "2026-01-20", To: "2026-02-10"},
		{From: "2026-02-01", To: "2026-02-01"},
		{From: "2026-01-01", To: "2026-12-31", Flow: "f", Version: 2},
		{From: "2026-01-25", To: "2026-02-05", Flow: "f", Version: 1},
		{From: "2026-01-01", To: "2026-12-31", Source: "ads"},
		{From: "2026-01-01", To: "2026-12-31", HasSource: true},
		{From: "2026-01-10", To: "2026-02-20", Flow: "f", Source: "vk"},
	}
	for _, q := range queries {
		docs, err := analytics.LoadDocs(ctx, st, simBot, q.From, q.To)
		if err != nil {
			t.Fatal(err)
		}
		got := analytics.Build(docs, q, receipts)
		want := sim.truth(q)
		if diff := compareReports(got, want); diff != "" {
			t.Errorf("%s, %+v: %s", what, q, diff)
		}
	}
}

func compareReports(got, want *analytics.Report) string {
	g, w := analytics.Canonical(got), analytics.Canonical(want)
	if g == w {
		return ""
	}
	// Point at the first difference.
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	lo := max(i-200, 0)
	return fmt.Sprintf("differs at byte %d:\n got: …%s…\nwant: …%s…", i, g[lo:min(i+200, len(g))], w[lo:min(i+200, len(w))])
}

// feed appends the simulated events in chunks of 2,000 (each cutting the
// change at its end in two, as a flush claiming a change half inserted on
// MongoDB sees it), with some of them appended twice (a replay), flushing
// the roller now and then.
func feed(t *testing.T, ctx context.Context, st store.Store, sim *simulator, roller *analytics.Roller) {
	t.Helper()
	const chunk = 2000
	for i := 0; i < len(sim.events); i += chunk {
		batch := sim.events[i:min(i+chunk, len(sim.events))]
		if err := st.AppendEvents(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		if i%(chunk*10) == 0 {
			// A replay of a few events already stored (and perhaps rolled up).
			if err := st.AppendEvents(ctx, batch[:50]...); err != nil {
				t.Fatal(err)
			}
			drain(t, ctx, roller)
		}
	}
	drain(t, ctx, roller)
}

func drain(t *testing.T, ctx context.Context, roller *analytics.Roller) {
	t.Helper()
	if _, err := roller.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRollupsMatchGroundTruth plays simulated conversations through the
// embedded store and checks every figure against the ground truth, then
// rebuilds from the log and checks again, then purges the raw events and
// checks that the rollups did not change.
//
// It plays 10,000 conversations (3,000 under the race detector or -short,
// to keep make test within its time); VORONKA_ANALYTICS_CONVS=100000 plays
// the 100,000 (about ten minutes on a busy 2-core machine).
func TestRollupsMatchGroundTruth(t *testing.T) {
	n := 10_000
	if raceEnabled || testing.Short() {
		n = 3_000
	}
	if v, err := strconv.Atoi(os.Getenv("VORONKA_ANALYTICS_CONVS")); err == nil && v > 0 {
		n = v
	}
	groundTruth(t, openBolt(t), n)
}

func groundTruth(t *testing.T, st store.Store, n int) {
	ctx := context.Background()
	if err := st.PutBot(ctx, store.Bot{ID: simBot, Name: "Shop", Settings: store.BotSettings{TimeZone: "Europe/Moscow"}}); err != nil {
		t.Fatal(err)
	}
	sim := simulate(n, 7)
	t.Logf("%d conversations, %d events", n, len(sim.events))
	roller := &analytics.Roller{St: st}
	t0 := time.Now()
	feed(t, ctx, st, sim, roller)
	t.Logf("appended and rolled up in %v", time.Since(t0))
	checkReports(t, ctx, st, sim, "incremental")
	if t.Failed() {
		return
	}
	t0 = time.Now()
	got, err := roller.Rebuild(ctx, simBot)
	if err != nil {
		t.Fatal(err)
	}
	if got < len(sim.events) {
		t.Fatalf("rebuild read %d events, want at least %d", got, len(sim.events))
	}
	t.Logf("rebuilt from %d events in %v", got, time.Since(t0))
	checkReports(t, ctx, st, sim, "rebuilt")
	if _, err := st.Purge(ctx, store.PurgeOptions{EventsBefore: simStart.AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if evs, _, _ := st.QueryEvents(ctx, store.EventQuery{Bot: simBot, Limit: 1}); len(evs) != 0 {
		t.Fatalf("purge left events: %+v", evs)
	}
	checkReports(t, ctx, st, sim, "after the raw events were purged")
}

// TestRollupsMatchGroundTruthMongo is the same on the MongoDB test server,
// with 100 conversations (30 under the race detector;
// VORONKA_ANALYTICS_MONGO_CONVS sets another number): it takes minutes for
// what bolt does in seconds (the bolt run checks scale).
func TestRollupsMatchGroundTruthMongo(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 30
	}
	if v, err := strconv.Atoi(os.Getenv("VORONKA_ANALYTICS_MONGO_CONVS")); err == nil && v > 0 {
		n = v
	}
	groundTruth(t, openMongo(t), n)
}
