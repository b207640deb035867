// Command webchat-demo serves the web chat widget, the demo page and the
// chat protocol with a tiny echo bot in place of the runtime, on net/http.
// It is for trying the widget and taking screenshots while the real server
// is elsewhere; it is not the production server.
//
//	go run ./adapters/webchat/cmd/webchat-demo -addr 127.0.0.1:8089
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/voronka/voronka/adapters/webchat"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

// echoBot answers every text with a menu and every press with its label,
// dropping repeated update ids as the runtime would.
type echoBot struct {
	hub  *webchat.Hub
	mu   sync.Mutex
	seen map[string]bool
}

func (b *echoBot) Handle(ctx context.Context, in channel.Inbound) error {
	b.mu.Lock()
	dup := b.seen[in.UpdateID]
	b.seen[in.UpdateID] = true
	b.mu.Unlock()
	if dup {
		return nil
	}
	out := channel.Outbound{ID: "r:" + in.UpdateID, Chat: in.Chat}
	switch {
	case in.Kind == channel.KindPress:
		out.Text = fmt.Sprintf("Вы выбрали: %s. Отличный выбор! Подробнее: https://example.com/coffee/%s", in.Text, in.Payload)
	case strings.HasPrefix(in.Text, "/"):
		out.Text = "Ответьте на 3 вопроса — подберём кофе и дадим скидку 10%. Как вы завариваете кофе дома?"
		out.Buttons = []engine.Button{{Label: "Эспрессо", Payload: "espresso"}, {Label: "Воронка", Payload: "pourover"},
			{Label: "Капсулы", Payload: "capsules"}, {Label: "Не завариваю", Payload: "none"}}
	default:
		out.Text = "Вы написали: «" + in.Text + "». Хотите подобрать кофе?"
		out.Buttons = []engine.Button{{Label: "Да, давайте", Payload: "quiz"}, {Label: "Позже", Payload: "later"}}
	}
	_, err := b.hub.Send(ctx, out)
	return err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	bot := &echoBot{seen: map[string]bool{}}
	bot.hub = webchat.New(bot, log, nil, webchat.DefaultOptions)
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/chat", func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if err := bot.hub.Serve(ctx, conn, r.URL.Query().Get("bot")); err != nil {
			log.Info("web chat connection refused", "err", err)
		}
	})
	files := http.FileServer(webchat.StaticHTTP())
	mux.Handle("/widget/", http.StripPrefix("/widget/", files))
	mux.Handle("/", files)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Info("web chat demo", "url", "http://"+*addr+"/")
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}
