package server

import (
	"bufio"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/analytics"
	"github.com/voronka/voronka/engine/store"
)

// mountAnalytics registers the leads and analytics routes (issue 14).
func (s *Server) mountAnalytics(api fiber.Router) {
	marketers := allow(store.RoleMarketer)
	api.Get("/bots/:bot/analytics", marketers, s.analytics)
	api.Get("/bots/:bot/contacts", marketers, s.contacts)
}

// activeWindow is how recent an inbound message makes a conversation
// active now.
const activeWindow = 30 * time.Minute

// maxAnalyticsDays bounds a report's period: rollups make a year cheap,
// a century is a typo.
const maxAnalyticsDays = 3 * 366

// receiptsOf says which receipts a channel type's platform reports:
// Telegram and the web chat report neither delivery nor reads.
func receiptsOf(channelType string) (delivered, read bool) {
	switch channelType {
	case "whatsapp", "viber":
		return true, true
	case "vk":
		return false, true
	}
	return false, false
}

// analytics answers GET /api/bots/{bot}/analytics?from=&to=[&flow=&version=&source=&by=source]
// with the report as JSON, or one of its tables as CSV (format=csv&table=…).
func (s *Server) analytics(c *fiber.Ctx) error {
	ctx := c.UserContext()
	bot := c.Params("bot")
	b, err := s.cfg.Store.GetBot(ctx, bot)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load bot %s: %w", bot, err)
	}
	loc := analytics.Location(b)
	now := s.cfg.Now().In(loc)
	q := analytics.Query{From: c.Query("from"), To: c.Query("to"), Flow: c.Query("flow")}
	if q.To == "" {
		q.To = now.Format(time.DateOnly)
	}
	if q.From == "" {
		q.From = now.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	from, err1 := time.Parse(time.DateOnly, q.From)
	to, err2 := time.Parse(time.DateOnly, q.To)
	if err1 != nil || err2 != nil {
		return badRequest("from and to are dates: YYYY-MM-DD", fiber.Map{"from": q.From, "to": q.To})
	}
	if to.Before(from) {
		return badRequest("to is before from", fiber.Map{"from": q.From, "to": q.To})
	}
	if to.Sub(from) > maxAnalyticsDays*24*time.Hour {
		return badRequest(fmt.Sprintf("a report covers at most %d days", maxAnalyticsDays), nil)
	}
	if v := c.Query("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || q.Flow == "" {
			return badRequest("version is a positive number and needs flow", v)
		}
		q.Version = n
	}
	if c.Context().QueryArgs().Has("source") {
		q.Source, q.HasSource = c.Query("source"), true
	}
	by := c.Query("by")
	if by != "" && by != "source" {
		return badRequest("by is source or nothing", by)
	}
	docs, err := analytics.LoadDocs(ctx, s.cfg.Store, bot, q.From, q.To)
	if err != nil {
		return err
	}
	rep := analytics.Build(docs, q, receiptsOf)
	if rep.ActiveNow, err = s.cfg.Store.CountActive(ctx, bot, s.cfg.Now().Add(-activeWindow)); err != nil {
		return err
	}
	if by == "source" {
		rep.BySource = map[string]*analytics.Report{}
		sources := map[string]bool{}
		for i := range docs {
			sources[docs[i].Source] = true
		}
		for src := range sources {
			sq := q
			sq.Source, sq.HasSource = src, true
			if q.HasSource && src != q.Source {
				continue
			}
			rep.BySource[src] = analytics.Build(docs, sq, receiptsOf)
		}
	}
	if c.Query("format") == "csv" {
		table := c.Query("table")
		rows, ok := analyticsTable(rep, table)
		if !ok {
			return badRequest("table is one of "+strings.Join(analyticsTables, ", "), table)
		}
		name := fmt.Sprintf("%s-%s-%s-%s.csv", bot, table, q.From, q.To)
		return sendCSV(c, name, func(w *csvWriter) error {
			for _, r := range rows {
				w.Row(r...)
			}
			return nil
		})
	}
	return c.JSON(rep)
}

var analyticsTables = []string{"summary", "goals", "funnel", "variants", "delivery", "peak_hours", "by_source"}

// analyticsTable lays one part of the report out as rows, the header first.
func analyticsTable(r *analytics.Report, table string) ([][]string, bool) {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	fp := func(x *float64) string {
		if x == nil {
			return "n/a"
		}
		return f(*x)
	}
	ip := func(x *int64) string {
		if x == nil {
			return "n/a"
		}
		return strconv.FormatInt(*x, 10)
	}
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	var rows [][]string
	switch table {
	case "summary":
		rows = [][]string{{"metric", "value"},
			{"started", i(r.Started)}, {"dialogs", i(r.Dialogs)}, {"active_now", i(r.ActiveNow)},
			{"messages_in", i(r.Messages.In)}, {"messages_bot", i(r.Messages.Bot)}, {"messages_operator", i(r.Messages.Operator)},
			{"auto_ratio", fp(r.AutoRatio)}, {"handoffs", i(r.Handoffs)},
			{"bot_reply_p50_ms", ip(r.ResponseTime.BotP50MS)}, {"bot_reply_p90_ms", ip(r.ResponseTime.BotP90MS)},
			{"operator_first_p50_s", ip(r.ResponseTime.OperatorP50S)}, {"operator_first_p90_s", ip(r.ResponseTime.OperatorP90S)},
			{"resolution_p50_s", ip(r.ResponseTime.ResolveP50S)}, {"resolution_p90_s", ip(r.ResponseTime.ResolveP90S)},
			{"csat_score", fp(r.CSAT.Score)}, {"csat_responses", i(r.CSAT.Responses)}, {"csat_surveys", i(r.CSAT.Surveys)},
			{"sessions", i(r.Sessions.Count)}, {"session_median_s", fp(r.Sessions.MedianS)}, {"session_mean_s", fp(r.Sessions.MeanS)},
			{"unsubscribes", i(r.Unsubscribes)}, {"unsubscribe_rate", fp(r.UnsubRate)}}
	case "goals":
		rows = [][]string{{"goal", "count", "rate", "value"}}
		for _, g := range sortedNames(r.Goals) {
			x := r.Goals[g]
			rows = append(rows, []string{g, i(x.Count), fp(x.Rate), f(x.Value)})
		}
	case "funnel":
		rows = [][]string{{"node", "entered", "percent_of_started", "next", "exits", "drop_off"}}
		for _, n := range sortedNames(r.Funnel) {
			x := r.Funnel[n]
			pct := "n/a"
			if r.Started > 0 {
				pct = f(float64(x.Entered) / float64(r.Started) * 100)
			}
			if len(x.Exits) == 0 {
				rows = append(rows, []string{n, i(x.Entered), pct, "", "0", i(x.DropOff)})
			}
			for _, next := range sortedNames(x.Exits) {
				rows = append(rows, []string{n, i(x.Entered), pct, next, i(x.Exits[next]), i(x.DropOff)})
			}
		}
	case "variants":
		rows = [][]string{{"split", "variant", "entered", "goal", "reached", "p_value"}}
		for _, sp := range sortedNames(r.Variants) {
			x := r.Variants[sp]
			for _, v := range sortedNames(x.Variants) {
				vv := x.Variants[v]
				if len(x.PValues) == 0 {
					rows = append(rows, []string{sp, v, i(vv.Entered), "", "", ""})
				}
				for _, g := range sortedNames(x.PValues) {
					rows = append(rows, []string{sp, v, i(vv.Entered), g, i(vv.Goals[g]), fp(x.PValues[g])})
				}
			}
		}
	case "delivery":
		rows = [][]string{{"channel", "sent", "delivered", "read", "failed", "delivered_rate", "read_rate"}}
		for _, ch := range sortedNames(r.Delivery) {
			x := r.Delivery[ch]
			rows = append(rows, []string{ch, i(x.Sent), ip(x.Delivered), ip(x.Read), i(x.Failed), fp(x.DeliveredRate), fp(x.ReadRate)})
		}
	case "peak_hours":
		rows = [][]string{{"weekday", "hour", "messages_in"}}
		days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
		for d := range r.PeakHours {
			for h := range r.PeakHours[d] {
				rows = append(rows, []string{days[d], strconv.Itoa(h), i(r.PeakHours[d][h])})
			}
		}
	case "by_source":
		rows = [][]string{{"source", "started", "dialogs", "messages_in", "goal", "goal_count", "goal_rate"}}
		for _, src := range sortedNames(r.BySource) {
			x := r.BySource[src]
			if len(x.Goals) == 0 {
				rows = append(rows, []string{src, i(x.Started), i(x.Dialogs), i(x.Messages.In), "", "", ""})
			}
			for _, g := range sortedNames(x.Goals) {
				rows = append(rows, []string{src, i(x.Started), i(x.Dialogs), i(x.Messages.In), g, i(x.Goals[g].Count), fp(x.Goals[g].Rate)})
			}
		}
	default:
		return nil, false
	}
	return rows, true
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// csvWriter writes the CSV Excel opens with Russian text intact: UTF-8
// with a byte order mark, ';' between fields, CRLF line ends, fields
// quoted when they hold a separator, a quote or a line break. A field
// starting with =, +, - or @ gets a leading quote so a spreadsheet never
// runs it as a formula (a lead's name is anyone's input).
type csvWriter struct {
	w   *bufio.Writer
	err error
}

func (w *csvWriter) Row(fields ...string) {
	if w.err != nil {
		return
	}
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(';')
		}
		if f != "" && strings.ContainsAny(f[:1], "=+-@\t\r") && !isNumber(f) {
			f = "'" + f
		}
		if strings.ContainsAny(f, ";\"\r\n") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		w.w.WriteString(f)
	}
	_, w.err = w.w.WriteString("\r\n")
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// sendCSV streams a CSV attachment written by fill, a buffer at a time.
func sendCSV(c *fiber.Ctx, filename string, fill func(w *csvWriter) error) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+strings.ReplaceAll(filename, `"`, "")+`"`)
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		bw.WriteString("\ufeff")
		w := &csvWriter{w: bw}
		if err := fill(w); err != nil {
			// The header is gone: say it in the file rather than end it short silently.
			w.Row("error", err.Error())
		}
		bw.Flush()
	})
	return nil
}
