package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WorkingHours is a weekly schedule in the bot's time zone: for each day,
// the intervals people work. A day with no intervals is closed. An
// interval whose end is not after its start runs past midnight into the
// next day ("22:00"–"02:00" on Friday covers Saturday until 02:00).
type WorkingHours struct {
	Mon []Interval `json:"mon,omitempty" bson:"mon,omitempty"`
	Tue []Interval `json:"tue,omitempty" bson:"tue,omitempty"`
	Wed []Interval `json:"wed,omitempty" bson:"wed,omitempty"`
	Thu []Interval `json:"thu,omitempty" bson:"thu,omitempty"`
	Fri []Interval `json:"fri,omitempty" bson:"fri,omitempty"`
	Sat []Interval `json:"sat,omitempty" bson:"sat,omitempty"`
	Sun []Interval `json:"sun,omitempty" bson:"sun,omitempty"`
}

// Interval is a local time range, "09:00" to "18:00" ("24:00" ends at
// midnight).
type Interval struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

// day returns the intervals of a weekday.
func (w *WorkingHours) day(d time.Weekday) []Interval {
	return [...][]Interval{w.Sun, w.Mon, w.Tue, w.Wed, w.Thu, w.Fri, w.Sat}[d]
}

// OpenAt reports whether t falls in working hours, read in loc (UTC when
// nil). Nil working hours are always open.
func (w *WorkingHours) OpenAt(t time.Time, loc *time.Location) bool {
	if w == nil {
		return true
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	m := t.Hour()*60 + t.Minute()
	for _, iv := range w.day(t.Weekday()) {
		s, e, err := iv.minutes()
		if err != nil {
			continue
		}
		if (s < e && m >= s && m < e) || (s >= e && m >= s) {
			return true
		}
	}
	// Yesterday's intervals that run past midnight.
	for _, iv := range w.day((t.Weekday() + 6) % 7) {
		s, e, err := iv.minutes()
		if err == nil && s >= e && m < e {
			return true
		}
	}
	return false
}

// Validate checks every interval; the error names the first bad one.
func (w *WorkingHours) Validate() error {
	if w == nil {
		return nil
	}
	names := [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	for d := time.Sunday; d <= time.Saturday; d++ {
		for i, iv := range w.day(d) {
			if _, _, err := iv.minutes(); err != nil {
				return fmt.Errorf("working_hours.%s[%d]: %w", names[d], i, err)
			}
		}
	}
	return nil
}

// minutes returns the interval's ends as minutes after midnight.
func (iv Interval) minutes() (start, end int, err error) {
	if start, err = clockMinutes(iv.Start, false); err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	if end, err = clockMinutes(iv.End, true); err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	if start == end {
		return 0, 0, fmt.Errorf("%s-%s is empty", iv.Start, iv.End)
	}
	return start, end, nil
}

// clockMinutes reads "HH:MM"; "24:00" only as an end.
func clockMinutes(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || mm < 0 || mm > 59 || hh < 0 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time of day like 09:00", s)
	}
	return hh*60 + mm, nil
}

// Location is the bot's time zone, UTC when unset or unknown.
func (s BotSettings) Location() *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// OpenAt reports whether t is within the bot's working hours, in its time
// zone; a bot without working hours is always open.
func (s BotSettings) OpenAt(t time.Time) bool {
	return s.WorkingHours.OpenAt(t, s.Location())
}
