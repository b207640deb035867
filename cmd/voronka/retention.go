package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/runtime"
)

// retentionConfig is what the periodic purge keeps, as written in
// voronka.yaml, VORONKA_RETAIN_* or -retain-* ("" means the default).
type retentionConfig struct {
	Every       string `yaml:"every"`
	Jobs        string `yaml:"jobs"`
	FailedJobs  string `yaml:"failed_jobs"`
	Transcripts string `yaml:"transcripts"`
	Events      string `yaml:"events"`
}

// retentionSetting names one setting in every place it can be given.
type retentionSetting struct {
	field *string
	flag  *string
	name  string // the flag's
	env   string
	// off is the word that turns the setting off ("keep" for an age).
	off string
	dst func(*runtime.Retention) *time.Duration
}

// flags defines the -retain-* flags on fs.
func (c *retentionConfig) flags(fs *flag.FlagSet) []retentionSetting {
	s := func(field *string, name, env, off, usage, def string, dst func(*runtime.Retention) *time.Duration) retentionSetting {
		return retentionSetting{field: field, flag: fs.String(name, "", usage+" ["+env+", "+def+"]"),
			name: name, env: env, off: off, dst: dst}
	}
	return []retentionSetting{
		s(&c.Every, "retain-every", "VORONKA_RETAIN_EVERY", "off", "how often old data is purged, or off", "1h",
			func(r *runtime.Retention) *time.Duration { return &r.Every }),
		s(&c.Jobs, "retain-jobs", "VORONKA_RETAIN_JOBS", "keep", "purge done and cancelled jobs older than this, or keep", "1d",
			func(r *runtime.Retention) *time.Duration { return &r.Jobs }),
		s(&c.FailedJobs, "retain-failed-jobs", "VORONKA_RETAIN_FAILED_JOBS", "keep", "purge failed jobs older than this, or keep", "30d",
			func(r *runtime.Retention) *time.Duration { return &r.FailedJobs }),
		s(&c.Transcripts, "retain-transcripts", "VORONKA_RETAIN_TRANSCRIPTS", "keep", "purge transcript lines older than this, or keep", "180d",
			func(r *runtime.Retention) *time.Duration { return &r.Messages }),
		s(&c.Events, "retain-events", "VORONKA_RETAIN_EVENTS", "keep", "purge raw analytics events older than this, or keep", "90d",
			func(r *runtime.Retention) *time.Duration { return &r.Events }),
	}
}

// retention turns the settings into the runtime's; an unreadable value
// is an error naming the setting, and nothing starts.
func retention(settings []retentionSetting) (runtime.Retention, error) {
	var r runtime.Retention
	for _, s := range settings {
		if *s.field == "" {
			continue
		}
		d, err := parseRetention(*s.field, s.off)
		if err != nil {
			return r, fmt.Errorf("%s (-%s): %w", s.env, s.name, err)
		}
		*s.dst(&r) = d
	}
	return r, nil
}

// parseRetention reads a Go duration ("12h", "90m") or a number of days
// ("180d"); off ("keep" or "off") gives runtime.Keep. Zero and negative
// values are refused: an age of zero would delete everything at once.
func parseRetention(v, off string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, off) {
		return runtime.Keep, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("%q is not a duration (e.g. 180d, 12h) or %s", v, off)
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 180d, 12h) or %s", v, off)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero (%s keeps for ever)", v, off)
	}
	return d, nil
}
