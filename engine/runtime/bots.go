package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// botInfo is what a step needs from a bot's settings, prepared once.
type botInfo struct {
	env     map[string]string
	loc     *time.Location
	quietOn bool
	qStart  int // minutes after local midnight
	qEnd    int
	// stopWords unsubscribe from broadcasts (DefaultStopWords unless the
	// bot lists its own).
	stopWords []string
	loaded    time.Time
	// openAt says whether the bot is within its working hours; nil: always.
	openAt func(time.Time) bool
}

// offline reports whether now is outside the bot's working hours.
func (b *botInfo) offline(now time.Time) bool { return b.openAt != nil && !b.openAt(now) }

// botCache keeps bot settings for a short while: reading the bot on every
// inbound would double the hot path's reads, and settings change rarely.
type botCache struct {
	r  *Runtime
	mu sync.Mutex
	m  map[string]*botInfo
}

func newBotCache(r *Runtime) *botCache { return &botCache{r: r, m: map[string]*botInfo{}} }

// get never fails: a bot that cannot be read runs with empty settings, which
// only loses env values and quiet hours, and is logged.
func (c *botCache) get(ctx context.Context, id string) *botInfo {
	now := c.r.clock.Now()
	c.mu.Lock()
	b := c.m[id]
	c.mu.Unlock()
	if b != nil && now.Sub(b.loaded) < c.r.opts.BotCacheTTL {
		return b
	}
	b = &botInfo{loc: time.UTC, loaded: now, stopWords: DefaultStopWords}
	sb, err := c.r.st.GetBot(ctx, id)
	switch {
	case err == nil:
		c.r.prepareBot(b, sb)
	case errors.Is(err, store.ErrNotFound):
	default:
		c.r.log.Warn("read bot settings", "bot", id, "err", err)
		return b // do not cache a failure
	}
	c.mu.Lock()
	c.m[id] = b
	c.mu.Unlock()
	return b
}

// InvalidateBot drops cached settings of a bot, for the server to call after
// it changes them.
func (r *Runtime) InvalidateBot(id string) {
	r.bots.mu.Lock()
	delete(r.bots.m, id)
	r.bots.mu.Unlock()
}

func (r *Runtime) prepareBot(b *botInfo, sb *store.Bot) {
	set := sb.Settings
	if set.WorkingHours != nil {
		b.openAt = set.OpenAt
	}
	if set.StopWords != nil {
		b.stopWords = set.StopWords
	}
	if len(set.AllowedEnv) > 0 {
		b.env = make(map[string]string, len(set.AllowedEnv))
		for _, name := range set.AllowedEnv {
			if v, ok := r.opts.LookupEnv(name); ok {
				b.env[name] = v
			}
		}
	}
	if set.TimeZone != "" {
		loc, err := time.LoadLocation(set.TimeZone)
		if err != nil {
			r.log.Warn("bot time zone", "bot", sb.ID, "zone", set.TimeZone, "err", err)
		} else {
			b.loc = loc
		}
	}
	if q := set.QuietHours; q != nil {
		s, err1 := parseClock(q.Start)
		e, err2 := parseClock(q.End)
		if err := errors.Join(err1, err2); err != nil {
			r.log.Warn("bot quiet hours", "bot", sb.ID, "err", err)
		} else if s != e {
			b.quietOn, b.qStart, b.qEnd = true, s, e
		}
	}
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad time of day %q, want HH:MM", s)
	}
	return hh*60 + mm, nil
}

// quiet moves t out of the bot's quiet hours to the moment they end, so a
// delayed message does not wake anyone at night. Answers to the person are
// never delayed by it: only timers marked Delayed pass through here.
func (b *botInfo) quiet(t time.Time) time.Time {
	if !b.quietOn {
		return t
	}
	lt := t.In(b.loc)
	mins := lt.Hour()*60 + lt.Minute()
	var in bool
	if b.qStart < b.qEnd {
		in = mins >= b.qStart && mins < b.qEnd
	} else {
		in = mins >= b.qStart || mins < b.qEnd
	}
	if !in {
		return t
	}
	y, mo, d := lt.Date()
	end := time.Date(y, mo, d, b.qEnd/60, b.qEnd%60, 0, 0, b.loc)
	if !end.After(lt) {
		end = time.Date(y, mo, d+1, b.qEnd/60, b.qEnd%60, 0, 0, b.loc)
	}
	return end.In(t.Location())
}
