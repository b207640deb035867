package store

import (
	"testing"
	"time"
)

func TestWorkingHoursOpenAt(t *testing.T) {
	s := BotSettings{TimeZone: "Europe/Moscow", WorkingHours: &WorkingHours{
		Mon: []Interval{{"09:00", "13:00"}, {"14:00", "18:00"}},
		Fri: []Interval{{"22:00", "02:00"}},
		Sun: []Interval{{"10:00", "24:00"}},
	}}
	msk := time.FixedZone("MSK", 3*3600)
	cases := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 12, 7, 9, 0, 0, 0, msk), true},       // Monday 09:00, the first minute
		{time.Date(2026, 12, 7, 13, 30, 0, 0, msk), false},    // lunch
		{time.Date(2026, 12, 7, 17, 59, 0, 0, msk), true},     // just before the end
		{time.Date(2026, 12, 7, 18, 0, 0, 0, msk), false},     // the end is not included
		{time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC), true}, // 09:30 in Moscow
		{time.Date(2026, 12, 8, 10, 0, 0, 0, msk), false},     // Tuesday: closed
		{time.Date(2026, 12, 11, 23, 0, 0, 0, msk), true},     // Friday night
		{time.Date(2026, 12, 12, 1, 59, 0, 0, msk), true},     // Saturday, still Friday's shift
		{time.Date(2026, 12, 12, 2, 0, 0, 0, msk), false},     // Friday's shift ended
		{time.Date(2026, 12, 13, 23, 59, 0, 0, msk), true},    // Sunday until midnight
		{time.Date(2026, 12, 14, 0, 0, 0, 0, msk), false},     // Monday 00:00
	}
	for _, c := range cases {
		if got := s.OpenAt(c.at); got != c.open {
			t.Errorf("open at %s (%s) = %v, want %v", c.at, c.at.In(msk).Weekday(), got, c.open)
		}
	}
	if !(BotSettings{}).OpenAt(time.Now()) {
		t.Error("a bot without working hours is closed")
	}
}

func TestWorkingHoursValidate(t *testing.T) {
	for _, bad := range []Interval{{"9:00", "18:00"}, {"09:00", "25:00"}, {"24:00", "10:00"}, {"10:00", "10:00"}, {"10:60", "11:00"}, {"", "11:00"}} {
		w := &WorkingHours{Wed: []Interval{{"09:00", "10:00"}, bad}}
		if err := w.Validate(); err == nil {
			t.Errorf("%v passed validation", bad)
		}
	}
	if err := (&WorkingHours{Wed: []Interval{{"00:00", "24:00"}}}).Validate(); err != nil {
		t.Errorf("a whole day: %v", err)
	}
}
