// Command loadtest plays many concurrent chats of one messenger against a
// Voronka server through the messenger's webhook and reports throughput and
// the latency from a message being sent to the bot's reply reaching the
// platform.
//
// It starts the platform's fake in-process (tgfake, wafake, viberfake or
// vkfake: each delivers to the webhook signed as its platform does) and
// `voronka serve` as a separate process pointed at it, so the server is
// measured as it runs in production:
//
//	go build -o bin/voronka ./cmd/voronka
//	go run ./tools/loadtest                                         # Telegram, bolt, 2,100 chats
//	go run ./tools/loadtest -platform whatsapp                      # WhatsApp, Viber, VK
//	go run ./tools/loadtest -mongo mongodb://127.0.0.1:27017        # MongoDB
//
// Each chat behaves like a person bound by the platform's per-chat limit
// (Telegram about one message a second, WhatsApp one per 6 s): it sends,
// waits for the reply, and sends again no sooner than -interval after its
// previous message. The offered load is therefore about chats / interval
// messages per second.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	plat := flag.String("platform", "telegram", "messenger to drive through its webhook: telegram, whatsapp, viber or vk")
	// A little above the target: a chat sends no sooner than -interval
	// after its previous message, so the measured rate sits just under
	// the offered one.
	chats := flag.Int("chats", 0, "concurrent chats, each sending about one message per -interval (default: 5% over the target rate)")
	wantRate := flag.Float64("target-rate", 0, "throughput target to report against, messages/s (Telegram 2,000; the others 1,500)")
	wantP99 := flag.Duration("target-p99", 0, "p99 latency target to report against (Telegram 50 ms; the others 100 ms)")
	duration := flag.Duration("duration", 20*time.Second, "measured run time")
	warmup := flag.Duration("warmup", 5*time.Second, "unmeasured ramp-up before the measured run")
	interval := flag.Duration("interval", 0, "least time between two messages of one chat (default: the platform's per-chat limit, at least 1 s: WhatsApp about 6 s)")
	binary := flag.String("voronka", "bin/voronka", "the voronka binary to start")
	flows := flag.String("flows", "flows", "flows folder for the server")
	botFlow := flag.String("flow", "faq-bot", "flow the bot runs (its id is the bot id)")
	mongoURI := flag.String("mongo", "", "run the server on this MongoDB instead of a bolt file")
	verbose := flag.Bool("v", false, "show the server's log")
	perSecond := flag.Bool("per-second", false, "also show each measured second's replies and latency, to tell a steady tail from stalls")
	cpuProfile := flag.String("cpuprofile", "", "write the load tool's own CPU profile (fake platform and chats) to this file")
	memProfile := flag.String("memprofile", "", "write the load tool's own heap profile (what the fake platform and the chats keep) at the end of the run to this file")
	flag.Parse()
	p, err := newPlatform(*plat)
	if err != nil {
		return err
	}
	if *wantRate == 0 {
		*wantRate = 1500
		if p.name() == "telegram" {
			*wantRate = 2000
		}
	}
	if *wantP99 == 0 {
		*wantP99 = 100 * time.Millisecond
		if p.name() == "telegram" {
			*wantP99 = 50 * time.Millisecond
		}
	}
	if *interval == 0 {
		*interval = time.Second
		if l := p.limits(); l.PerChatSecond > 0 && l.PerChatSecond < 1 {
			*interval = time.Duration(float64(time.Second) / l.PerChatSecond)
		}
	}
	if *chats == 0 {
		*chats = int(math.Ceil(*wantRate * 1.05 * interval.Seconds()))
	}
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

	// The fake takes every send: this measures Voronka, not the platform.
	if err := p.start(fakeSetup{unlimited: true, lean: true}); err != nil {
		return fmt.Errorf("start fake %s: %w", p.name(), err)
	}
	defer p.close()

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
	env := append(os.Environ(),
		"VORONKA_LISTEN="+addr,
		"VORONKA_DATA="+filepath.Join(dir, "voronka.db"),
		"VORONKA_FLOWS="+*flows,
		"VORONKA_FLOW="+*botFlow,
		"VORONKA_PUBLIC_URL=http://"+addr,
		"VORONKA_API_TOKEN="+bcToken,
		"VORONKA_LOG_LEVEL=info",
		// /metrics is off the public port unless a token is set.
		"VORONKA_METRICS_TOKEN="+loadMetricsToken,
	)
	// The platform caps one bot (Telegram about 30 msg/s, WhatsApp 80);
	// this measures Voronka, so the bot-wide cap is lifted. The per-chat
	// limit stays.
	env = append(env, p.env(float64(*chats*10))...)
	if *mongoURI != "" {
		env = append(env, "VORONKA_MONGO_URI="+*mongoURI, fmt.Sprintf("VORONKA_MONGO_DB=load%d", time.Now().UnixNano()%1e9))
	}
	srv := &bcServer{binary: *binary, addr: addr, env: env, verbose: *verbose, bot: *botFlow, ready: p.readyLine()}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.stop()
	cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
	err = p.connect(cctx, srv)
	ccancel()
	if err != nil {
		return fmt.Errorf("connect %s: %w", p.name(), err)
	}

	fmt.Printf("%s: %d chats, one message per %s each (offered ≈%.0f msg/s), store %s; bot-wide cap lifted; warm-up %s, measuring %s\n",
		p.name(), *chats, *interval, float64(*chats)/interval.Seconds(), storeName(*mongoURI), *warmup, *duration)
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
		cpuFrom = processCPU(srv.cmd.Process.Pid)
		<-ctx.Done()
		cpuTo = processCPU(srv.cmd.Process.Pid)
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
		go func(user int) {
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
				if err := p.write(user, text); err != nil {
					failures.Add(1)
					return
				}
				have, err := p.waitSent(ctx, user, got+1)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
					}
					return
				}
				got = have
				now := time.Now()
				mu.Lock()
				results = append(results, result{latency: now.Sub(sent), at: now})
				mu.Unlock()
				if !loopback.Sleep(ctx, time.Until(sent.Add(*interval))) {
					return
				}
			}
		}(100000 + i)
	}
	wg.Wait()
	end := time.Now()
	if *memProfile != "" {
		writeHeapProfile(*memProfile)
	}
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
	if *perSecond {
		printSeconds(os.Stdout, results, measureFrom, measureFrom.Add(*duration), *wantP99)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	secs := end.Sub(measureFrom).Seconds()
	fmt.Printf("replies: %d in %.1f s = %.0f msg/s\n", len(lat), secs, float64(len(lat))/secs)
	fmt.Printf("latency to the reply: p50 %s  p90 %s  p99 %s  max %s\n",
		round(pct(0.50)), round(pct(0.90)), round(pct(0.99)), round(lat[len(lat)-1]))
	rate, p99 := float64(len(lat))/secs, pct(0.99)
	verdict := "met"
	if rate < *wantRate || p99 > *wantP99 || failures.Load() > 0 {
		verdict = "NOT met"
	}
	sends, limited := p.stats()
	fmt.Printf("target ≥ %.0f msg/s with p99 ≤ %s and no failures: %s\n", *wantRate, *wantP99, verdict)
	fmt.Printf("failures: %d; fake %s took %d sends (%d rate-limit answers)\n", failures.Load(), p.name(), sends, limited)
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

// printSeconds shows the measured window second by second. A whole run's
// p99 cannot tell a tail spread evenly over the run from a few seconds in
// which every reply was late (the process or the machine stalled).
func printSeconds(w io.Writer, results []result, from, to time.Time, target time.Duration) {
	var bySec [][]time.Duration
	for _, r := range results {
		if !r.at.After(from) || !r.at.Before(to) {
			continue
		}
		k := int(r.at.Sub(from) / time.Second)
		for len(bySec) <= k {
			bySec = append(bySec, nil)
		}
		bySec[k] = append(bySec[k], r.latency)
	}
	over := 0
	for k, l := range bySec {
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		p99 := l[min(len(l)-1, len(l)*99/100)]
		mark := ""
		if p99 > target {
			over++
			mark = "  over"
		}
		fmt.Fprintf(w, "  second %3d: %5d replies  p50 %-8s p99 %-8s max %s%s\n", k, len(l), round(l[len(l)/2]), round(p99), round(l[len(l)-1]), mark)
	}
	fmt.Fprintf(w, "seconds with p99 over %s: %d of %d\n", target, over, len(bySec))
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

// writeHeapProfile writes the live heap after a collection, so it shows what
// the run keeps (the fake's records, the results) rather than what it last
// allocated.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
	}
}
