// Package analytics turns the event log into counters (rollups) and the
// counters into the figures of GET /api/bots/{bot}/analytics. Fold is the
// write side: it applies events, one conversation at a time, to the
// conversation's fold state and emits counter increments keyed by (bot,
// day, flow, version, source). Report is the read side. Both are pure; the
// flusher (Roller) and the rebuild move data between them and the store.
package analytics

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/store"
)

// DefaultSessionGap ends a session: messages further apart than this
// belong to different sessions.
const DefaultSessionGap = 30 * time.Minute

// Counter key prefixes. A counter key is a prefix and '|'-separated parts.
const (
	kStarted   = "started"
	kIn        = "in"
	kBot       = "bot"
	kOperator  = "op"
	kDialogs   = "dlg"  // dlg|<scope>|<previous active day>
	kMessaged  = "msgd" // msgd|<scope>|<previous messaged day>
	kUnsub     = "unsub"
	kGoal      = "goal"  // goal|<name>
	kGoalValue = "goalv" // goalv|<name>
	kEntered   = "ent"   // ent|<node>
	kExit      = "exit"  // exit|<node>|<next>
	kVariant   = "var"   // var|<split>|<variant>
	kVarGoal   = "vgoal" // vgoal|<split>|<variant>|<goal>
	kReplyMS   = "rt"    // rt|<ms>
	kFirstOp   = "frt"   // frt|<s>
	kResolve   = "res"   // res|<s>
	kHandoffs  = "handoffs"
	kCSATReq   = "csat_req"
	kCSATN     = "csat_n"
	kCSATGood  = "csat_good"
	kDelivery  = "dlv"  // dlv|<channel>|sent|delivered|read|failed
	kSessions  = "sess" // sessions begun
	kSessDur   = "sesd" // sesd|<s>: sessions by their length so far
	kSessSum   = "sess_sum"
	kHour      = "ph" // ph|<weekday, Monday 0>|<hour>: inbound messages by local time
)

// Scopes of the distinct-per-period counters: a conversation's previous
// active day is tracked across the whole bot (a), within one flow (f) and
// within one flow version (v), so each filter counts it once.
const (
	scopeAll     = "a"
	scopeFlow    = "f"
	scopeVersion = "v"
)

// State is what Fold remembers of one conversation between events.
type State struct {
	Source string `json:"src,omitempty"`
	// The current run.
	Run     int64    `json:"run,omitempty"` // unix ms of its start; 0 before any
	RunKey  Key      `json:"rk"`
	Entered []string `json:"ent,omitempty"`
	// Pending is the node whose exit is not counted yet: the last node this
	// run entered for the first time. PendingKey is where its entry counted.
	Pending    string   `json:"pn,omitempty"`
	PendingKey Key      `json:"pk"`
	Goals      []string `json:"goals,omitempty"`
	Splits     []Split  `json:"splits,omitempty"`
	// Previous active / messaged day per scope key.
	LastIn   map[string]string `json:"li,omitempty"`
	LastSent map[string]string `json:"ls,omitempty"`
	// AwaitIn is the first inbound message not answered yet (unix ms), and
	// AwaitMore the later ones, in time order: a reply's sent event carries
	// its step's time and can be folded after the next inbound message, so
	// that message must still be waiting for its own reply then.
	AwaitIn   int64   `json:"aw,omitempty"`
	AwaitMore []int64 `json:"awm,omitempty"`
	// The current session.
	SessStart int64 `json:"ss,omitempty"`
	SessLast  int64 `json:"sl,omitempty"`
	SessKey   Key   `json:"sk"`
	// The current handoff.
	Handoff    int64 `json:"ho,omitempty"`
	HandoffKey Key   `json:"hk"`
	OpReplied  bool  `json:"or,omitempty"`
	Resolved   bool  `json:"rs,omitempty"`
}

// Split is the variant a run got at a split node.
type Split struct {
	Node    string `json:"n"`
	Variant string `json:"v"`
}

// Key addresses one counter document.
type Key struct {
	Day     string `json:"d,omitempty"`
	Flow    string `json:"f,omitempty"`
	Version int    `json:"v,omitempty"`
	Source  string `json:"s,omitempty"`
}

// DecodeState reads a stored fold state; nil or empty is a new conversation.
func DecodeState(b []byte) (*State, error) {
	s := &State{}
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("decode fold state: %w", err)
	}
	return s, nil
}

// maxAwait bounds the inbound messages a state keeps waiting for a reply.
const maxAwait = 8

// await notes an inbound message at (unix ms) waiting for a reply.
func (s *State) await(at int64) {
	if s.AwaitIn == 0 { // the usual case: every earlier message answered
		s.AwaitIn = at
		return
	}
	all := s.waiting()
	if slices.Contains(all, at) || len(all) > maxAwait {
		return
	}
	i, _ := slices.BinarySearch(all, at)
	s.setWaiting(slices.Insert(all, i, at))
}

// answered ends the wait of every inbound message up to a reply at at.
func (s *State) answered(at int64) {
	if len(s.AwaitMore) == 0 && s.AwaitIn <= at { // the usual case
		s.AwaitIn = 0
		return
	}
	s.setWaiting(slices.DeleteFunc(s.waiting(), func(t int64) bool { return t <= at }))
}

// waiting is every inbound message waiting for a reply, in time order, in
// a slice of its own.
func (s *State) waiting() []int64 {
	if s.AwaitIn == 0 {
		return nil
	}
	return append([]int64{s.AwaitIn}, s.AwaitMore...)
}

// setWaiting stores all (in time order) as AwaitIn and AwaitMore.
func (s *State) setWaiting(all []int64) {
	s.AwaitIn, s.AwaitMore = 0, nil
	if len(all) > 0 {
		s.AwaitIn = all[0]
	}
	if len(all) > 1 {
		s.AwaitMore = all[1:]
	}
}

// Encode is the stored form of s.
func (s *State) Encode() []byte {
	b, _ := json.Marshal(s) // plain data: cannot fail
	return b
}

// Deltas are counter increments by document.
type Deltas map[Key]map[string]float64

func (d Deltas) add(k Key, counter string, n float64) {
	if n == 0 {
		return
	}
	m := d[k]
	if m == nil {
		m = map[string]float64{}
		d[k] = m
	}
	m[counter] += n
	if m[counter] == 0 {
		delete(m, counter)
	}
}

// Docs turns the deltas into store documents of bot: each day's, and the
// same counts again in its month's document (Day YYYY-MM), which reports
// of whole months read instead of the days.
func (d Deltas) Docs(bot string) []store.RollupDoc {
	months := map[Key]map[string]float64{}
	for k, c := range d {
		if len(k.Day) != len("2006-01-02") {
			continue
		}
		mk := k
		mk.Day = k.Day[:7]
		m := months[mk]
		if m == nil {
			m = map[string]float64{}
			months[mk] = m
		}
		for name, n := range c {
			m[name] += n
		}
	}
	out := make([]store.RollupDoc, 0, len(d)+len(months))
	for _, set := range []map[Key]map[string]float64{d, months} {
		for k, c := range set {
			for name, n := range c {
				if n == 0 {
					delete(c, name)
				}
			}
			if len(c) == 0 {
				continue
			}
			out = append(out, store.RollupDoc{Bot: bot, Day: k.Day, Flow: k.Flow, Version: k.Version, Source: k.Source, C: c})
		}
	}
	slices.SortFunc(out, func(a, b store.RollupDoc) int {
		switch {
		case a.RollupID() < b.RollupID():
			return -1
		case a.RollupID() > b.RollupID():
			return 1
		}
		return 0
	})
	return out
}

// Folder applies events to fold states.
type Folder struct {
	// Loc is the bot's time zone: days and hours are local.
	Loc *time.Location
	// Gap ends a session (DefaultSessionGap when zero).
	Gap time.Duration
}

func (f *Folder) day(t time.Time) string { return t.In(f.Loc).Format(time.DateOnly) }

// Fold applies one event of a conversation to its state s and adds what
// it counts to d. Events of one conversation must come in the order they
// happened (see Less).
func (f *Folder) Fold(s *State, e *store.Event, d Deltas) {
	gap := f.Gap
	if gap <= 0 {
		gap = DefaultSessionGap
	}
	at := e.At.UnixMilli()
	k := Key{Day: f.day(e.At), Flow: e.Flow, Version: e.FlowVersion, Source: s.Source}
	switch e.Type {
	case engine.EvConversationStarted:
		if src := str(e.Data, engine.DataSource); src != "" {
			s.Source = src
			k.Source = src
		}
		s.Run, s.RunKey = at, k
		s.Entered, s.Goals, s.Splits, s.Pending = nil, nil, nil, ""
		d.add(k, kStarted, 1)
	case engine.EvNodeEntered:
		if s.Pending != "" {
			d.add(s.PendingKey, kExit+"|"+s.Pending+"|"+e.Node, 1)
			s.Pending = ""
		}
		if !slices.Contains(s.Entered, e.Node) {
			s.Entered = append(s.Entered, e.Node)
			d.add(k, kEntered+"|"+e.Node, 1)
			s.Pending, s.PendingKey = e.Node, k
		}
	case engine.EvGoal:
		name := str(e.Data, engine.DataName)
		if slices.Contains(s.Goals, name) {
			return
		}
		s.Goals = append(s.Goals, name)
		rk := s.runKey(k)
		d.add(rk, kGoal+"|"+name, 1)
		d.add(rk, kGoalValue+"|"+name, num(e.Data, engine.DataNum))
		for _, sp := range s.Splits {
			d.add(rk, kVarGoal+"|"+sp.Node+"|"+sp.Variant+"|"+name, 1)
		}
	case engine.EvSplitAssigned:
		v := str(e.Data, engine.DataVariant)
		if v == "" {
			v = str(e.Data, engine.DataName)
		}
		if slices.ContainsFunc(s.Splits, func(sp Split) bool { return sp.Node == e.Node }) {
			return
		}
		s.Splits = append(s.Splits, Split{Node: e.Node, Variant: v})
		rk := s.runKey(k)
		d.add(rk, kVariant+"|"+e.Node+"|"+v, 1)
		for _, g := range s.Goals {
			d.add(rk, kVarGoal+"|"+e.Node+"|"+v+"|"+g, 1)
		}
	case engine.EvMessageIn:
		d.add(k, kIn, 1)
		lt := e.At.In(f.Loc)
		d.add(k, kHour+"|"+strconv.Itoa((int(lt.Weekday())+6)%7)+"|"+strconv.Itoa(lt.Hour()), 1)
		s.LastIn = distinct(d, k, kDialogs, s.LastIn)
		s.await(at)
		f.session(s, at, k, gap, d)
	case engine.EvSent:
		by := str(e.Data, engine.DataBy)
		if by == "operator" {
			d.add(k, kOperator, 1)
			if s.Handoff != 0 && !s.OpReplied && at >= s.Handoff {
				s.OpReplied = true
				d.add(s.HandoffKey, kFirstOp+"|"+bucket((at-s.Handoff)/1000), 1)
			}
		} else {
			d.add(k, kBot, 1)
			if s.AwaitIn != 0 && at >= s.AwaitIn {
				ms := at - s.AwaitIn + int64(num(e.Data, engine.DataMS))
				d.add(k, kReplyMS+"|"+bucket(ms), 1)
				s.answered(at)
			}
		}
		d.add(k, kDelivery+"|"+e.Channel+"|sent", 1)
		s.LastSent = distinct(d, k, kMessaged, s.LastSent)
		f.session(s, at, k, gap, d)
	case engine.EvDelivered, engine.EvRead:
		d.add(k, kDelivery+"|"+e.Channel+"|"+e.Type, 1)
	case engine.EvFailed:
		d.add(k, kDelivery+"|"+e.Channel+"|failed", 1)
	case engine.EvBlocked:
		if str(e.Data, engine.DataError) != "" { // a send refused, not the platform's notice
			d.add(k, kDelivery+"|"+e.Channel+"|failed", 1)
		}
	case engine.EvUnsubscribed:
		d.add(k, kUnsub, 1)
	case engine.EvHandoffStarted:
		s.Handoff, s.HandoffKey, s.OpReplied, s.Resolved = at, k, false, false
		d.add(k, kHandoffs, 1)
	case engine.EvHandoffEnded, engine.EvResolved:
		if s.Handoff != 0 && !s.Resolved && at >= s.Handoff {
			s.Resolved = true
			d.add(s.HandoffKey, kResolve+"|"+bucket((at-s.Handoff)/1000), 1)
		}
	case engine.EvCSATRequested:
		d.add(k, kCSATReq, 1)
	case engine.EvCSAT:
		d.add(k, kCSATN, 1)
		if num(e.Data, engine.DataScore) >= 4 {
			d.add(k, kCSATGood, 1)
		}
	}
}

// runKey is where counters of the current run go: the day it started.
func (s *State) runKey(k Key) Key {
	if s.Run == 0 {
		return k
	}
	return s.RunKey
}

// distinct counts a conversation once per day in each scope, under the day
// it was last counted before (or "" the first time): summing the counters
// of days D in [from, to] whose previous day is before from counts each
// conversation active in the period exactly once.
func distinct(d Deltas, k Key, prefix string, last map[string]string) map[string]string {
	if last == nil {
		last = map[string]string{}
	}
	for _, sc := range [...]struct{ name, key string }{
		{scopeAll, k.Source},
		{scopeFlow, k.Source + "\x00" + k.Flow},
		{scopeVersion, k.Source + "\x00" + k.Flow + "\x00" + strconv.Itoa(k.Version)},
	} {
		prev := last[sc.key]
		if prev == k.Day || k.Day < prev {
			// Counted on this day already, or a late event of an earlier
			// day (a sent event carries its message's queue time and is
			// appended when the platform accepts it, perhaps after the
			// next day's events were folded): counting it under a later
			// previous day could never count it, and moving the
			// previous day back would count the later day twice.
			continue
		}
		d.add(k, prefix+"|"+sc.name+"|"+prev, 1)
		last[sc.key] = k.Day
	}
	return last
}

// Bucket is where a duration (ms or s) is counted in the histograms behind
// the percentiles and the median: exact below 1,000, above that rounded
// down to two significant digits (1,234 → 1,200; 56,789 → 56,000), so a
// histogram has at most a few hundred keys whatever the spread and a year
// of them reads fast; a percentile above 1,000 is within 10% below the
// exact value.
func Bucket(v int64) int64 {
	if v < 1000 {
		return max(v, 0)
	}
	p := int64(1)
	for v/p >= 100 {
		p *= 10
	}
	return v / p * p
}

func bucket(v int64) string { return strconv.FormatInt(Bucket(v), 10) }

// session extends the conversation's current session to at, or begins a
// new one after a gap; a session counts under the day it began, its
// length (so far) kept as a histogram that moves as it grows.
func (f *Folder) session(s *State, at int64, k Key, gap time.Duration, d Deltas) {
	if s.SessLast == 0 || at-s.SessLast > gap.Milliseconds() {
		s.SessStart, s.SessLast, s.SessKey = at, at, k
		d.add(k, kSessions, 1)
		d.add(k, kSessDur+"|0", 1)
		return
	}
	if at <= s.SessLast {
		return
	}
	old, now := (s.SessLast-s.SessStart)/1000, (at-s.SessStart)/1000
	s.SessLast = at
	if old != now {
		if bucket(old) != bucket(now) {
			d.add(s.SessKey, kSessDur+"|"+bucket(old), -1)
			d.add(s.SessKey, kSessDur+"|"+bucket(now), 1)
		}
		d.add(s.SessKey, kSessSum, float64(now-old))
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func num(m map[string]any, k string) float64 {
	switch v := m[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return 0
}
