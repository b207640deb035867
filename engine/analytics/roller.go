package analytics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voronka/voronka/engine"
	"github.com/voronka/voronka/engine/store"
)

// Store is what the roller needs of the store.
type Store interface {
	store.Rollups
	QueryEvents(ctx context.Context, q store.EventQuery) ([]store.Event, string, error)
	GetBot(ctx context.Context, id string) (*store.Bot, error)
}

// Roller keeps the rollups: it folds the events appends marked pending
// into counters, a batch at a time, off the message path.
type Roller struct {
	St  Store
	Log *slog.Logger
	// Every is the pause between flushes when nothing is pending (1 s).
	Every time.Duration
	// Batch is the most events one flush takes (2,000).
	Batch int

	// decoded keeps the fold states this roller last stored, with their
	// stored bytes: a conversation writing every second is folded in
	// every flush, and decoding its state's JSON again was a third of the
	// flush's CPU. A state whose stored bytes differ (another replica
	// flushed it, or a rebuild) is decoded from the store as before.
	decoded map[string]decodedState
	mu      sync.Mutex // one Flush or Rebuild at a time: they share decoded
}

type decodedState struct {
	enc []byte
	s   *State
}

// maxDecoded bounds Roller.decoded: a few flushes' conversations.
const maxDecoded = 50_000

// Run flushes until ctx ends.
func (r *Roller) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := r.Flush(ctx)
			if err != nil {
				switch {
				case ctx.Err() != nil:
				case errors.Is(err, store.ErrVersionConflict):
					// Another replica flushed this batch; ours was computed
					// from what it took, so look again.
					r.log().Debug("analytics rollup flush lost to another replica", "err", err)
				default:
					r.log().Warn("analytics rollup flush", "err", err)
				}
				break
			}
			if n < r.batch() {
				break
			}
		}
		t.Reset(every)
	}
}

func (r *Roller) batch() int {
	if r.Batch <= 0 {
		return 2000
	}
	return r.Batch
}

func (r *Roller) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// Flush folds one batch of pending events into the rollups and returns
// how many events it took (a batch a crash left open counts as taken).
func (r *Roller) Flush(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	events, seq, open, err := r.St.PendingEvents(ctx, r.batch())
	if err != nil {
		return 0, fmt.Errorf("pending events: %w", err)
	}
	if open != nil {
		if err := r.St.ApplyRollup(ctx, *open); err != nil {
			return 0, fmt.Errorf("apply the open batch %d: %w", open.Seq, err)
		}
		return len(open.Events), nil
	}
	if len(events) == 0 {
		return 0, nil
	}
	byConv := map[string][]*store.Event{}
	var convs []string
	for i := range events {
		e := &events[i]
		if byConv[e.Conversation] == nil {
			convs = append(convs, e.Conversation)
		}
		byConv[e.Conversation] = append(byConv[e.Conversation], e)
	}
	states, err := r.St.RollupStates(ctx, convs)
	if err != nil {
		return 0, fmt.Errorf("fold states: %w", err)
	}
	folders := folderCache{st: r.St, log: r.log()}
	deltas := map[string]Deltas{} // by bot
	folded := make(map[string]decodedState, len(convs))
	b := store.RollupBatch{Seq: seq + 1, States: map[string][]byte{}}
	for _, id := range convs {
		evs := byConv[id]
		slices.SortStableFunc(evs, func(a, b *store.Event) int { return Compare(a, b) })
		s := r.state(id, states[id])
		for _, e := range evs {
			f := folders.get(ctx, e.Bot)
			d := deltas[e.Bot]
			if d == nil {
				d = Deltas{}
				deltas[e.Bot] = d
			}
			f.Fold(s, e, d)
			b.Events = append(b.Events, store.EventKey{Bot: e.Bot, ID: e.ID, At: e.At})
		}
		if id == "" {
			continue
		}
		// Receipts (delivered, read) change no state: nothing to write.
		enc := s.Encode()
		if !bytes.Equal(enc, states[id]) {
			b.States[id] = enc
		}
		folded[id] = decodedState{enc: enc, s: s}
	}
	for bot, d := range deltas {
		b.Deltas = append(b.Deltas, d.Docs(bot)...)
	}
	if err := r.St.ApplyRollup(ctx, b); err != nil {
		// The folded states were not stored: forget them.
		for id := range folded {
			delete(r.decoded, id)
		}
		return 0, fmt.Errorf("apply rollup of %d events: %w", len(events), err)
	}
	if r.decoded == nil || len(r.decoded)+len(folded) > maxDecoded {
		r.decoded = make(map[string]decodedState, len(folded))
	}
	for id, d := range folded {
		r.decoded[id] = d
	}
	return len(events), nil
}

// FlushAll flushes until no event is pending and returns how many it took:
// what a command that reads or rebuilds the rollups does first, so they
// start from a quiet log.
func (r *Roller) FlushAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.Flush(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// state is conversation id's fold state stored as enc: the one this
// roller folded last when it stored those bytes, else decoded. It is the
// caller's to change (folding into a kept state before storing it is what
// the error path of Flush undoes).
func (r *Roller) state(id string, enc []byte) *State {
	if d, ok := r.decoded[id]; ok && bytes.Equal(d.enc, enc) {
		return d.s
	}
	s, err := DecodeState(enc)
	if err != nil {
		r.log().Warn("fold state unreadable, starting afresh", "conversation", id, "err", err)
		return &State{}
	}
	return s
}

// Rebuild recomputes bot's rollups from its event log: counters and fold
// states are deleted, then every stored event is folded again, in order.
// Run it while nothing else writes the bot's events (the servers
// stopped): events appended meanwhile would be folded twice.
func (r *Roller) Rebuild(ctx context.Context, bot string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decoded = nil
	if err := r.St.ResetRollups(ctx, bot); err != nil {
		return 0, fmt.Errorf("reset rollups of %s: %w", bot, err)
	}
	folders := folderCache{st: r.St, log: r.log()}
	f := folders.get(ctx, bot)
	states := map[string]*State{}
	d := Deltas{}
	var group []*store.Event // events of one instant, folded together in order
	fold := func() {
		slices.SortStableFunc(group, func(a, b *store.Event) int {
			if c := strings.Compare(a.Conversation, b.Conversation); c != 0 {
				return c
			}
			return Compare(a, b)
		})
		for _, e := range group {
			s := states[e.Conversation]
			if s == nil {
				s = &State{}
				states[e.Conversation] = s
			}
			f.Fold(s, e, d)
		}
		group = group[:0]
	}
	n, cursor := 0, ""
	for {
		page, next, err := r.St.QueryEvents(ctx, store.EventQuery{Bot: bot, Cursor: cursor, Limit: store.MaxLimit})
		if err != nil {
			return n, fmt.Errorf("read events of %s: %w", bot, err)
		}
		for i := range page {
			e := &page[i]
			if len(group) > 0 && !group[0].At.Equal(e.At) {
				fold()
			}
			group = append(group, e)
			n++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	fold()
	b := store.RollupBatch{Deltas: d.Docs(bot), States: map[string][]byte{}}
	for id, s := range states {
		if id == "" {
			continue
		}
		b.States[id] = s.Encode()
		if len(b.States) >= 5000 {
			if err := r.St.ApplyRollup(ctx, store.RollupBatch{States: b.States}); err != nil {
				return n, fmt.Errorf("write fold states: %w", err)
			}
			b.States = map[string][]byte{}
		}
	}
	if err := r.St.ApplyRollup(ctx, b); err != nil {
		return n, fmt.Errorf("write rollups of %s: %w", bot, err)
	}
	return n, nil
}

// SortChange puts the events of one change in the order Fold takes them
// (Compare): the order to append them in, so a flush that sees only part
// of them (a store without transactions, inserting one after another)
// sees a prefix and folds the rest after it.
func SortChange(evs []store.Event) {
	slices.SortStableFunc(evs, func(a, b store.Event) int { return Compare(&a, &b) })
}

// Compare orders two events of one conversation as they happened: by
// time, then within one change the inbound message first, the step's
// events by their index, and delivery events after them.
func Compare(a, b *store.Event) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	ra, ia := rank(a)
	rb, ib := rank(b)
	if ra != rb {
		return ra - rb
	}
	if ia != ib {
		if ia < ib {
			return -1
		}
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}

func rank(e *store.Event) (int, int) {
	if e.Type == engine.EvConversationStarted {
		// A run's first event: the inbound message that began it already
		// belongs to it (its source).
		return -1, 0
	}
	last := e.ID[strings.LastIndexByte(e.ID, '/')+1:]
	if last == "in" {
		return 0, 0
	}
	if i, err := strconv.Atoi(last); err == nil {
		return 1, i
	}
	return 2, 0
}

// folderCache finds each bot's time zone once per flush.
type folderCache struct {
	st  Store
	log *slog.Logger
	m   map[string]*Folder
}

func (c *folderCache) get(ctx context.Context, bot string) *Folder {
	if f, ok := c.m[bot]; ok {
		return f
	}
	if c.m == nil {
		c.m = map[string]*Folder{}
	}
	f := &Folder{Loc: time.UTC}
	if b, err := c.st.GetBot(ctx, bot); err == nil {
		f.Loc = Location(b)
	} else if !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("analytics: bot settings unreadable, using UTC", "bot", bot, "err", err)
	}
	c.m[bot] = f
	return f
}

// Location is the bot's time zone (UTC when unset or unknown).
func Location(b *store.Bot) *time.Location {
	if b == nil || b.Settings.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(b.Settings.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
