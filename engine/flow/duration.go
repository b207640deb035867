package flow

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads durations as people write them in flows: 90s, 30m, 2h,
// 1d, 1w, 1h30m, 1.5h. Days are 24 hours; months are left out on purpose
// because their length varies.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	var total float64
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, badDuration(in)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, badDuration(in)
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		var unit time.Duration
		switch strings.TrimSpace(rest[:j]) {
		case "ms":
			unit = time.Millisecond
		case "s":
			unit = time.Second
		case "m", "min":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		default:
			return 0, badDuration(in)
		}
		rest = rest[j:]
		total += n * float64(unit)
	}
	if total > float64(10*365*24*time.Hour) {
		return 0, errors.New("duration " + strconv.Quote(in) + " is longer than ten years")
	}
	return time.Duration(total), nil
}

func badDuration(s string) error {
	return errors.New("invalid duration " + strconv.Quote(s) + ": use a number and a unit, e.g. 90s, 30m, 2h, 1d, 1w")
}

// FormatDuration writes a duration in the shortest form ParseDuration reads back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		name string
		d    time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	rest := d
	for _, u := range units {
		if rest >= u.d {
			n := rest / u.d
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			rest -= n * u.d
		}
	}
	if b.Len() == 0 || rest > 0 {
		return d.String()
	}
	return b.String()
}
