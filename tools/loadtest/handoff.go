package main

// The handoff mode: `go run ./tools/loadtest handoff [flags]` measures how
// long a customer's message in a handed-off chat takes to reach the
// operator's event stream (GET /api/inbox/events). It starts the fake
// Telegram and `voronka serve`, creates -operators operators (each signed
// in, each with one open stream: the 200 concurrent streams of the issue),
// brings -chats chats to the faq-bot's handoff, gives each chat to one
// operator (so each message reaches one stream, as in a working inbox),
// and then every chat writes one message per -interval: -chats / -interval
// messages a second. The latency is from the load tool posting the update
// to Telegram's webhook… to the event arriving on the stream, both on the
// tool's clock.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/tools/internal/loopback"
)

func handoffMain(args []string) error {
	fs := flag.NewFlagSet("handoff", flag.ExitOnError)
	chats := fs.Int("chats", 2000, "handed-off chats, each writing one message per -interval")
	operators := fs.Int("operators", 200, "operators, each with one open event stream")
	interval := fs.Duration("interval", time.Second, "time between two messages of one chat")
	duration := fs.Duration("duration", 20*time.Second, "measured run time")
	warmup := fs.Duration("warmup", 5*time.Second, "unmeasured ramp-up")
	wantP99 := fs.Duration("target-p99", 500*time.Millisecond, "p99 target to report against")
	binary := fs.String("voronka", "bin/voronka", "the voronka binary to start")
	flows := fs.String("flows", "flows", "flows folder for the server")
	mongoURI := fs.String("mongo", "", "run the server on this MongoDB instead of a bolt file")
	verbose := fs.Bool("v", false, "show the server's log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Lean: the run measures the server, and a fake keeping every update
	// would grow the tool's heap, and its collections, with the run.
	fake := tgfake.New(tgfake.Options{Limits: tgfake.Limits{Unlimited: true}, Lean: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := fake.Start(); err != nil {
		return fmt.Errorf("start fake Telegram: %w", err)
	}
	defer fake.Close()
	dir, err := os.MkdirTemp("", "voronka-handoff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := loopback.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := append(os.Environ(),
		"VORONKA_LISTEN="+addr,
		"VORONKA_DATA="+filepath.Join(dir, "voronka.db"),
		"VORONKA_FLOWS="+*flows,
		"VORONKA_FLOW=faq-bot",
		"VORONKA_TELEGRAM_TOKEN="+fake.Token(),
		"VORONKA_TELEGRAM_API="+fake.APIEndpoint(),
		"VORONKA_PUBLIC_URL=http://"+addr,
		"VORONKA_API_TOKEN="+bcToken,
		"VORONKA_METRICS_TOKEN="+loadMetricsToken,
		"VORONKA_LOG_LEVEL=info", // bcServer waits for the webhook line
		fmt.Sprintf("VORONKA_TELEGRAM_RATE=%d", *chats*10),
	)
	if *mongoURI != "" {
		env = append(env, "VORONKA_MONGO_URI="+*mongoURI, fmt.Sprintf("VORONKA_MONGO_DB=handoff%d", time.Now().UnixNano()%1e9))
	}
	srv := &bcServer{binary: *binary, addr: addr, verbose: *verbose, env: env, bot: "faq-bot", ready: "webhook set"}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Operators who work another queue: each sees the chats given to them.
	t0 := time.Now()
	ids := make([]string, *operators)
	cookies := make([]string, *operators)
	var setup errgroup
	for i := range *operators {
		setup.run(func() error {
			login := fmt.Sprintf("op%03d", i)
			u, err := srv.api("POST", "/api/users", map[string]any{"login": login, "role": "operator", "password": "password-" + login,
				"queues": []string{"elsewhere"}, "capacity": 1000})
			if err != nil {
				return err
			}
			ids[i], _ = u["id"].(string)
			cookies[i], err = signIn(addr, login, "password-"+login)
			return err
		})
	}
	if err := setup.wait(); err != nil {
		return err
	}
	fmt.Printf("%d operators signed in in %s\n", *operators, time.Since(t0).Round(time.Millisecond))

	// One stream per operator; every customer message's arrival is noted
	// by its text, which is unique.
	var (
		mu      sync.Mutex
		sentAt  = map[string]time.Time{}
		lat     []time.Duration
		dupes   atomic.Int64
		arrived = map[string]bool{}
		streams atomic.Int64
	)
	for i := range *operators {
		go func() {
			err := stream(ctx, addr, cookies[i], func() { streams.Add(1) }, func(text string, at time.Time) {
				mu.Lock()
				defer mu.Unlock()
				s, ok := sentAt[text]
				switch {
				case !ok:
				case arrived[text]:
					dupes.Add(1)
				default:
					arrived[text] = true
					if at.After(measureStart(sentAt)) {
						lat = append(lat, at.Sub(s))
					}
				}
			})
			if err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "stream:", err)
			}
		}()
	}
	for streams.Load() < int64(*operators) {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("%d event streams open\n", streams.Load())

	// Every chat starts and asks for a person, then goes to one operator.
	t0 = time.Now()
	var hand errgroup
	for c := range *chats {
		hand.run(func() error {
			user := int64(500000 + c)
			if _, err := fake.SendText(user, "/start"); err != nil {
				return err
			}
			if _, err := fake.WaitSentCount(ctx, user, 1); err != nil {
				return err
			}
			if _, err := fake.SendText(user, "оператор"); err != nil {
				return err
			}
			if _, err := fake.WaitSentCount(ctx, user, 2); err != nil {
				return err
			}
			conv := fmt.Sprintf("faq-bot:telegram:%d", user)
			_, err := srv.api("POST", "/api/conversations/"+conv+"/assign", map[string]any{"to": ids[c%*operators]})
			return err
		})
	}
	if err := hand.wait(); err != nil {
		return err
	}
	fmt.Printf("%d chats handed off and assigned in %s\n", *chats, time.Since(t0).Round(time.Millisecond))

	fmt.Printf("%d chats write one message per %s each (offered ≈%.0f msg/s) to %d operators' streams, store %s; warm-up %s, measuring %s\n",
		*chats, *interval, float64(*chats)/interval.Seconds(), *operators, storeName(*mongoURI), *warmup, *duration)
	runCtx, stop := context.WithTimeout(ctx, *warmup+*duration)
	defer stop()
	start := time.Now()
	mu.Lock()
	sentAt[measureKey] = start.Add(*warmup)
	mu.Unlock()
	cpuFrom := time.Duration(0)
	go func() {
		if loopback.Sleep(runCtx, *warmup) {
			cpuFrom = processCPU(srv.cmd.Process.Pid)
		}
	}()
	var sent, failures atomic.Int64
	var wg sync.WaitGroup
	for c := range *chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := int64(500000 + c)
			if !loopback.Sleep(runCtx, time.Duration(int64(*interval)*int64(c)/int64(*chats))) {
				return
			}
			for n := 0; runCtx.Err() == nil; n++ {
				at := time.Now()
				text := fmt.Sprintf("вопрос %d-%d", user, n)
				mu.Lock()
				sentAt[text] = at
				mu.Unlock()
				if _, err := fake.SendText(user, text); err != nil {
					failures.Add(1)
				} else {
					sent.Add(1)
				}
				if !loopback.Sleep(runCtx, time.Until(at.Add(*interval))) {
					return
				}
			}
		}()
	}
	wg.Wait()
	cpuTo := processCPU(srv.cmd.Process.Pid)
	secs := time.Since(start.Add(*warmup)).Seconds()
	time.Sleep(3 * time.Second) // stragglers
	mu.Lock()
	missing := 0
	for text := range sentAt {
		if text != measureKey && !arrived[text] {
			missing++
		}
	}
	l := slices.Clone(lat)
	mu.Unlock()
	if len(l) == 0 {
		return fmt.Errorf("no message reached a stream in the measured window")
	}
	slices.Sort(l)
	pct := func(p float64) time.Duration { return l[min(len(l)-1, int(float64(len(l))*p))] }
	fmt.Printf("messages: %d sent (%.0f/s measured), %d reached a stream in the window; never arrived: %d; twice: %d; webhook failures: %d\n",
		sent.Load(), float64(len(l))/secs, len(l), missing, dupes.Load(), failures.Load())
	fmt.Printf("webhook → operator's stream: p50 %s  p90 %s  p99 %s  max %s\n", round(pct(0.5)), round(pct(0.9)), round(pct(0.99)), round(l[len(l)-1]))
	verdict := "met"
	if pct(0.99) > *wantP99 || missing > 0 {
		verdict = "NOT met"
	}
	fmt.Printf("target p99 ≤ %s with every message arriving: %s\n", *wantP99, verdict)
	if cpu := cpuTo - cpuFrom; cpuFrom > 0 && cpu > 0 {
		fmt.Printf("server CPU: %.2f cores, %s per message\n", cpu.Seconds()/secs, round(cpu/time.Duration(len(l))))
	}
	serverMetrics("http://" + addr + "/metrics")
	return nil
}

// measureKey holds, in sentAt, when the measured window starts.
const measureKey = "\x00measure"

func measureStart(sentAt map[string]time.Time) time.Time {
	if t, ok := sentAt[measureKey]; ok {
		return t
	}
	return time.Now().Add(time.Hour) // not measuring yet
}

// signIn signs login in and returns the session cookie.
func signIn(addr, login, password string) (string, error) {
	resp, err := http.Post("http://"+addr+"/api/login", "application/json",
		strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "voronka_session" {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("sign-in %s: %d", login, resp.StatusCode)
}

// stream reads an operator's event stream, calling opened once it is open
// and got with the text of every customer message event.
func stream(ctx context.Context, addr, cookie string, opened func(), got func(text string, at time.Time)) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/inbox/events", nil)
	req.Header.Set("Cookie", "voronka_session="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("event stream: %d", resp.StatusCode)
	}
	opened()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: ") && name == "message":
			at := time.Now()
			var ev struct {
				Message struct {
					Direction string `json:"direction"`
					Text      string `json:"text"`
				} `json:"message"`
			}
			if json.Unmarshal([]byte(line[len("data: "):]), &ev) == nil && ev.Message.Direction == "in" {
				got(ev.Message.Text, at)
			}
		}
	}
	return sc.Err()
}

// errgroup runs setup steps 32 at a time and keeps the first error.
type errgroup struct {
	wg   sync.WaitGroup
	sem  chan struct{}
	once sync.Once
	err  error
}

func (g *errgroup) run(f func() error) {
	if g.sem == nil {
		g.sem = make(chan struct{}, 32)
	}
	g.wg.Add(1)
	g.sem <- struct{}{}
	go func() {
		defer g.wg.Done()
		defer func() { <-g.sem }()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

func (g *errgroup) wait() error {
	g.wg.Wait()
	return g.err
}
