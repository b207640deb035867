package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// Query selects what a report covers.
type Query struct {
	// From and To are local days (YYYY-MM-DD), both included.
	From, To string
	// Flow, Version (with Flow) and Source filter when set; HasSource makes
	// an empty Source filter for "no source".
	Flow      string
	Version   int
	Source    string
	HasSource bool
}

// Report is the analytics API's answer; field names are the API's.
type Report struct {
	From         string                 `json:"from"`
	To           string                 `json:"to"`
	Started      int64                  `json:"started"`
	Dialogs      int64                  `json:"dialogs"`
	ActiveNow    int64                  `json:"active_now"`
	Messages     Messages               `json:"messages"`
	AutoRatio    *float64               `json:"auto_ratio"`
	Goals        map[string]Goal        `json:"goals"`
	Funnel       map[string]FunnelNode  `json:"funnel"`
	Variants     map[string]SplitReport `json:"variants"`
	ResponseTime ResponseTime           `json:"response_time"`
	CSAT         CSAT                   `json:"csat"`
	Delivery     map[string]Delivery    `json:"delivery"`
	Sessions     Sessions               `json:"sessions"`
	PeakHours    [7][24]int64           `json:"peak_hours"`
	Unsubscribes int64                  `json:"unsubscribes"`
	UnsubRate    *float64               `json:"unsubscribe_rate"`
	Handoffs     int64                  `json:"handoffs"`
	// BySource has the same report per source, when asked (by=source).
	BySource map[string]*Report `json:"by_source,omitempty"`
}

// Messages counts messages by who wrote them.
type Messages struct {
	In       int64 `json:"in"`
	Bot      int64 `json:"bot"`
	Operator int64 `json:"operator"`
}

// Goal is one goal's conversions among the runs started in the period.
type Goal struct {
	Count int64    `json:"count"`
	Rate  *float64 `json:"rate"`
	Value float64  `json:"value"`
}

// FunnelNode is how many runs entered a node and where they went next.
type FunnelNode struct {
	Entered int64            `json:"entered"`
	Exits   map[string]int64 `json:"exits"`
	DropOff int64            `json:"drop_off"`
}

// SplitReport is one split node's variants and the test between them.
type SplitReport struct {
	Variants map[string]Variant `json:"variants"`
	// PValues per goal: the chi-square test of independence between variant
	// and reaching the goal (for two variants, the two-proportion z-test).
	PValues map[string]*float64 `json:"p_values"`
}

// Variant is the runs that got a variant and the goals they reached.
type Variant struct {
	Entered int64            `json:"entered"`
	Goals   map[string]int64 `json:"goals"`
}

// ResponseTime has bot reply times (ms) and operator times (s); nil when
// there is nothing to measure.
type ResponseTime struct {
	BotP50MS      *int64 `json:"bot_p50_ms"`
	BotP90MS      *int64 `json:"bot_p90_ms"`
	BotReplies    int64  `json:"bot_replies"`
	OperatorP50S  *int64 `json:"operator_first_p50_s"`
	OperatorP90S  *int64 `json:"operator_first_p90_s"`
	OperatorFirst int64  `json:"operator_first_responses"`
	ResolveP50S   *int64 `json:"resolution_p50_s"`
	ResolveP90S   *int64 `json:"resolution_p90_s"`
	Resolved      int64  `json:"resolved"`
}

// CSAT is the satisfaction score.
type CSAT struct {
	Score     *float64 `json:"score"`
	Responses int64    `json:"responses"`
	Surveys   int64    `json:"surveys"`
}

// Delivery is one channel's message outcomes; a rate is nil where the
// platform does not report it.
type Delivery struct {
	Sent          int64    `json:"sent"`
	Delivered     *int64   `json:"delivered"`
	Read          *int64   `json:"read"`
	Failed        int64    `json:"failed"`
	DeliveredRate *float64 `json:"delivered_rate"`
	ReadRate      *float64 `json:"read_rate"`
}

// Sessions is the count and length of sessions begun in the period.
type Sessions struct {
	Count   int64    `json:"count"`
	MedianS *float64 `json:"median_s"`
	MeanS   *float64 `json:"mean_s"`
}

// Receipts says which receipts a channel type's platform reports.
type Receipts func(channelType string) (delivered, read bool)

// Build computes the report of q from the bot's counter documents.
func Build(docs []store.RollupDoc, q Query, receipts Receipts) *Report {
	sum := map[string]float64{}
	var peak [7][24]int64
	for i := range docs {
		d := &docs[i]
		if !dayInRange(d.Day, q.From, q.To) || (q.Flow != "" && d.Flow != q.Flow) ||
			(q.Version != 0 && d.Version != q.Version) || ((q.HasSource || q.Source != "") && d.Source != q.Source) {
			continue
		}
		for k, v := range d.C {
			sum[k] += v
		}
	}
	scope := scopeAll
	switch {
	case q.Version != 0:
		scope = scopeVersion
	case q.Flow != "":
		scope = scopeFlow
	}
	r := &Report{From: q.From, To: q.To, Goals: map[string]Goal{}, Funnel: map[string]FunnelNode{},
		Variants: map[string]SplitReport{}, Delivery: map[string]Delivery{}}
	hist := map[string]map[int64]int64{}
	messaged := int64(0)
	for k, v := range sum {
		n := int64(math.Round(v))
		var parts [4]string
		split(k, &parts)
		switch parts[0] {
		case kHour:
			wd, err1 := strconv.Atoi(parts[1])
			h, err2 := strconv.Atoi(parts[2])
			if err1 == nil && err2 == nil && wd >= 0 && wd < 7 && h >= 0 && h < 24 {
				peak[wd][h] += n
			}
		case kStarted:
			r.Started = n
		case kIn:
			r.Messages.In = n
		case kBot:
			r.Messages.Bot = n
		case kOperator:
			r.Messages.Operator = n
		case kUnsub:
			r.Unsubscribes = n
		case kHandoffs:
			r.Handoffs = n
		case kCSATReq:
			r.CSAT.Surveys = n
		case kCSATN:
			r.CSAT.Responses = n
		case kDialogs, kMessaged:
			if parts[1] == scope && parts[3] == "" && parts[2] < q.From {
				if parts[0] == kDialogs {
					r.Dialogs += n
				} else {
					messaged += n
				}
			}
		case kGoal:
			g := r.Goals[parts[1]]
			g.Count = n
			r.Goals[parts[1]] = g
		case kGoalValue:
			g := r.Goals[parts[1]]
			g.Value = v
			r.Goals[parts[1]] = g
		case kEntered:
			f := r.Funnel[parts[1]]
			f.Entered = n
			r.Funnel[parts[1]] = f
		case kExit:
			f := r.Funnel[parts[1]]
			if f.Exits == nil {
				f.Exits = map[string]int64{}
			}
			f.Exits[parts[2]] = n
			r.Funnel[parts[1]] = f
		case kVariant:
			sp := r.split(parts[1])
			vv := sp.Variants[parts[2]]
			vv.Entered = n
			sp.Variants[parts[2]] = vv
		case kVarGoal:
			sp := r.split(parts[1])
			vv := sp.Variants[parts[2]]
			if vv.Goals == nil {
				vv.Goals = map[string]int64{}
			}
			vv.Goals[parts[3]] = n
			sp.Variants[parts[2]] = vv
		case kReplyMS, kFirstOp, kResolve, kSessDur:
			x, err := strconv.ParseInt(parts[1], 10, 64)
			if err == nil && n > 0 {
				if hist[parts[0]] == nil {
					hist[parts[0]] = map[int64]int64{}
				}
				hist[parts[0]][x] += n
			}
		case kDelivery:
			dl := r.Delivery[parts[1]]
			switch parts[2] {
			case "sent":
				dl.Sent = n
			case "delivered":
				dl.Delivered = &n
			case "read":
				dl.Read = &n
			case "failed":
				dl.Failed = n
			}
			r.Delivery[parts[1]] = dl
		}
	}
	if r.Messages.Bot+r.Messages.Operator > 0 {
		r.AutoRatio = ratio(r.Messages.Bot, r.Messages.Bot+r.Messages.Operator)
	}
	for name, g := range r.Goals {
		g.Rate = ratio(g.Count, r.Started)
		r.Goals[name] = g
	}
	for node, f := range r.Funnel {
		if f.Exits == nil {
			f.Exits = map[string]int64{}
		}
		f.DropOff = f.Entered
		for _, n := range f.Exits {
			f.DropOff -= n
		}
		r.Funnel[node] = f
	}
	for _, sp := range r.Variants {
		goals := map[string]bool{}
		for name, v := range sp.Variants {
			if v.Goals == nil {
				v.Goals = map[string]int64{}
				sp.Variants[name] = v
			}
			for g := range v.Goals {
				goals[g] = true
			}
		}
		for g := range r.Goals {
			goals[g] = true
		}
		for g := range goals {
			var entered, reached []int64
			for _, name := range sortedKeys(sp.Variants) {
				entered = append(entered, sp.Variants[name].Entered)
				reached = append(reached, sp.Variants[name].Goals[g])
			}
			sp.PValues[g] = PValue(entered, reached)
		}
	}
	r.PeakHours = peak
	r.ResponseTime.BotReplies, r.ResponseTime.BotP50MS, r.ResponseTime.BotP90MS = percentiles(hist[kReplyMS])
	r.ResponseTime.OperatorFirst, r.ResponseTime.OperatorP50S, r.ResponseTime.OperatorP90S = percentiles(hist[kFirstOp])
	r.ResponseTime.Resolved, r.ResponseTime.ResolveP50S, r.ResponseTime.ResolveP90S = percentiles(hist[kResolve])
	if r.CSAT.Responses > 0 {
		s := float64(int64(math.Round(sum[kCSATGood]))) / float64(r.CSAT.Responses) * 100
		r.CSAT.Score = &s
	}
	for ch, dl := range r.Delivery {
		del, rd := false, false
		if receipts != nil {
			del, rd = receipts(ch)
		}
		zero := int64(0)
		if del {
			if dl.Delivered == nil {
				dl.Delivered = &zero
			}
			dl.DeliveredRate = ratio(*dl.Delivered, dl.Sent)
		} else {
			dl.Delivered = nil
		}
		if rd {
			if dl.Read == nil {
				dl.Read = &zero
			}
			dl.ReadRate = ratio(*dl.Read, dl.Sent)
		} else {
			dl.Read = nil
		}
		r.Delivery[ch] = dl
	}
	r.Sessions.Count = int64(math.Round(sum[kSessions]))
	if r.Sessions.Count > 0 {
		mean := sum[kSessSum] / float64(r.Sessions.Count)
		r.Sessions.MeanS = &mean
		r.Sessions.MedianS = median(hist[kSessDur])
	}
	if messaged > 0 {
		r.UnsubRate = ratio(r.Unsubscribes, messaged)
	}
	return r
}

// split cuts a counter name at its first three '|' into p, without
// allocating (a year's report parses a few thousand names); the last part
// keeps any further '|'.
func split(k string, p *[4]string) {
	for i := 0; i < 3; i++ {
		j := strings.IndexByte(k, '|')
		if j < 0 {
			p[i] = k
			return
		}
		p[i], k = k[:j], k[j+1:]
	}
	p[3] = k
}

func (r *Report) split(node string) *SplitReport {
	sp, ok := r.Variants[node]
	if !ok {
		sp = SplitReport{Variants: map[string]Variant{}, PValues: map[string]*float64{}}
		r.Variants[node] = sp
	}
	return &sp
}

func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	x := float64(a) / float64(b)
	return &x
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// percentiles returns the count and the nearest-rank 50th and 90th
// percentiles (the smallest value with at least p% of values at or below it).
func percentiles(h map[int64]int64) (int64, *int64, *int64) {
	vals, total := sortedHist(h)
	if total == 0 {
		return 0, nil, nil
	}
	return total, nearestRank(vals, h, total, 50), nearestRank(vals, h, total, 90)
}

func sortedHist(h map[int64]int64) ([]int64, int64) {
	vals := make([]int64, 0, len(h))
	var total int64
	for v, n := range h {
		if n > 0 {
			vals = append(vals, v)
			total += n
		}
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	return vals, total
}

func nearestRank(vals []int64, h map[int64]int64, total int64, p int64) *int64 {
	rank := (p*total + 99) / 100 // ceil(p/100 × total)
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for _, v := range vals {
		seen += h[v]
		if seen >= rank {
			x := v
			return &x
		}
	}
	return nil
}

// median is the middle value, or the mean of the two middle ones.
func median(h map[int64]int64) *float64 {
	vals, total := sortedHist(h)
	if total == 0 {
		return nil
	}
	at := func(i int64) int64 { // the i-th value, 0-based
		var seen int64
		for _, v := range vals {
			seen += h[v]
			if seen > i {
				return v
			}
		}
		return vals[len(vals)-1]
	}
	var m float64
	if total%2 == 1 {
		m = float64(at(total / 2))
	} else {
		m = float64(at(total/2-1)+at(total/2)) / 2
	}
	return &m
}

// Canonical is r as JSON with every number rounded to 9 significant
// digits: equal reports compare equal as strings whatever the order of
// the floating-point sums behind them.
func Canonical(r *Report) string {
	b, err := json.Marshal(r)
	if err != nil {
		return err.Error()
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err.Error()
	}
	b, _ = json.Marshal(roundAll(v))
	return string(b)
}

func roundAll(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
			return x
		}
		f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 9, 64), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = roundAll(e)
		}
	case []any:
		for i, e := range x {
			x[i] = roundAll(e)
		}
	}
	return v
}

// dayInRange reports whether a counter document's day (YYYY-MM-DD) or
// whole month (YYYY-MM) lies in [from, to].
func dayInRange(day, from, to string) bool {
	if len(day) == len("2006-01") {
		first, last, ok := monthBounds(day)
		return ok && first >= from && last <= to
	}
	return day >= from && day <= to
}

func monthBounds(month string) (first, last string, ok bool) {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return "", "", false
	}
	return t.Format(time.DateOnly), t.AddDate(0, 1, -1).Format(time.DateOnly), true
}

// DocReader reads counter documents (store.Rollups.RollupDocs).
type DocReader interface {
	RollupDocs(ctx context.Context, bot, fromDay, toDay string) ([]store.RollupDoc, error)
}

// LoadDocs reads the counter documents a report of [from, to] needs: the
// month documents of every whole month in the period and the day documents
// of the rest, so a year is a dozen documents per flow version and source,
// not 365.
func LoadDocs(ctx context.Context, st DocReader, bot, from, to string) ([]store.RollupDoc, error) {
	start, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	end, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return nil, fmt.Errorf("to %q: %w", to, err)
	}
	var out []store.RollupDoc
	var whole []string // the whole months, in order
	for m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(end); m = m.AddDate(0, 1, 0) {
		first, last := m, m.AddDate(0, 1, -1)
		lo, hi := maxTime(first, start), minTime(last, end)
		if lo.Equal(first) && hi.Equal(last) {
			whole = append(whole, m.Format("2006-01"))
			continue
		}
		// Within one month the range holds its days, never the month.
		docs, err := st.RollupDocs(ctx, bot, lo.Format(time.DateOnly), hi.Format(time.DateOnly))
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	if len(whole) > 0 {
		// Whole months are contiguous (only the first and last month of a
		// period can be partial): one query for all their documents.
		docs, err := st.RollupDocs(ctx, bot, whole[0], whole[len(whole)-1])
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
