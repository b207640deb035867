package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
	"github.com/voronka/voronka/engine/store/mongo"
	"github.com/voronka/voronka/internal/testmongo"
)

// inboxBenchChats is the inbox the figure is for: 10,000 open conversations.
const inboxBenchChats = 10_000

// seedInbox writes n open handed-off conversations over three bots and
// three queues, a third assigned to one of 20 operators, with a realistic
// document (state, vars, outbox pruned).
func seedInbox(b *testing.B, st store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	queues := []string{"sales", "support", "vip"}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				at := t0.Add(time.Duration(i) * time.Second)
				c := &store.Conversation{ID: fmt.Sprintf("b%d:telegram:%d", i%3, i), Bot: fmt.Sprintf("b%d", i%3), Channel: "telegram",
					Chat: fmt.Sprint(i), Contact: store.Contact{FirstName: fmt.Sprintf("Клиент %d", i), Username: fmt.Sprintf("user%d", i), Phone: fmt.Sprintf("+7999%07d", i)},
					FlowID: "f", FlowVersion: 1, Node: "human", Status: store.StatusHandoff, Score: 40, Segment: "warm",
					Tags: []string{"lead"}, Vars: map[string]any{"name": "Клиент", "budget": 150000.0}, State: make([]byte, 120),
					CreatedAt: at, UpdatedAt: at, LastInboundAt: at,
					Inbox: &store.Inbox{State: store.InboxUnassigned, Queue: queues[i%3], Unread: 1, HandoffAt: at, WaitingSince: at,
						Note: "Бюджет 150000", HandoffNode: "human", Last: &store.InboxLast{Direction: store.DirectionIn, Text: "Здравствуйте, хочу узнать цену", At: at}}}
				if i%3 == 1 {
					c.Inbox.State, c.Inbox.Assignee, c.Inbox.AssigneeName = store.InboxAssigned, fmt.Sprintf("u-%d", i%20), "Оператор"
				}
				if err := st.CreateConversation(ctx, c); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInboxFirstPage measures GET /api/inbox's first page (50 chats)
// with 10,000 open conversations in the store, through the HTTP stack:
// an admin's whole inbox, an operator's queue, an operator's own chats,
// and a search; and the counts (GET /api/inbox/counts).
func BenchmarkInboxFirstPage(b *testing.B) {
	for _, kind := range []string{"bolt", "mongo"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			var st store.Store
			switch kind {
			case "bolt":
				bs, err := bolt.Open(b.TempDir()+"/v.db", nil)
				if err != nil {
					b.Fatal(err)
				}
				st = bs
			default:
				ms, err := mongo.Open(ctx, testmongo.URI(b), testmongo.DBName(b), &mongo.Options{MaxPoolSize: 8, OpTimeout: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				st = ms
			}
			defer st.Close(ctx)
			seedInbox(b, st, inboxBenchChats)
			op := store.User{ID: "u-1", Login: "op1", Role: store.RoleOperator, Queues: []string{"sales"}}
			if err := st.PutUser(ctx, op); err != nil {
				b.Fatal(err)
			}
			s, err := New(Config{Store: st, Handler: nopHandler{}, APIToken: "tok", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			tok, _, err := s.sessions.create(ctx, &op, "127.0.0.1", "bench")
			if err != nil {
				b.Fatal(err)
			}
			for _, tc := range []struct {
				name, path, auth string
				// fresh counts the queues again each time, as after a change.
				fresh bool
			}{
				{"admin-open", "/api/inbox", "bearer", false},
				{"operator-queue-unassigned", "/api/inbox?status=unassigned", "cookie", false},
				{"operator-mine", "/api/inbox?assignee=me", "cookie", false},
				{"admin-search", "/api/inbox?q=" + "%D0%9A%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%20999", "bearer", false},
				// The badges every open inbox page asks for after each change:
				// the first page to ask after a change, then the others.
				{"admin-counts", "/api/inbox/counts", "bearer", true},
				{"operator-counts", "/api/inbox/counts", "cookie", true},
				{"operator-counts-shared", "/api/inbox/counts", "cookie", false},
			} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						if tc.fresh {
							s.tally.changed()
						}
						req := httptest.NewRequest("GET", tc.path, nil)
						if tc.auth == "bearer" {
							req.Header.Set("Authorization", "Bearer tok")
						} else {
							req.Header.Set("Cookie", SessionCookie+"="+tok)
						}
						resp, err := s.App().Test(req, -1)
						if err != nil || resp.StatusCode != 200 {
							b.Fatalf("%s: %v %v", tc.path, resp.StatusCode, err)
						}
						resp.Body.Close()
					}
				})
			}
		})
	}
}
