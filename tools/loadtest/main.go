// Command loadtest plays many concurrent Telegram chats against a Voronka
// server through its webhook and reports throughput and the latency from a
// message being sent to the bot's reply reaching Telegram.
//
// It starts a fake Telegram Bot API in-process and `voronka serve` as a
// separate process (webhook mode, pointed at the fake), so the server is
// measured as it runs in production:
//
//	go build -o bin/voronka ./cmd/voronka
//	go run ./tools/loadtest                                         # bolt, 2,100 chats
//	go run ./tools/loadtest -mongo mongodb://127.0.0.1:27017        # MongoDB
//
// Each chat behaves like a person bound by Telegram's limit of about one
// message a second per chat: it sends, waits for the reply, and sends again
// no sooner than -interval after its previous message. The offered load is
// therefore about chats / interval messages per second.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/tools/internal/loopback"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "broadcast" {
		if err := broadcastMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest broadcast:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "handoff" {
		if err := handoffMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest handoff:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type result struct {
	latency time.Duration
	at      time.Time
}

func run() error {
	// A little above the target: a chat sends no sooner than -interval
	// after its previous message, so the measured rate sits just under
	// the offered one.
	chats := flag.Int("chats", 2100, "concurrent chats (each sends about one message per -interval)")
	wantRate := flag.Float64("target-rate", 2000, "throughput target to report against, messages/s")
	wantP99 := flag.Duration("target-p99", 50*time.Millisecond, "p99 latency target to report against")
	duration := flag.Duration("duration", 20*time.Second, "measured run time")
	warmup := flag.Duration("warmup", 5*time.Second, "unmeasured ramp-up before the measured run")
	interval := flag.Duration("interval", time.Second, "least time between two messages of one chat (Telegram allows about one a second)")
	binary := flag.String("voronka", "bin/voronka", "the voronka binary to start")
	flows := flag.String("flows", "flows", "flows folder for the server")
	botFlow := flag.String("flow", "faq-bot", "flow the Telegram bot runs")
	mongoURI := flag.String("mongo", "", "run the server on this MongoDB instead of a bolt file")
	verbose := flag.Bool("v", false, "show the server's log")
	cpuProfile := flag.String("cpuprofile", "", "write the load tool's own CPU profile (fake Telegram and chats) to this file")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// The tool shares the machine with the server it measures: the
		// less CPU it spends collecting garbage, the less it disturbs it.
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	fake := tgfake.New(tgfake.Options{Limits: tgfake.Limits{Unlimited: true}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := fake.Start(); err != nil {
		return fmt.Errorf("start fake Telegram: %w", err)
	}
	defer fake.Close()

	port, err := loopback.FreePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "voronka-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(*binary, "serve")
	cmd.Env = append(os.Environ(),
		"VORONKA_LISTEN="+addr,
		"VORONKA_DATA="+filepath.Join(dir, "voronka.db"),
		"VORONKA_FLOWS="+*flows,
		"VORONKA_FLOW="+*botFlow,
		"VORONKA_TELEGRAM_TOKEN="+fake.Token(),
		"VORONKA_TELEGRAM_API="+fake.APIEndpoint(),
		"VORONKA_PUBLIC_URL=http://"+addr,
		"VORONKA_LOG_LEVEL=info",
		// /metrics is off the public port unless a token is set.
		"VORONKA_METRICS_TOKEN="+loadMetricsToken,
		// Telegram caps one bot at about 30 msg/s; this measures Voronka, so
		// the bot-wide cap is lifted. The per-chat limit (1 msg/s) stays.
		fmt.Sprintf("VORONKA_TELEGRAM_RATE=%d", *chats*10),
	)
	if *mongoURI != "" {
		cmd.Env = append(cmd.Env, "VORONKA_MONGO_URI="+*mongoURI, fmt.Sprintf("VORONKA_MONGO_DB=load%d", time.Now().UnixNano()%1e9))
	}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (build it with go build -o bin/voronka ./cmd/voronka): %w", *binary, err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "webhook set") {
				once.Do(func() { close(serving) })
			}
			if *verbose || strings.Contains(line, "level=ERROR") {
				fmt.Fprintln(os.Stderr, "server:", line)
			}
		}
	}()
	select {
	case <-serving:
	case <-time.After(60 * time.Second):
		return errors.New("the server did not set its webhook within 60 s")
	}

	fmt.Printf("%d chats, one message per %s each (offered ≈%.0f msg/s), store %s; bot-wide Telegram cap lifted; warm-up %s, measuring %s\n",
		*chats, *interval, float64(*chats)/interval.Seconds(), storeName(*mongoURI), *warmup, *duration)
	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(*warmup)
	// The server's CPU time over the measured window: on a shared machine
	// replies/s depends on the neighbours, CPU per message much less.
	var cpuFrom, cpuTo time.Duration
	cpuSampled := make(chan struct{})
	go func() {
		defer close(cpuSampled)
		if !loopback.Sleep(ctx, *warmup) {
			return
		}
		cpuFrom = processCPU(cmd.Process.Pid)
		<-ctx.Done()
		cpuTo = processCPU(cmd.Process.Pid)
	}()
	var (
		mu       sync.Mutex
		results  = make([]result, 0, *chats*int((*duration+*warmup)/(*interval)+1))
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	words := []string{"привет", "сколько стоит", "ммм", "а скидки есть?", "хочу узнать", "ок", "что у вас есть"}
	for i := 0; i < *chats; i++ {
		wg.Add(1)
		go func(user int64) {
			defer wg.Done()
			// Spread the first messages over one interval, as real traffic is.
			if !loopback.Sleep(ctx, time.Duration(rand.Int64N(int64(*interval)))) {
				return
			}
			got := 0
			for n := 0; ctx.Err() == nil; n++ {
				sent := time.Now()
				text := words[rand.IntN(len(words))]
				if n == 0 {
					text = "/start"
				}
				if _, err := fake.SendText(user, text); err != nil {
					failures.Add(1)
					return
				}
				msgs, err := fake.WaitSent(ctx, user, got+1)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
					}
					return
				}
				got = len(msgs)
				now := time.Now()
				mu.Lock()
				results = append(results, result{latency: now.Sub(sent), at: now})
				mu.Unlock()
				if !loopback.Sleep(ctx, time.Until(sent.Add(*interval))) {
					return
				}
			}
		}(int64(100000 + i))
	}
	wg.Wait()
	end := time.Now()
	<-cpuSampled
	var lat []time.Duration
	for _, r := range results {
		if r.at.After(measureFrom) {
			lat = append(lat, r.latency)
		}
	}
	if len(lat) == 0 {
		return errors.New("no replies in the measured window")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	secs := end.Sub(measureFrom).Seconds()
	fmt.Printf("replies: %d in %.1f s = %.0f msg/s\n", len(lat), secs, float64(len(lat))/secs)
	fmt.Printf("latency to the reply: p50 %s  p90 %s  p99 %s  max %s\n",
		round(pct(0.50)), round(pct(0.90)), round(pct(0.99)), round(lat[len(lat)-1]))
	rate, p99 := float64(len(lat))/secs, pct(0.99)
	verdict := "met"
	if rate < *wantRate || p99 >= *wantP99 || failures.Load() > 0 {
		verdict = "NOT met"
	}
	fmt.Printf("target ≥ %.0f msg/s with p99 < %s and no failures: %s\n", *wantRate, *wantP99, verdict)
	fmt.Printf("failures: %d; fake Telegram saw %d sendMessage calls\n", failures.Load(), fake.Stats().Requests["sendMessage"])
	if cpu := cpuTo - cpuFrom; cpuFrom > 0 && cpu > 0 {
		fmt.Printf("server CPU: %.2f cores, %s per reply\n", cpu.Seconds()/secs, round(cpu/time.Duration(len(lat))))
	}
	serverMetrics("http://" + addr + "/metrics")
	return nil
}

// loadMetricsToken is the metrics token of the server the tool starts.
const loadMetricsToken = "loadtest-metrics"

// serverMetrics prints the server's own view: how long Handle took (receive
// to durable write) and how often sends were retried.
func serverMetrics(url string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		fmt.Println("server metrics unavailable:", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+loadMetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println("server metrics unavailable:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "voronka_handle_latency_seconds_bucket") || strings.HasPrefix(l, "voronka_handle_latency_seconds_count") ||
			strings.HasPrefix(l, "voronka_handle_latency_seconds_sum") || strings.HasPrefix(l, "voronka_outbound_") ||
			strings.HasPrefix(l, "voronka_version_conflicts_total") || strings.HasPrefix(l, "voronka_errors_total") {
			lines = append(lines, l)
		}
	}
	fmt.Println("server metrics:\n  " + strings.Join(lines, "\n  "))
}

func storeName(mongo string) string {
	if mongo != "" {
		return "mongodb"
	}
	return "bolt"
}

func round(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}

// processCPU is the user+system CPU time of a process so far (Linux; 0
// elsewhere or on error).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields count from after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	// USER_HZ is 100 on every Linux this runs on.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
