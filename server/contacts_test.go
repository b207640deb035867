package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

// TestContactsAndSegmentsAgree: a marketer who filters the leads table and
// then makes a segment of the same choices gets the same people. For every
// filter word, on both stores, the contacts API lists exactly the contacts
// the test expects, and the segment count of the filter the API answers
// with (what "save as segment" saves) counts exactly as many.
func TestContactsAndSegmentsAgree(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"bolt": func(t *testing.T) store.Store {
			_, st := newTestServer(t)
			return st
		},
		"mongo": func(t *testing.T) store.Store {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st, err := mongo.Open(ctx, testmongo.URI(t), testmongo.DBName(t), &mongo.Options{MaxPoolSize: 4, OpTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close(context.Background()) })
			seedTestStore(t, st)
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { contactsAgree(t, open(t)) })
	}
}

func contactsAgree(t *testing.T, st store.Store) {
	ctx := context.Background()
	msk, _ := time.LoadLocation("Europe/Moscow")
	if err := st.PutBot(ctx, store.Bot{ID: "shop", Name: "Shop", Settings: store.BotSettings{TimeZone: "Europe/Moscow"}}); err != nil {
		t.Fatal(err)
	}
	// Midnight of 10 December in Moscow is 21:00 UTC on the 9th: a contact
	// seen at 22:00 UTC on the 9th was seen on the 10th by the bot's clock.
	day := time.Date(2026, 12, 10, 0, 0, 0, 0, msk)
	type person struct {
		chat        string
		channel     string
		segment     string
		tags        []string
		score       float64
		status      store.Status
		source      string
		first, seen time.Time
	}
	people := []person{
		{"1", "telegram", "hot", []string{"vip", "buyer"}, 25, store.StatusHandoff, "ads", day.Add(-48 * time.Hour), day.Add(time.Hour)},
		{"2", "telegram", "warm", []string{"vip"}, 12, store.StatusWaiting, "Ads", day.Add(-30 * time.Hour), day.Add(-time.Minute)},
		{"3", "web", "", nil, 0, store.StatusBot, "", day, day},
		{"4", "telegram", "cold", []string{"buyer"}, 3, store.StatusEnded, "vk", day.Add(24 * time.Hour), day.Add(47 * time.Hour)},
		{"5", "web", "hot", []string{"buyer"}, 30, store.StatusWaiting, "ads", day.Add(-72 * time.Hour), time.Time{}},
	}
	for _, p := range people {
		c := store.Conversation{ID: store.ConversationID("shop", p.channel, p.chat), Bot: "shop", Channel: p.channel, Chat: p.chat,
			Contact: store.Contact{FirstName: "Гость" + p.chat, Source: p.source}, Segment: p.segment, Tags: p.tags, Score: p.score,
			Status: p.status, Consent: store.Consent{Subscribed: true}, CreatedAt: p.first.UTC(), LastInboundAt: p.seen.UTC()}
		if err := st.CreateConversation(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AppendEvents(ctx, store.Event{ID: "g1", Bot: "shop", Type: "goal", Conversation: "shop:telegram:2",
		At: day, Data: map[string]any{"name": "lead"}}); err != nil {
		t.Fatal(err)
	}
	s := newServerOn(t, st)
	mark := signIn(t, s, "mark", "password-mark")
	cases := []struct {
		query string
		want  []string // chats
	}{
		{"", []string{"1", "2", "3", "4", "5"}},
		{"segment=cold", []string{"3", "4"}}, // never scored is cold
		{"segment=hot,warm", []string{"1", "2", "5"}},
		{"segment=hot&segment=cold", []string{"1", "3", "4", "5"}},
		{"tag=vip", []string{"1", "2"}},
		{"tag=vip,buyer", []string{"1"}}, // every tag
		{"score_min=12", []string{"1", "2", "5"}},
		{"score_min=3&score_max=12", []string{"2", "4"}}, // inclusive
		{"channel=web", []string{"3", "5"}},
		{"status=waiting", []string{"2", "5"}},
		{"status=handoff,ended", []string{"1", "4"}},
		{"source=ADS", []string{"1", "2", "5"}}, // case ignored
		{"from=2026-12-10&to=2026-12-10", []string{"1", "3"}},
		{"from=2026-12-11", []string{"4"}},
		{"to=2026-12-09", []string{"2", "5"}}, // 5 never wrote: seen when it began
		{"first_from=2026-12-10", []string{"3", "4"}},
		{"first_to=2026-12-08", []string{"1", "2", "5"}},
		{"goal=lead", []string{"2"}},
		{"expr=" + url.QueryEscape(`score > 20 && "buyer" in tags`), []string{"1", "5"}},
		{"segment=hot&channel=telegram&tag=buyer&status=handoff&source=ads&score_min=20&from=2026-12-10", []string{"1"}},
	}
	for _, tc := range cases {
		code, body, _ := mark.do("GET", "/api/bots/shop/contacts?limit=2&"+tc.query, "", nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", tc.query, code, body)
		}
		var page struct {
			Contacts []contactJSON   `json:"contacts"`
			Next     string          `json:"next"`
			Filter   json.RawMessage `json:"filter"`
		}
		var chats []string
		for {
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Contacts {
				chats = append(chats, c.Chat)
			}
			if page.Next == "" {
				break
			}
			_, body, _ = mark.do("GET", "/api/bots/shop/contacts?limit=2&"+tc.query+"&cursor="+page.Next, "", nil)
		}
		slices.Sort(chats)
		if !slices.Equal(chats, tc.want) {
			t.Errorf("contacts?%s = %v, want %v", tc.query, chats, tc.want)
		}
		code, body, _ = mark.do("POST", "/api/bots/shop/segments/count", string(page.Filter), jsonType)
		var n struct{ Members int }
		_ = json.Unmarshal([]byte(body), &n)
		if code != 200 || n.Members != len(tc.want) {
			t.Errorf("segment of contacts?%s (filter %s): %d %s, want %d members", tc.query, page.Filter, code, body, len(tc.want))
		}
		// Saved, it counts the same.
		code, body, _ = mark.do("POST", "/api/bots/shop/segments", fmt.Sprintf(`{"name":"из таблицы","filter":%s}`, page.Filter), jsonType)
		var sg struct{ ID string }
		_ = json.Unmarshal([]byte(body), &sg)
		if code != 201 {
			t.Fatalf("save segment of contacts?%s: %d %s", tc.query, code, body)
		}
		_, body, _ = mark.do("GET", "/api/bots/shop/segments/"+sg.ID+"/count", "", nil)
		if !strings.Contains(body, fmt.Sprintf(`"members":%d,`, len(tc.want))) {
			t.Errorf("saved segment of contacts?%s counts %s, want %d members", tc.query, body, len(tc.want))
		}
	}
	for _, bad := range []string{"score_min=lots", "from=10.12.2026", "status=sleeping", "segment=tepid", "expr=" + url.QueryEscape("score >")} {
		if code, body, _ := mark.do("GET", "/api/bots/shop/contacts?"+bad, "", nil); code != 400 && code != 422 {
			t.Errorf("contacts?%s: %d %s, want a clear refusal", bad, code, body)
		}
	}
}
