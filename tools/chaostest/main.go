// Command chaostest checks that the message path loses nothing and doubles
// nothing while the server is killed and Telegram misbehaves.
//
// It starts the fake Telegram Bot API in-process behind a fault proxy, and
// `voronka serve` as a separate process in webhook mode running an echo flow
// (every message m<N> is answered "echo m<N>"). Chats keep writing at their
// own pace whatever happens; meanwhile a plan of faults plays: kill -9 of the
// server (restarted at once, as a supervisor would), and windows in which
// every Bot API request gets a 502, a 429 with retry_after, a connection
// reset, or no answer at all. At the end every accepted update must have
// exactly one reply, in order; the only duplicates allowed are sends that
// were in flight when the server was killed (at most one per chat per kill).
//
//	go build -o bin/voronka ./cmd/voronka
//	go run ./tools/chaostest -plan short                      # ~95 s, what make test runs
//	go run ./tools/chaostest -plan long                       # 30 s of 502, 45 s of 429, 20 s of resets, a minute of hangs, 8 kills: ~5 min
//	go run ./tools/chaostest -plan long -mongo "$MONGO_URI"   # on MongoDB
//	go run ./tools/chaostest -plan 'kill@5s,502@10s+30s'      # your own
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/tools/internal/loopback"
)

// echoFlow answers every message with its own text, so a reply names the
// message it answers and losses, duplicates and order can be counted.
const echoFlow = `voronka: 1
id: echo
name: Echo
start: ask
vars:
  said: string
nodes:
  ask:
    type: question
    text: "echo {{ said }}"
    save: said
    next: ask
`

// plans are the named fault plans; times are from the start of the run.
var plans = map[string]string{
	// The last kill comes right after an outage, while its backlog drains,
	// so a judged recovery has stranded replies to deliver.
	"short": "kill@4s,kill@10s,502@16s+4s,429@26s+4s,reset@38s+3s,hang@47s+4s,502@67s+4s,kill@69s,502@80s+4s,kill@84200ms",
	"long":  "kill@10s,kill@20s,502@30s+30s,kill@70s,429@80s+45s,kill@135s,reset@145s+20s,kill@175s,hang@185s+60s,kill@262s,kill@272s,502@282s+10s,kill@285s",
}

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaostest:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run() (int, error) {
	planFlag := flag.String("plan", "short", `fault plan: "short", "long", or a list like "kill@5s,502@10s+30s,429@50s+20s,reset@80s+10s,hang@95s+30s"`)
	chats := flag.Int("chats", 60, "concurrent chats")
	interval := flag.Duration("interval", 2*time.Second, "time between two messages of one chat (Telegram sends at most about one a second to a chat, so a faster chat's backlog only grows)")
	tail := flag.Duration("tail", 5*time.Second, "chats keep writing this long after the last fault starts")
	settle := flag.Duration("settle", 90*time.Second, "how long to wait for the last replies once chats stop")
	retryAfter := flag.Int("retry-after", 3, "retry_after in the 429 answers, seconds")
	binary := flag.String("voronka", "bin/voronka", "the voronka binary")
	mongoURI := flag.String("mongo", "", "run the server on this MongoDB (e.g. $MONGO_URI from tools/with-mongo.sh) instead of bolt")
	sendTimeout := flag.Duration("send-timeout", 10*time.Second, "the server's timeout for one send (what a hung request costs), added to -recovery after a hang window")
	recoveryLimit := flag.Duration("recovery", 5*time.Second, "replies held up by a kill or an outage must go out within this time of the server serving again or the outage ending (judged where no other fault follows within that time)")
	verbose := flag.Bool("v", false, "show the server's log")
	flag.Parse()

	spec := *planFlag
	if p, ok := plans[spec]; ok {
		spec = p
	}
	plan, err := parsePlan(spec)
	if err != nil {
		return 0, err
	}
	var lastStart time.Duration
	for _, f := range plan {
		lastStart = max(lastStart, f.at)
	}
	runFor := lastStart + *tail
	for _, f := range plan {
		runFor = max(runFor, f.at+f.length)
	}

	fake := tgfake.New(tgfake.Options{
		Limits: tgfake.Limits{Unlimited: true},
		// Telegram backs off up to about a minute between webhook attempts;
		// capped at a second here so the run measures Voronka's recovery,
		// not the fake's patience.
		MaxRetryDelay: time.Second,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if _, err := fake.Start(); err != nil {
		return 0, fmt.Errorf("start fake Telegram: %w", err)
	}
	defer fake.Close()
	faults := &faultProxy{next: fake, retryAfter: *retryAfter}
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	proxy := &http.Server{Handler: faults, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proxy.Serve(proxyLn) }()
	defer proxy.Close()
	defer faults.release()
	apiBase := "http://" + proxyLn.Addr().String()

	dir, err := os.MkdirTemp("", "voronka-chaos-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "flows", "echo.yaml"), []byte(echoFlow), 0o644); err != nil {
		return 0, err
	}
	port, err := loopback.FreePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := append(os.Environ(),
		"VORONKA_LISTEN="+addr,
		"VORONKA_DATA="+filepath.Join(dir, "voronka.db"),
		"VORONKA_FLOWS="+filepath.Join(dir, "flows"),
		"VORONKA_FLOW=echo",
		"VORONKA_TELEGRAM_TOKEN="+fake.Token(),
		"VORONKA_TELEGRAM_API="+apiBase+"/bot%s/%s",
		"VORONKA_PUBLIC_URL=http://"+addr,
		"VORONKA_TELEGRAM_RATE=10000",
		"VORONKA_LOG_LEVEL=info",
	)
	if *mongoURI != "" {
		env = append(env, "VORONKA_MONGO_URI="+*mongoURI, fmt.Sprintf("VORONKA_MONGO_DB=chaos%d", time.Now().UnixNano()%1e9))
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	var logOut io.Writer = logFile
	if *verbose {
		logOut = io.MultiWriter(logFile, os.Stderr)
	}
	srv := &server{binary: *binary, env: env, addr: addr, log: logOut}
	if err := srv.start(); err != nil {
		return 0, err
	}
	defer srv.stop()
	if err := srv.waitReady(60 * time.Second); err != nil {
		return 0, err
	}

	store := "bolt"
	if *mongoURI != "" {
		store = "mongodb"
	}
	fmt.Printf("chaostest: %d chats, a message every %s each, store %s, plan %s, writing for %s\n",
		*chats, *interval, store, spec, runFor.Round(time.Second))

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	log := &sendLog{sent: map[int64][]sentMsg{}}
	var wg sync.WaitGroup
	var sendErrs atomic.Int64
	for i := 0; i < *chats; i++ {
		wg.Add(1)
		go func(user int64) {
			defer wg.Done()
			chat(ctx, fake, log, user, *interval, &sendErrs)
		}(int64(700000 + i))
	}
	var kills []time.Time
	var restarts []time.Time
	var exited []string
	planDone := make(chan struct{})
	go func() {
		defer close(planDone)
		for _, f := range plan {
			if !sleepUntil(ctx, start.Add(f.at)) {
				return
			}
			switch f.kind {
			case "kill":
				kills = append(kills, time.Now())
				if msg := srv.kill(); msg != "" {
					exited = append(exited, msg)
				}
				if err := srv.start(); err != nil {
					exited = append(exited, "restart: "+err.Error())
					return
				}
				if err := srv.waitReady(60 * time.Second); err != nil {
					exited = append(exited, "after restart: "+err.Error())
				}
				restarts = append(restarts, time.Now())
				fmt.Printf("  %5.1fs kill -9, serving again after %s\n", time.Since(start).Seconds(), time.Since(kills[len(kills)-1]).Round(10*time.Millisecond))
			default:
				fmt.Printf("  %5.1fs Telegram answers %s for %s\n", time.Since(start).Seconds(), f.kind, f.length)
				faults.set(f.kind)
				go func(f fault) {
					sleepUntil(context.Background(), start.Add(f.at+f.length))
					faults.set("")
				}(f)
			}
		}
	}()
	wg.Wait()
	<-planDone
	for time.Since(start) < runFor {
		time.Sleep(50 * time.Millisecond)
	}
	faults.set("")
	faults.release()
	fmt.Printf("  %5.1fs chats stopped writing; waiting up to %s for the last replies\n", time.Since(start).Seconds(), *settle)

	// Settle: every update delivered and answered, or the time is up.
	want := log.total()
	deadline := time.Now().Add(*settle)
	for time.Now().Before(deadline) {
		if answeredAll(fake, log) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if msg := srv.exitedByItself(); msg != "" {
		exited = append(exited, msg)
	}
	rep := analyse(fake, log, kills, restarts, plan, start)
	fmt.Printf("sent %d messages in %d chats (%d send errors at the fake); %d updates accepted\n", want, *chats, sendErrs.Load(), rep.accepted)
	fmt.Printf("replies: %d expected, %d lost, %d duplicates (%d allowed: in flight at a kill), %d out of order\n",
		want, rep.lost, rep.dups, rep.inflightDups, rep.disorder)
	fmt.Printf("delay inbound → reply: p50 %s, p99 %s, max %s\n", rep.p50, rep.p99, rep.max)
	slow := 0
	for i, r := range rep.recovery {
		judged := i < len(restarts) && !overlaps(plan, start, restarts[i], restarts[i].Add(*recoveryLimit))
		verdict := "not judged: a fault window follows"
		if judged {
			verdict = "within " + recoveryLimit.String()
			if r.after > *recoveryLimit {
				verdict = "SLOWER than " + recoveryLimit.String()
				slow++
			}
		}
		fmt.Printf("kill %d: %d replies in %d chats were stranded; every chat had its first within %s of the server serving again (%s), the last went out after %s\n",
			i+1, r.stranded, len(r.first), r.after.Round(10*time.Millisecond), verdict, r.last.Round(10*time.Millisecond))
	}
	wi := 0
	for _, f := range plan {
		if f.kind == "kill" {
			continue
		}
		r := rep.outages[wi]
		wi++
		limit := *recoveryLimit
		switch f.kind {
		case "429":
			limit += time.Duration(*retryAfter) * time.Second // the last 429 may ask for that much more
		case "hang":
			limit += *sendTimeout // a send hung at the end of the window waits for its timeout
		}
		verdict := "within " + limit.String()
		if interrupted(plan, f, f.at+f.length+limit) {
			verdict = "not judged: another fault follows"
		} else if r.after > limit {
			verdict = "SLOWER than " + limit.String()
			slow++
		}
		fmt.Printf("%s for %s: %d replies in %d chats were held up; every chat had its first within %s of the end (%s), the last went out after %s\n",
			f.kind, f.length, r.stranded, len(r.first), r.after.Round(10*time.Millisecond), verdict, r.last.Round(10*time.Millisecond))
	}
	failed := rep.lost > 0 || rep.dups > rep.inflightDups || rep.disorder > 0 || len(exited) > 0 || rep.accepted < want || slow > 0
	for _, m := range exited {
		fmt.Println("server:", m)
	}
	for _, l := range rep.examples {
		fmt.Println("  e.g.", l)
	}
	if failed {
		fmt.Printf("chaostest: FAILED (server log: %s)\n", tailFile(filepath.Join(dir, "server.log"), 30))
		return 1, nil
	}
	fmt.Println("chaostest: passed: nothing lost, nothing doubled beyond what was in flight, order kept")
	return 0, nil
}

// fault is one entry of a plan: a kill at a moment, or a window of bad answers.
type fault struct {
	kind   string // kill, 502, 429, reset, hang
	at     time.Duration
	length time.Duration
}

// interrupted reports whether another entry of the plan (a kill included)
// starts after f does and before until: then f's recovery is not f's alone.
func interrupted(plan []fault, f fault, until time.Duration) bool {
	for _, g := range plan {
		if g != f && g.at >= f.at && g.at < until {
			return true
		}
	}
	return false
}

// overlaps reports whether a fault window of the plan intersects [from, to).
func overlaps(plan []fault, start, from, to time.Time) bool {
	for _, f := range plan {
		if f.kind == "kill" {
			continue
		}
		if start.Add(f.at).Before(to) && start.Add(f.at+f.length).After(from) {
			return true
		}
	}
	return false
}

func parsePlan(s string) ([]fault, error) {
	var out []fault
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, when, ok := strings.Cut(item, "@")
		if !ok {
			return nil, fmt.Errorf("plan item %q: want kind@start[+length]", item)
		}
		var f fault
		f.kind = kind
		at, length, hasLen := strings.Cut(when, "+")
		var err error
		if f.at, err = time.ParseDuration(at); err != nil {
			return nil, fmt.Errorf("plan item %q: %w", item, err)
		}
		switch kind {
		case "kill":
			if hasLen {
				return nil, fmt.Errorf("plan item %q: a kill has no length", item)
			}
		case "502", "429", "reset", "hang":
			if !hasLen {
				return nil, fmt.Errorf("plan item %q: a %s window needs +length", item, kind)
			}
			if f.length, err = time.ParseDuration(length); err != nil {
				return nil, fmt.Errorf("plan item %q: %w", item, err)
			}
		default:
			return nil, fmt.Errorf("plan item %q: unknown kind %q (kill, 502, 429, reset, hang)", item, kind)
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b fault) int { return int(a.at - b.at) })
	return out, nil
}

// faultProxy stands between the server and the fake Bot API and, while a
// fault is set, answers every Bot API request as Telegram does in that kind
// of outage instead of passing it on.
type faultProxy struct {
	next       http.Handler
	retryAfter int
	mode       atomic.Value // string
	hangMu     sync.Mutex
	hang       chan struct{}
}

func (p *faultProxy) set(mode string) {
	p.mode.Store(mode)
	p.hangMu.Lock()
	defer p.hangMu.Unlock()
	if mode == "hang" && p.hang == nil {
		p.hang = make(chan struct{})
	}
}

// release ends hung requests (only at the end of a run: a hung request of
// a real outage is never answered; the client must give up on its own).
func (p *faultProxy) release() {
	p.hangMu.Lock()
	defer p.hangMu.Unlock()
	if p.hang != nil {
		close(p.hang)
		p.hang = nil
	}
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := p.mode.Load().(string)
	if !strings.HasPrefix(r.URL.Path, "/bot") {
		mode = ""
	}
	switch mode {
	case "502":
		// What Telegram's front end answers while the Bot API is down.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")
	case "429":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after %d","parameters":{"retry_after":%d}}`, p.retryAfter, p.retryAfter)
	case "reset":
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		_ = conn.Close()
	case "hang":
		p.hangMu.Lock()
		ch := p.hang
		p.hangMu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
			}
		}
		panic(http.ErrAbortHandler) // the connection is dropped unanswered
	default:
		p.next.ServeHTTP(w, r)
	}
}

// server runs `voronka serve` as a child process.
type server struct {
	binary string
	env    []string
	addr   string
	log    io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	killed bool
	err    error
}

func (s *server) start() error {
	cmd := exec.Command(s.binary, "serve")
	cmd.Env = s.env
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (build it with go build -o bin/voronka ./cmd/voronka): %w", s.binary, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done, s.killed, s.err = cmd, done, false, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

// kill sends SIGKILL and waits for the process to go; it reports a message
// when the process had already exited by itself.
func (s *server) kill() string {
	msg := s.exitedByItself()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.killed = true
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
	return msg
}

func (s *server) exitedByItself() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		if !s.killed {
			return fmt.Sprintf("voronka serve exited by itself: %v", s.err)
		}
	default:
	}
	return ""
}

func (s *server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.killed = true
	s.mu.Unlock()
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (s *server) waitReady(limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if msg := s.exitedByItself(); msg != "" {
			return errors.New(msg)
		}
		resp, err := client.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("voronka serve did not answer /healthz within %s", limit)
}

type sentMsg struct {
	text string
	at   time.Time
	id   int64 // the fake's update id
}

type sendLog struct {
	mu   sync.Mutex
	sent map[int64][]sentMsg
}

func (l *sendLog) add(chat int64, m sentMsg) {
	l.mu.Lock()
	l.sent[chat] = append(l.sent[chat], m)
	l.mu.Unlock()
}

func (l *sendLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sent {
		n += len(s)
	}
	return n
}

func (l *sendLog) snapshot() map[int64][]sentMsg {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int64][]sentMsg, len(l.sent))
	for k, v := range l.sent {
		out[k] = slices.Clone(v)
	}
	return out
}

// chat writes /start and then m1, m2, … at its pace, whether or not the bot
// answers: people do not stop writing because a server restarts.
func chat(ctx context.Context, fake *tgfake.Fake, log *sendLog, user int64, every time.Duration, errs *atomic.Int64) {
	// Spread the chats' first messages over one interval.
	if !loopback.Sleep(ctx, time.Duration(user%97)*every/97) {
		return
	}
	for n := 0; ctx.Err() == nil; n++ {
		text := "m" + strconv.Itoa(n)
		if n == 0 {
			text = "/start"
		}
		u, err := fake.SendText(user, text)
		if err != nil {
			errs.Add(1)
		} else {
			log.add(user, sentMsg{text: text, at: time.Now(), id: u.UpdateID})
		}
		if !loopback.Sleep(ctx, every) {
			return
		}
	}
}

// reply is the echo a message gets: "/start" enters the question with an
// empty answer (the text is trimmed), mN is echoed.
func reply(text string) string {
	if text == "/start" {
		return "echo" // the template renders "echo " and the engine trims it
	}
	return "echo " + text
}

func answeredAll(fake *tgfake.Fake, log *sendLog) bool {
	for chat, msgs := range log.snapshot() {
		got := map[string]bool{}
		for _, s := range fake.Sent(chat) {
			got[s.Text] = true
		}
		for _, m := range msgs {
			if !got[reply(m.text)] {
				return false
			}
		}
	}
	return true
}

// recovery measures how the replies held up by one fault went out
// afterwards. A chat's backlog drains at Telegram's per-chat limit (about
// one message a second), so what Voronka answers for is how soon each chat
// gets its first held-up reply (after: the slowest chat's); last is when
// the last held-up reply of all went out.
type recovery struct {
	stranded int
	after    time.Duration
	last     time.Duration
	first    map[int64]time.Duration
}

func (r *recovery) held(chat int64, after time.Duration) {
	r.stranded++
	r.last = max(r.last, after)
	if r.first == nil {
		r.first = map[int64]time.Duration{}
	}
	if f, ok := r.first[chat]; !ok || after < f {
		r.first[chat] = after
	}
	r.after = 0
	for _, f := range r.first {
		r.after = max(r.after, f)
	}
}

type report struct {
	accepted, lost, dups, inflightDups, disorder int
	p50, p99, max                                time.Duration
	recovery                                     []recovery
	outages                                      []recovery // per fault window of the plan, in order
	examples                                     []string
}

// inflightWindow is how long before a kill a send counts as in flight: it
// reached Telegram but the server may have died before writing it down (a
// store commit away; a second leaves room for a loaded machine).
const inflightWindow = time.Second

func analyse(fake *tgfake.Fake, log *sendLog, kills, restarts []time.Time, plan []fault, start time.Time) report {
	var rep report
	status := map[int64]tgfake.UpdateStatus{}
	for _, u := range fake.Updates() {
		status[u.UpdateID] = u
	}
	var delays []time.Duration
	rep.recovery = make([]recovery, len(kills))
	var windows []fault
	for _, f := range plan {
		if f.kind != "kill" {
			windows = append(windows, f)
		}
	}
	rep.outages = make([]recovery, len(windows))
	example := func(format string, a ...any) {
		if len(rep.examples) < 10 {
			rep.examples = append(rep.examples, fmt.Sprintf(format, a...))
		}
	}
	for chat, msgs := range log.snapshot() {
		sent := fake.Sent(chat)
		byText := map[string][]tgfake.SentMessage{}
		for _, s := range sent {
			byText[s.Text] = append(byText[s.Text], s)
		}
		allowedPerKill := map[int]bool{}
		for _, m := range msgs {
			if st, ok := status[m.id]; ok && st.State == tgfake.StateDelivered {
				rep.accepted++
			}
			got := byText[reply(m.text)]
			if len(got) == 0 {
				rep.lost++
				example("chat %d: %q got no reply (update %s)", chat, m.text, status[m.id].State)
				continue
			}
			d := got[0].Time.Sub(m.at)
			delays = append(delays, d)
			for i, w := range windows {
				end := start.Add(w.at + w.length)
				if m.at.Before(end) && got[0].Time.After(end) {
					rep.outages[i].held(chat, got[0].Time.Sub(end))
				}
			}
			for i, k := range kills {
				if m.at.Before(k) && got[0].Time.After(k) {
					after := got[0].Time.Sub(k)
					if i < len(restarts) {
						after = got[0].Time.Sub(restarts[i])
					}
					rep.recovery[i].held(chat, after)
				}
			}
			for range got[1:] {
				rep.dups++
				// A duplicate is excused when its first copy went out just
				// before a kill (in flight), once per chat per kill.
				excused := false
				for i, k := range kills {
					if !allowedPerKill[i] && !got[0].Time.After(k) && k.Sub(got[0].Time) <= inflightWindow {
						allowedPerKill[i] = true
						excused = true
						break
					}
				}
				if excused {
					rep.inflightDups++
				} else {
					// When the copies went out, against the kills: a first
					// copy more than inflightWindow before a kill had its
					// delivery unrecorded that long.
					var at []string
					for _, g := range got {
						at = append(at, fmt.Sprintf("%.2fs", g.Time.Sub(start).Seconds()))
					}
					var ks []string
					for _, k := range kills {
						ks = append(ks, fmt.Sprintf("%.2fs", k.Sub(start).Seconds()))
					}
					example("chat %d: %q answered %d times (sent at %s; kills at %s)", chat, m.text, len(got),
						strings.Join(at, ", "), strings.Join(ks, ", "))
				}
			}
		}
		// Order: the first copies of the replies follow the messages' order.
		var firsts []string
		seen := map[string]bool{}
		for _, s := range sent {
			if !seen[s.Text] {
				seen[s.Text] = true
				firsts = append(firsts, s.Text)
			}
		}
		idx := 0
		for _, m := range msgs {
			r := reply(m.text)
			if !seen[r] {
				continue
			}
			for idx < len(firsts) && firsts[idx] != r {
				idx++
			}
			if idx == len(firsts) {
				rep.disorder++
				example("chat %d: the reply to %q came before an earlier message's", chat, m.text)
				break
			}
		}
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		pct := func(p float64) time.Duration {
			return delays[min(len(delays)-1, int(float64(len(delays))*p))].Round(time.Millisecond)
		}
		rep.p50, rep.p99, rep.max = pct(0.5), pct(0.99), delays[len(delays)-1].Round(time.Millisecond)
	}
	return rep
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return path + "; last lines:\n" + strings.Join(lines, "\n")
}

func sleepUntil(ctx context.Context, t time.Time) bool { return loopback.Sleep(ctx, time.Until(t)) }
