package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
)

// metricsAuth lets a scraper through with the metrics token, when one is
// set; without one, only ServeMetrics' own listener serves /metrics.
func (s *Server) metricsAuth(c *fiber.Ctx) error {
	if tok := s.cfg.MetricsToken; tok != "" {
		got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok || !constantTimeEqual(got, tok) {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return &apiError{Status: fiber.StatusUnauthorized, Msg: "send the metrics token"}
		}
	}
	return c.Next()
}

// metrics serves the counters in the Prometheus text format. It is written
// by hand: a dozen counters do not justify a client library.
func (s *Server) metrics(c *fiber.Ctx) error {
	var b strings.Builder
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	gauge := func(name, help string, v int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
	}
	fmt.Fprintf(&b, "# HELP voronka_http_requests_total HTTP responses by class.\n# TYPE voronka_http_requests_total counter\n")
	fmt.Fprintf(&b, "voronka_http_requests_total{class=\"2xx\"} %d\n", s.reqs.ok.Load())
	fmt.Fprintf(&b, "voronka_http_requests_total{class=\"4xx\"} %d\n", s.reqs.clientErr.Load())
	fmt.Fprintf(&b, "voronka_http_requests_total{class=\"5xx\"} %d\n", s.reqs.serverErr.Load())
	if r := s.cfg.Runtime; r != nil {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		st, err := r.Stats(ctx)
		cancel()
		if err != nil {
			s.log.Warn("metrics: queue depth unavailable", "err", err)
		}
		counter("voronka_inbound_total", "Updates received from messengers.", st.Inbound)
		counter("voronka_inbound_duplicates_total", "Updates dropped as already processed.", st.Duplicates)
		counter("voronka_steps_total", "Engine steps committed.", st.Steps)
		counter("voronka_step_errors_total", "Engine steps that reported an error.", st.StepErrors)
		counter("voronka_version_conflicts_total", "Conditional writes lost to another writer.", st.Conflicts)
		counter("voronka_errors_total", "Failures while handling updates and jobs.", st.Errors)
		counter("voronka_outbound_sent_total", "Messages delivered to messengers.", st.Sent)
		counter("voronka_outbound_failed_total", "Messages given up on.", st.SendFailed)
		counter("voronka_outbound_retries_total", "Retryable send failures (429, 5xx, network).", st.SendRetries)
		counter("voronka_blocked_total", "Chats found blocked while sending.", st.Blocked)
		counter("voronka_resends_total", "Outboxes adopted from a process whose lease ended (a crash).", st.Resends)
		counter("voronka_jobs_run_total", "Scheduled jobs run.", st.JobsRun)
		counter("voronka_jobs_failed_total", "Scheduled jobs given up on.", st.JobsFailed)
		counter("voronka_timers_fired_total", "Timers delivered to conversations.", st.TimersFired)
		counter("voronka_webhooks_total", "Webhook calls made by flows.", st.Webhooks)
		gauge("voronka_queue_depth", "Pending scheduled jobs.", st.QueueDepth)
		gauge("voronka_sending_conversations", "Conversations with an outbox being delivered.", st.Sending)
		histogram(&b, "voronka_handle_latency_seconds", "Time from receiving an update to its durable write.", st.HandleLatency)
		histogram(&b, "voronka_step_latency_seconds", "Time of one engine step.", st.StepLatency)
	}
	if s.cfg.Live != nil {
		sockets := false
		for _, a := range s.cfg.Live.Adapters() {
			if g, ok := a.(channel.Gauger); ok {
				for _, m := range g.Gauges() {
					gauge(m.Name, m.Help, m.Value)
				}
			}
			_, isSocket := a.(channel.SocketServer)
			sockets = sockets || isSocket
		}
		if sockets {
			counter("voronka_webchat_refused_total", "Web chat connections and new chats refused by the limits.", s.webChatRefused.Load())
		}
	}
	s.channelMetrics(&b)
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return c.SendString(b.String())
}

func histogram(b *strings.Builder, name, help string, h runtime.Histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for i, bound := range h.Bounds {
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(bound.Seconds(), 'f', -1, 64), h.Counts[i])
	}
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, h.Count, name,
		strconv.FormatFloat(h.Sum.Seconds(), 'f', -1, 64), name, h.Count)
}
