package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/voronka/voronka/engine/store"
)

// Log pages stay full under the load's real insert order: steps of 2,000
// chats committing a few ms out of time order, each reply's sent event
// arriving 1-20 ms after its step with the step's time, and two lines
// appended at the end of each conversation's transcript. Pages split 100 %
// full ended 46 % full here (the file grew twice as fast as its data).
func TestLogPagesStayFull(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, &Options{NoSync: true})
	rnd := rand.New(rand.NewPCG(1, 2))
	now := time.Unix(1_800_000_000, 0).UTC()
	type late struct {
		ev  store.Event
		due time.Time
	}
	var lates []late
	const msgs, perCommit = 20000, 10
	for m := 0; m < msgs; {
		var events []store.Event
		var lines []store.Message
		for range perCommit {
			m++
			now = now.Add(500 * time.Microsecond)
			conv := "b:telegram:" + strconv.Itoa(100000+rnd.IntN(2000))
			at := now.Add(-time.Duration(rnd.IntN(5000)) * time.Microsecond) // the step's time, before its commit
			for j := range 3 {
				events = append(events, store.Event{ID: fmt.Sprintf("%s/u%d/%d", conv, m, j), Bot: "b", Type: "node_entered",
					Conversation: conv, Channel: "telegram", Flow: "faq-bot", FlowVersion: 1, Node: "menu", At: at})
			}
			lines = append(lines,
				store.Message{ID: fmt.Sprintf("%s:u%d", conv, m), ConversationID: conv, Bot: "b", Direction: store.DirectionIn, Text: "сколько стоит", At: at},
				store.Message{ID: fmt.Sprintf("%s:u%d:0", conv, m), ConversationID: conv, Bot: "b", Direction: store.DirectionBot,
					Text: "Здравствуйте! Я отвечу на частые вопросы. Выберите тему или напишите вопрос своими словами.", At: at})
			lates = append(lates, late{store.Event{ID: fmt.Sprintf("%s/u%d/sent", conv, m), Bot: "b", Type: "message_sent",
				Conversation: conv, Channel: "telegram", At: at}, now.Add(time.Duration(1+rnd.IntN(20)) * time.Millisecond)})
		}
		rest := lates[:0]
		for _, l := range lates {
			if l.due.After(now) {
				rest = append(rest, l)
			} else {
				events = append(events, l.ev)
			}
		}
		lates = rest
		ev, err := encodeEvents(events)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := encodeMessages(lines)
		if err != nil {
			t.Fatal(err)
		}
		err = s.write(ctx, func(tx *bolt.Tx) error {
			if err := appendLog(tx, bMsgByConv, ln); err != nil {
				return err
			}
			return appendLog(tx, bEventByBot, ev)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, b := range []struct {
			name []byte
			min  float64
		}{{bEventByBot, 0.7}, {bMsgByConv, 0.6}} {
			st := tx.Bucket(b.name).Stats()
			fill := float64(st.LeafInuse) / float64(st.LeafPageN*s.db.Info().PageSize)
			t.Logf("%s: %d leaves, %.0f %% full", b.name, st.LeafPageN, 100*fill)
			if fill < b.min {
				t.Errorf("%s: leaves %.0f %% full, want at least %.0f %%", b.name, 100*fill, 100*b.min)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
