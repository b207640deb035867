package telegram

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/channel"
)

type nopHandler struct{}

func (nopHandler) Handle(context.Context, channel.Inbound) error { return nil }

// BenchmarkHandleWebhook measures one webhook request without the HTTP
// server: secret check, decode, mapping and the handler call, for a text
// message as Telegram sends it.
func BenchmarkHandleWebhook(b *testing.B) {
	e := newEnv(b, tgfake.Options{})
	a := e.newAdapter(Config{WebhookSecret: "bench_secret", Logger: slog.New(slog.DiscardHandler)})
	body := []byte(`{"update_id":918273645,"message":{"message_id":1234,"from":{"id":421234567,"is_bot":false,` +
		`"first_name":"Anna","last_name":"Petrova","username":"anna_p","language_code":"ru"},"chat":{"id":421234567,` +
		`"first_name":"Anna","last_name":"Petrova","username":"anna_p","type":"private"},"date":1750000000,` +
		`"text":"Хочу узнать цены на доставку в Казань"}}`)
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if status, err := a.HandleWebhook(ctx, nopHandler{}, "bench_secret", body); status != http.StatusOK {
				b.Fatalf("status %d: %v", status, err)
			}
		}
	})
}

// BenchmarkSend measures Send (sendMessage with a two-button keyboard)
// through the real client against tgfake on loopback, from parallel
// senders over 1,000 chats, flood limits off.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	a := e.newAdapter(Config{Logger: slog.New(slog.DiscardHandler)})
	const chats = 1000
	for i := int64(1); i <= chats; i++ {
		if _, err := e.fake.SendText(i, "/start"); err != nil {
			b.Fatal(err)
		}
	}
	buttons := []engine.Button{{Label: "Yes", Payload: "answer:yes"}, {Label: "No", Payload: "answer:no"}}
	var n atomic.Int64
	ctx := context.Background()
	send := func(b *testing.B) {
		i := n.Add(1)
		msg := channel.Outbound{ID: strconv.FormatInt(i, 10), Chat: strconv.FormatInt(i%chats+1, 10),
			Text: "Do you want a discount?", Buttons: buttons}
		if _, err := a.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			send(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		e.fake.ClearSent()
	})
	b.Run("parallel8", func(b *testing.B) {
		b.SetParallelism(8)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		e.fake.ClearSent()
	})
}
