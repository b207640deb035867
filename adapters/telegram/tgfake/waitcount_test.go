package tgfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

// A load run waits for every reply with WaitSentCount; it must count the
// chat's sends without copying its history, which grows with the run.
func TestWaitSentCountCountsWithoutCopying(t *testing.T) {
	e := newEnv(t, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}})
	const user = 7
	mustSay(t, e.fake, user, "hi")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got := make(chan int, 1)
	go func() {
		n, err := e.fake.WaitSentCount(ctx, user, 3)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	for _, text := range []string{"one", "two", "three"} {
		if _, err := e.bot.Send(tgbotapi.NewMessage(user, text)); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-got; n != 3 {
		t.Fatalf("WaitSentCount = %d, want 3", n)
	}
	if n, err := e.fake.WaitSentCount(ctx, user, 1); err != nil || n != 3 {
		t.Fatalf("WaitSentCount for fewer than sent = %d, %v; want all 3", n, err)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = e.fake.WaitSentCount(ctx, user, 3) }); a != 0 {
		t.Fatalf("WaitSentCount allocates %.0f times per call, want none", a)
	}

	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := e.fake.WaitSentCount(short, user, 4); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSentCount past the sends = %v, want the deadline", err)
	}
}
