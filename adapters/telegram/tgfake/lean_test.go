package tgfake_test

import (
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/voronka/voronka/adapters/telegram/tgfake"
)

// A lean fake (the load tool's) still delivers updates, takes sends and
// counts them, but keeps no record of them and only each chat's latest bot
// message: an older one can no longer be edited.
func TestLeanKeepsCountsAndTheLatestMessage(t *testing.T) {
	e := newEnv(t, tgfake.Options{Limits: tgfake.Limits{Unlimited: true}, Lean: true})
	const user = 7
	mustSay(t, e.fake, user, "hi")
	ups, err := e.bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "hi" {
		t.Fatalf("GetUpdates = %+v, %v; want the user's message", ups, err)
	}

	var ids []int
	for _, text := range []string{"one", "two", "three"} {
		msg := tgbotapi.NewMessage(user, text)
		msg.ReplyMarkup = keyboard("a", "b")
		sent, err := e.bot.Send(msg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sent.MessageID)
	}
	if n, err := e.fake.WaitSentCount(ctxT(t), user, 3); err != nil || n != 3 {
		t.Fatalf("WaitSentCount = %d, %v; want 3", n, err)
	}
	if st := e.fake.Stats(); st.Sent != 3 || st.UpdatesCreated != 1 {
		t.Fatalf("Stats = %+v, want 3 sent and 1 update created", st)
	}
	if s, a, u := e.fake.Sent(user), e.fake.AllSent(), e.fake.Updates(); len(s)+len(a)+len(u) != 0 {
		t.Fatalf("lean fake kept %d sends in the chat, %d in all, %d updates; want none", len(s), len(a), len(u))
	}

	_, err = e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(user, ids[0], keyboard("c")))
	apiErr(t, err, 400, tgfake.DescMessageCantBeEdited)
	if _, err := e.bot.Send(tgbotapi.NewEditMessageReplyMarkup(user, ids[2], keyboard("c"))); err != nil {
		t.Fatalf("editing the latest message: %v", err)
	}
	if _, err := e.fake.PressButton(user, user, ids[2], "c"); err != nil {
		t.Fatalf("pressing the latest message's button: %v", err)
	}
	if n, _ := e.fake.WaitSentCount(ctxT(t), user, 4); n != 4 {
		t.Fatalf("the edit was not counted: %d sends and edits, want 4", n)
	}
}
