package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/runtime"
)

func TestRetentionConfig(t *testing.T) {
	day := 24 * time.Hour
	yamlFile := filepath.Join(t.TempDir(), "voronka.yaml")
	if err := os.WriteFile(yamlFile, []byte("retain:\n  transcripts: 365d\n  events: keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    runtime.Retention
		wantErr string
	}{
		{name: "nothing set keeps the runtime's defaults"},
		{name: "environment", env: map[string]string{"VORONKA_RETAIN_TRANSCRIPTS": "30d", "VORONKA_RETAIN_EVENTS": "12h",
			"VORONKA_RETAIN_JOBS": "1.5d", "VORONKA_RETAIN_FAILED_JOBS": "keep", "VORONKA_RETAIN_EVERY": "15m"},
			want: runtime.Retention{Messages: 30 * day, Events: 12 * time.Hour, Jobs: 36 * time.Hour, FailedJobs: runtime.Keep, Every: 15 * time.Minute}},
		{name: "a flag beats the environment", args: []string{"-retain-transcripts", "7d"},
			env:  map[string]string{"VORONKA_RETAIN_TRANSCRIPTS": "30d"},
			want: runtime.Retention{Messages: 7 * day}},
		{name: "voronka.yaml, under the environment", args: []string{"-config", yamlFile},
			env:  map[string]string{"VORONKA_RETAIN_EVENTS": "60d"},
			want: runtime.Retention{Messages: 365 * day, Events: 60 * day}},
		{name: "off turns the purge off", env: map[string]string{"VORONKA_RETAIN_EVERY": "OFF"}, want: runtime.Retention{Every: runtime.Keep}},
		{name: "zero would delete everything", env: map[string]string{"VORONKA_RETAIN_TRANSCRIPTS": "0"},
			wantErr: `VORONKA_RETAIN_TRANSCRIPTS (-retain-transcripts): "0" must be longer than zero (keep keeps for ever)`},
		{name: "negative", args: []string{"-retain-events", "-3d"}, wantErr: `VORONKA_RETAIN_EVENTS (-retain-events): "-3d" must be longer than zero`},
		{name: "not a duration", env: map[string]string{"VORONKA_RETAIN_JOBS": "a week"},
			wantErr: `VORONKA_RETAIN_JOBS (-retain-jobs): "a week" is not a duration (e.g. 180d, 12h) or keep`},
		{name: "keep is for ages, off for the schedule", env: map[string]string{"VORONKA_RETAIN_EVERY": "keep"},
			wantErr: `VORONKA_RETAIN_EVERY (-retain-every): "keep" is not a duration (e.g. 180d, 12h) or off`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadServeConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.retention != tc.want {
				t.Fatalf("retention %+v, want %+v", cfg.retention, tc.want)
			}
		})
	}
}
