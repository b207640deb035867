package server

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/engine/store/bolt"
)

// recordingSender keeps what the runtime sends, per chat.
type recordingSender struct {
	mu   sync.Mutex
	sent map[string][]string
	// refuse, when set, answers a message with a platform's refusal.
	refuse func(m channel.Outbound) error
}

func (r *recordingSender) Send(_ context.Context, m channel.Outbound) (channel.Sent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != nil {
		if err := r.refuse(m); err != nil {
			return channel.Sent{}, err
		}
	}
	r.sent[m.Chat] = append(r.sent[m.Chat], m.Text)
	return channel.Sent{PlatformID: m.ID}, nil
}

func (r *recordingSender) wait(t *testing.T, chat string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.sent[chat])
		r.mu.Unlock()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %s got %q, want %q", chat, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func draftDoc(greeting string) []byte {
	return []byte(`voronka: 1
id: f
start: ask
vars: {name: string}
nodes:
  ask: {type: question, text: "Your name?", save: name, next: hi}
  hi: {type: message, text: "` + greeting + ` {{ name }}", next: bye}
  bye: {type: end, text: "Bye"}
`)
}

// TestPreviewKeepsTheDraftItStartedOn: a marketer chats with the draft,
// edits it mid-conversation, and the conversation goes on as it began; a new
// conversation (the builder's restart) gets the edit.
func TestPreviewKeepsTheDraftItStartedOn(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir()+"/v.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	ids, err := NewPreviewBots(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(greeting string, at time.Time) {
		t.Helper()
		if err := st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "f", Doc: draftDoc(greeting), UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	put("Hello", time.Unix(100, 0))
	snd := &recordingSender{sent: map[string][]string{}}
	rt, err := runtime.New(runtime.Config{Store: st, Flows: NewPreviewFlows(runtime.NewStoreFlows(st, 0), st, ids),
		Channels: map[string]runtime.Channel{"web": {Sender: snd}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rt.Shutdown(c)
	})
	bot, _ := issuePreview(t, st, ids, "u-mark", store.RoleMarketer)
	n := 0
	say := func(chat, text string) {
		t.Helper()
		n++
		in := channel.Inbound{Bot: bot, Channel: "web", Chat: chat, UpdateID: "u" + string(rune('a'+n)), Kind: channel.KindText,
			Text: text, Time: time.Unix(1000, 0)}
		if err := rt.Handle(ctx, in); err != nil {
			t.Fatalf("say %q in %s: %v", text, chat, err)
		}
	}

	say("one", "/start")
	snd.wait(t, "one", "Your name?")
	put("Howdy", time.Unix(200, 0)) // the marketer edits the greeting
	say("one", "Bob")
	snd.wait(t, "one", "Your name?", "Hello Bob", "Bye")

	say("two", "/start") // the builder's restart: a new conversation
	say("two", "Ann")
	snd.wait(t, "two", "Your name?", "Howdy Ann", "Bye")

	// The ended conversation starts over on the newest draft.
	say("one", "again")
	say("one", "Bob")
	snd.wait(t, "one", "Your name?", "Hello Bob", "Bye", "Your name?", "Howdy Bob", "Bye")
}

func TestPreviewFlowsVersions(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir()+"/v.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	ids, _ := NewPreviewBots(st, nil)
	next := runtime.StaticFlows{}
	pf := NewPreviewFlows(next, st, ids)
	bot, _ := issuePreview(t, st, ids, "u-mark", store.RoleMarketer)
	if _, err := pf.Current(ctx, bot); !errors.Is(err, runtime.ErrNoFlow) {
		t.Fatalf("no draft: %v", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "f", Doc: draftDoc("Hello"), UpdatedAt: time.Unix(1, 0)}))
	p1, err := pf.Current(ctx, bot)
	must(err)
	again, err := pf.Current(ctx, bot)
	must(err)
	if again != p1 || p1.Version <= 0 || p1.Version >= 1<<53 {
		t.Fatalf("unchanged draft compiled again or odd version %d", p1.Version)
	}
	must(st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "f", Doc: draftDoc("Howdy"), UpdatedAt: time.Unix(2, 0)}))
	p2, err := pf.Current(ctx, bot)
	must(err)
	if p2.Version == p1.Version {
		t.Fatal("a changed draft kept its version")
	}
	got, err := pf.Program(ctx, bot, "f", p1.Version)
	must(err)
	if got != p1 {
		t.Fatal("a conversation on the first draft got another program")
	}
	// Another process (a restart, a replica) numbers the same draft alike,
	// and reports the dropped one as gone so the runtime carries on.
	other := NewPreviewFlows(next, st, ids)
	got, err = other.Program(ctx, bot, "f", p2.Version)
	must(err)
	if got.Version != p2.Version || !strings.Contains(got.Flow.ID, "f") {
		t.Fatalf("another process: version %d, want %d", got.Version, p2.Version)
	}
	if _, err := other.Program(ctx, bot, "f", p1.Version); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a draft no process has: %v", err)
	}
	// A draft with errors does not run; a forged id is an ordinary bot.
	must(st.PutDraft(ctx, store.FlowDraft{Bot: "shop", FlowID: "f", Doc: []byte("voronka: 1\nid: f\nstart: nowhere\nnodes: {}\n"), UpdatedAt: time.Unix(3, 0)}))
	if _, err := pf.Current(ctx, bot); !errors.Is(err, runtime.ErrNoFlow) {
		t.Fatalf("draft with errors: %v", err)
	}
	if _, err := pf.Current(ctx, "preview~shop~f~forged"); !errors.Is(err, runtime.ErrNoFlow) {
		t.Fatalf("forged id: %v", err)
	}
}

func TestSharedPreviewBotsAgreeAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir()+"/v.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	a, err := SharedPreviewBots(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SharedPreviewBots(ctx, st, nil) // another replica, or after a restart
	if err != nil {
		t.Fatal(err)
	}
	id, _ := issuePreview(t, st, a, "u-mark", store.RoleMarketer)
	if pv, err := b.Check(ctx, id); err != nil || pv.Bot != "shop" || pv.Flow != "f" || pv.User != "u-mark" {
		t.Fatalf("an id from one process refused by another: %+v %v", pv, err)
	}
	other, _ := NewPreviewBots(st, nil)
	if _, err := other.Check(ctx, id); !errors.Is(err, ErrPreviewRefused) {
		t.Fatalf("a signer with another key: %v", err)
	}
}

// issuePreview signs userID (created with role when missing) in with a
// fresh session and returns the preview id of shop/f it gets, and the token.
func issuePreview(t *testing.T, st store.Store, ids *PreviewBots, userID string, role store.Role) (string, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.GetUser(ctx, userID); errors.Is(err, store.ErrNotFound) {
		if err := st.PutUser(ctx, store.User{ID: userID, Login: userID, Role: role, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := randomToken()
	if err != nil {
		t.Fatal(err)
	}
	now := ids.now()
	if err := st.PutSession(ctx, store.Session{ID: sessionID(tok), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	id, _, err := ids.Issue("shop", "f", userID, sessionID(tok))
	if err != nil {
		t.Fatal(err)
	}
	return id, tok
}
