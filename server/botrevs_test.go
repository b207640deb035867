package server

import (
	"context"
	"sync"
	"testing"

	"github.com/voronka/voronka/engine/store"
)

// racingStore lets another editor write the bot between a handler's read
// and its write, once: the race two people editing one bot can lose.
type racingStore struct {
	store.Store
	mu    sync.Mutex
	race  func(ctx context.Context, st store.Store)
	races int
}

func (r *racingStore) UpdateBot(ctx context.Context, b *store.Bot) error {
	r.mu.Lock()
	race := r.race
	r.race = nil
	r.mu.Unlock()
	if race != nil {
		r.races++
		race(ctx, r.Store)
	}
	return r.Store.UpdateBot(ctx, b)
}

func (r *racingStore) raceWith(edit func(b *store.Bot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.race = func(ctx context.Context, st store.Store) {
		b, err := st.GetBot(ctx, "b1")
		if err == nil {
			edit(b)
			err = st.UpdateBot(ctx, b)
		}
		if err != nil {
			panic(err)
		}
	}
}

func TestBotEditsAreConditional(t *testing.T) {
	var rs *racingStore
	s, st := newTestServer(t, func(cfg *Config) {
		rs = &racingStore{Store: cfg.Store}
		cfg.Store = rs
	})
	ctx := context.Background()
	mark := signIn(t, s, "mark", "password-mark")
	if b := mark.want(201, "POST", "/api/bots", `{"id":"b1","name":"Бот"}`); b["rev"] != float64(1) {
		t.Fatalf("a new bot: %v", b)
	}
	mark.want(409, "POST", "/api/bots", `{"id":"b1"}`)

	// Someone renames the bot while a time zone is being saved: both stand.
	rs.raceWith(func(b *store.Bot) { b.Name = "Кофейня" })
	got := mark.want(200, "PUT", "/api/bots/b1", `{"settings":{"time_zone":"Europe/Moscow"}}`)
	if rs.races != 1 || got["name"] != "Кофейня" || got["rev"] != float64(3) {
		t.Fatalf("after a racing rename: %v (races %d)", got, rs.races)
	}
	b, err := st.GetBot(ctx, "b1")
	if err != nil || b.Name != "Кофейня" || b.Settings.TimeZone != "Europe/Moscow" || b.Rev != 3 {
		t.Fatalf("stored %+v %v", b, err)
	}

	// An edit made on revision 3 while another lands first is refused,
	// not written over it.
	rs.raceWith(func(b *store.Bot) { b.Name = "Кофейня на Невском" })
	conflict := mark.want(409, "PUT", "/api/bots/b1", `{"rev":3,"name":"Кофе с собой"}`)
	if conflict["details"].(map[string]any)["rev"] != float64(4) {
		t.Fatalf("409 without the current revision: %v", conflict)
	}
	if b, _ := st.GetBot(ctx, "b1"); b.Name != "Кофейня на Невском" || b.Rev != 4 {
		t.Fatalf("the refused edit changed the bot: %+v", b)
	}
	// A form read at an old revision is refused at once; at the current one it saves.
	mark.want(409, "PUT", "/api/bots/b1", `{"rev":2,"name":"Старое"}`)
	if got := mark.want(200, "PUT", "/api/bots/b1", `{"rev":4,"name":"Кофе с собой"}`); got["rev"] != float64(5) || got["name"] != "Кофе с собой" {
		t.Fatalf("edit on the current revision: %v", got)
	}

	// Removing a channel while someone renames: the rename stays, the channel goes.
	rs.raceWith(func(b *store.Bot) { b.Name = "Последнее имя" })
	if code, body, _ := mark.do("DELETE", "/api/bots/b1/channels/web", "", jsonType); code != 204 {
		t.Fatalf("remove channel: %d %s", code, body)
	}
	if b, _ := st.GetBot(ctx, "b1"); b.Name != "Последнее имя" || len(b.Channels) != 0 {
		t.Fatalf("after a racing rename and a channel removal: %+v", b)
	}
}
