package main

// The broadcast mode: `go run ./tools/loadtest broadcast [flags]` seeds N
// contacts who started the bot (in the fake and in the server's bolt file),
// starts `voronka serve` at a bot-wide rate, sends one broadcast to all of
// them through the API and measures, from the fake's side, sends per second,
// 429s, the server's RSS, and whether every contact got the message exactly
// once. A few live chats keep writing meanwhile and their reply latency is
// measured. With -kill-every the server is killed with SIGKILL that often
// and started again, and the broadcast must still reach everyone once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/tools/internal/loopback"
)

const bcToken = "loadtest-api"

type bcServer struct {
	binary, addr string
	env          []string
	verbose      bool
	cmd          *exec.Cmd
	// bot is the bot the tool drives; ready, when set, is the log line
	// that says its channel is up (else /readyz answering is enough).
	bot, ready string
}

// start runs the server and waits until it is up: its ready line, or
// /readyz answering.
func (s *bcServer) start() error {
	s.cmd = exec.Command(s.binary, "serve")
	s.cmd.Env = s.env
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s (build it with go build -o bin/voronka ./cmd/voronka): %w", s.binary, err)
	}
	serving := make(chan struct{})
	var once sync.Once
	up := func() { once.Do(func() { close(serving) }) }
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if s.ready != "" && strings.Contains(line, s.ready) {
				up()
			}
			if s.verbose || strings.Contains(line, "level=ERROR") {
				fmt.Fprintln(os.Stderr, "server:", line)
			}
		}
	}()
	if s.ready == "" {
		go func() {
			for range 600 {
				if resp, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						up()
						return
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	select {
	case <-serving:
		return nil
	case <-time.After(60 * time.Second):
		return errors.New("the server was not up within 60 s")
	}
}

func (s *bcServer) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *bcServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.kill()
	}
}

func (s *bcServer) api(method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+bcToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return out, nil
}

// rssKB is the process's anonymous resident memory (its heap and stacks):
// the store's file pages mapped in (bbolt maps its file) are left out, as
// they grow with the data, not with what the process holds.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssAnon:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func broadcastMain(args []string) error {
	fs := flag.NewFlagSet("broadcast", flag.ExitOnError)
	plat := fs.String("platform", "telegram", "messenger: telegram, whatsapp, viber or vk")
	n := fs.Int("recipients", 2000, "contacts who started the bot and get the broadcast")
	rateFlag := fs.Int("rate", 0, "the bot's send rate, msg/s, which the fake enforces (default the platform's: Telegram 30, 1000 with paid broadcasts; WhatsApp 80; VK 20; Viber's 50 is fixed)")
	live := fs.Int("live", 5, "live chats writing every -live-interval while the broadcast runs")
	liveEvery := fs.Duration("live-interval", 0, "time between two messages of one live chat (default 2 s, or the platform's per-chat limit when longer)")
	killEvery := fs.Duration("kill-every", 0, "kill the server with SIGKILL this often and start it again")
	binary := fs.String("voronka", "bin/voronka", "the voronka binary to start")
	flows := fs.String("flows", "flows", "flows folder for the server")
	botFlow := fs.String("flow", "faq-bot", "flow the bot runs (its id is the bot id)")
	port := fs.Int("port", 0, "server port (0: a free one)")
	verbose := fs.Bool("v", false, "show the server's log")
	_ = fs.Parse(args)

	p, err := newPlatform(*plat)
	if err != nil {
		return err
	}
	lim := p.limits()
	rate := &lim.PerSecond
	if *rateFlag > 0 && p.name() != "viber" {
		*rate = float64(*rateFlag)
	}
	if *liveEvery == 0 {
		*liveEvery = 2 * time.Second
		if lim.PerChatSecond > 0 && time.Duration(float64(time.Second)/lim.PerChatSecond) > *liveEvery {
			*liveEvery = time.Duration(float64(time.Second) / lim.PerChatSecond)
		}
	}
	if err := p.start(fakeSetup{rate: *rate}); err != nil {
		return fmt.Errorf("start fake %s: %w", p.name(), err)
	}
	defer p.close()

	dir, err := os.MkdirTemp("", "voronka-broadcast-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "voronka.db")
	bot := *botFlow
	t0 := time.Now()
	if err := seed(p, dbPath, bot, *n); err != nil {
		return err
	}
	fmt.Printf("seeded %d contacts in %s\n", *n, time.Since(t0).Round(time.Millisecond))

	listen := *port
	if listen == 0 {
		if listen, err = loopback.FreePort(); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", listen)
	srv := &bcServer{binary: *binary, addr: addr, verbose: *verbose, env: append(os.Environ(),
		"VORONKA_LISTEN="+addr,
		"VORONKA_DATA="+dbPath,
		"VORONKA_FLOWS="+*flows,
		"VORONKA_FLOW="+bot,
		"VORONKA_PUBLIC_URL=http://"+addr,
		"VORONKA_API_TOKEN="+bcToken,
		"VORONKA_LOG_LEVEL=info",
	), bot: bot, ready: p.readyLine()}
	srv.env = append(srv.env, p.env(*rate)...)
	if err := srv.start(); err != nil {
		return err
	}
	defer func() { srv.stop() }()
	cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
	err = p.connect(cctx, srv)
	ccancel()
	if err != nil {
		return fmt.Errorf("connect %s: %w", p.name(), err)
	}

	text := "Новости для {{ contact.first_name }}"
	created, err := srv.api("POST", "/api/bots/"+bot+"/broadcasts", map[string]any{
		"name": "load", "start": true, "variants": []map[string]any{{"name": "A", "text": text}}})
	if err != nil {
		return err
	}
	id, _ := created["id"].(string)
	start := time.Now()
	fmt.Printf("%s broadcast %s to %d contacts at %g msg/s (the fake's limit) started\n", p.name(), id, *n, *rate)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Live chats (users above the seeded ones) write while it runs.
	var latMu sync.Mutex
	var lat []time.Duration
	var liveFail atomic.Int64
	var wg sync.WaitGroup
	for i := range *live {
		wg.Add(1)
		go func(user int) {
			defer wg.Done()
			for k := 0; ctx.Err() == nil; k++ {
				before := len(p.sent(user))
				msg := "привет"
				if k == 0 {
					msg = "/start"
				}
				sent := time.Now()
				if err := p.write(user, msg); err != nil {
					liveFail.Add(1)
				}
				for ctx.Err() == nil && len(p.sent(user)) <= before {
					if time.Since(sent) > 30*time.Second {
						liveFail.Add(1)
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				if k > 0 && len(p.sent(user)) > before {
					latMu.Lock()
					lat = append(lat, time.Since(sent))
					latMu.Unlock()
				}
				if !loopback.Sleep(ctx, *liveEvery) {
					return
				}
			}
		}(10_000_000 + i)
	}

	// Sample the fake's sends and the server's RSS every second.
	type sample struct {
		at   time.Time
		sent int
		rss  int
	}
	var samples []sample
	kills := 0
	lastKill := time.Now()
	var status string
	var progress map[string]any
	for {
		time.Sleep(time.Second)
		sends, _ := p.stats()
		samples = append(samples, sample{time.Now(), sends, rssKB(srv.cmd.Process.Pid)})
		if *killEvery > 0 && time.Since(lastKill) >= *killEvery {
			srv.kill()
			kills++
			fmt.Printf("%5.1fs  killed the server (kill %d), %d sent so far\n", time.Since(start).Seconds(), kills, sends)
			if err := srv.start(); err != nil {
				return err
			}
			lastKill = time.Now()
		}
		got, err := srv.api("GET", "/api/bots/"+bot+"/broadcasts/"+id+"?results=0", nil)
		if err != nil {
			continue // restarting
		}
		b, _ := got["broadcast"].(map[string]any)
		status, _ = b["status"].(string)
		progress, _ = b["progress"].(map[string]any)
		if len(samples)%5 == 0 {
			fmt.Printf("%5.1fs  %s  fake sent %d  progress sent %v  RSS %d MB\n", time.Since(start).Seconds(), status,
				sends, progress["sent"], samples[len(samples)-1].rss/1024)
		}
		if status == "done" || status == "cancelled" || time.Since(start) > time.Duration(float64(*n)/(*rate)*3+120)*time.Second {
			break
		}
	}
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	// Exactly once, from the fake's records.
	want := strings.ReplaceAll(text, "{{ contact.first_name }}", "")
	dups, missed := 0, 0
	var first, last time.Time
	for i := 1; i <= *n; i++ {
		c := 0
		for _, m := range p.sent(i) {
			if strings.HasPrefix(m.text, want) {
				c++
				if first.IsZero() || m.at.Before(first) {
					first = m.at
				}
				if m.at.After(last) {
					last = m.at
				}
			}
		}
		switch {
		case c == 0:
			missed++
		case c > 1:
			dups += c - 1
		}
	}
	_, limited := p.stats()
	span := last.Sub(first).Seconds()
	// The rate over the middle of the run (the sends of live replies
	// included: the fake's limit counts them too), and the whole run.
	var steady float64
	if len(samples) > 4 {
		a, b := samples[1], samples[len(samples)-2]
		steady = float64(b.sent-a.sent) / b.at.Sub(a.at).Seconds()
	}
	rss := make([]int, 0, len(samples))
	for _, s := range samples {
		if s.rss > 0 {
			rss = append(rss, s.rss/1024)
		}
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(time.Millisecond)
	}
	fmt.Printf("status %s after %s; progress %v\n", status, elapsed.Round(time.Millisecond), progress)
	bcRate := float64(*n-missed) / max(span, 0.001)
	fmt.Printf("broadcast: %d recipients, %d duplicates, %d missed; first to last send %.1f s = %.1f msg/s; steady %.1f msg/s (all sends, live included); rate-limit answers: %d; kills: %d\n",
		*n, dups, missed, span, bcRate, steady, limited, kills)
	fmt.Printf("against %s's limit of %g msg/s: broadcast %.1f%%, steady (all sends) %.1f%%\n", p.name(), *rate, 100*bcRate / *rate, 100*steady / *rate)
	if len(rss) > 0 {
		fmt.Printf("server anonymous RSS MB: first %d, min %d, max %d, last %d\n", rss[0], slices.Min(rss), slices.Max(rss), rss[len(rss)-1])
	}
	fmt.Printf("live replies: %d, p50 %s, p99 %s, max %s, failures %d\n", len(lat), pct(0.5), pct(0.99), pct(1), liveFail.Load())
	if dups > 0 || missed > 0 {
		return fmt.Errorf("%d duplicates, %d missed", dups, missed)
	}
	return nil
}

// seed makes n users known to the fake (Telegram: they started the bot,
// the updates dropped) and writes their conversations straight into the
// bolt file, as if each had written once: the broadcast, not the seeding,
// is what is measured.
func seed(p platform, dbPath, bot string, n int) error {
	for i := 1; i <= n; i++ {
		p.seed(i)
	}
	if tg, ok := p.(*tgPlatform); ok {
		if err := tg.dropSeeded(); err != nil {
			return err
		}
	}
	st, err := bolt.Open(dbPath, &bolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1 + w; i <= n; i += 16 {
				chat := p.chat(i)
				c := &store.Conversation{ID: store.ConversationID(bot, p.name(), chat), Bot: bot, Channel: p.name(), Chat: chat,
					Contact:   store.Contact{FirstName: fmt.Sprintf("U%d", i)},
					Consent:   store.Consent{Subscribed: true, At: now, Source: "first_message"},
					CreatedAt: now, UpdatedAt: now, LastInboundAt: now}
				if err := st.CreateConversation(context.Background(), c); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
