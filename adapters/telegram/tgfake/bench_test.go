package tgfake_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

// BenchmarkSendMessage measures sendMessage through net/http on loopback,
// form-encoded as go-telegram-bot-api sends it, with an inline keyboard,
// from parallel clients over 1,000 chats. Flood limits are off so every
// call succeeds; the msg/s metric is the fake's throughput.
func BenchmarkSendMessage(b *testing.B) {
	f := tgfake.New(tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	base, err := f.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const chats = 1000
	for i := int64(1); i <= chats; i++ {
		if _, err := f.SendText(i, "/start"); err != nil {
			b.Fatal(err)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	endpoint := base + "/bot" + f.Token() + "/sendMessage"
	markup := `{"inline_keyboard":[[{"text":"Yes","callback_data":"answer:yes"},{"text":"No","callback_data":"answer:no"}]]}`
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			chat := n.Add(1)%chats + 1
			form := url.Values{
				"chat_id":      {strconv.FormatInt(chat, 10)},
				"text":         {"Hello! Which plan suits you best? Pick one below."},
				"reply_markup": {markup},
			}
			req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
