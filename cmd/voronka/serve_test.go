package main

import (
	"io"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestServeRaisesTheGCTargetUnlessGOGCIsSet(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GC target without GOGC = %d, want %d", got, serveGCPercent)
	}
	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC target with GOGC set = %d, want it left alone (100)", got)
	}
}

func TestTrustedProxiesConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VORONKA_TRUSTED_PROXIES" {
				return v
			}
			return ""
		}
	}
	cfg, err := loadServeConfig(nil, env(" 10.0.0.0/8, 192.168.1.10 ,"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.trustedProxies()
	if err != nil || len(got) != 2 || got[0] != "10.0.0.0/8" || got[1] != "192.168.1.10" {
		t.Fatalf("trusted proxies %q, %v; want [10.0.0.0/8 192.168.1.10]", got, err)
	}
	if _, err := loadServeConfig([]string{"-trusted-proxies", "loadbalancer"}, env(""), io.Discard); err == nil ||
		!strings.Contains(err.Error(), `"loadbalancer"`) {
		t.Fatalf("a host name as trusted proxy: %v, want an error naming it", err)
	}
}

func TestSendHorizonConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VORONKA_SEND_HORIZON" {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		args []string
		env  string
		want time.Duration
		bad  bool
	}{
		{nil, "", 0, false}, // the runtime's default
		{nil, "30m", 30 * time.Minute, false},
		{[]string{"-send-horizon", "2h"}, "30m", 2 * time.Hour, false},
		{nil, "soon", 0, true},
		{[]string{"-send-horizon", "-5m"}, "", 0, true},
	} {
		cfg, err := loadServeConfig(tc.args, env(tc.env), io.Discard)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "send horizon") {
				t.Errorf("%v %q: %v, want a send horizon error", tc.args, tc.env, err)
			}
			continue
		}
		if err != nil || cfg.sendHorizon != tc.want {
			t.Errorf("%v %q: horizon %s, %v; want %s", tc.args, tc.env, cfg.sendHorizon, err, tc.want)
		}
	}
}

func TestMetricsConfig(t *testing.T) {
	env := map[string]string{"VORONKA_METRICS_TOKEN": "m-tok", "VORONKA_METRICS_LISTEN": "127.0.0.1:9090"}
	cfg, err := loadServeConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.MetricsToken != "m-tok" || cfg.MetricsListen != "127.0.0.1:9090" {
		t.Fatalf("from the environment: token %q, listen %q, %v", cfg.MetricsToken, cfg.MetricsListen, err)
	}
	cfg, err = loadServeConfig([]string{"-metrics-listen", "127.0.0.1:9191"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || cfg.MetricsListen != "127.0.0.1:9191" {
		t.Fatalf("the flag over the environment: %q, %v", cfg.MetricsListen, err)
	}
	cfg, err = loadServeConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MetricsToken != "" || cfg.MetricsListen != "" {
		t.Fatalf("by default /metrics is off: token %q, listen %q, %v", cfg.MetricsToken, cfg.MetricsListen, err)
	}
}

func TestBotIDsInConfigAreChecked(t *testing.T) {
	dir := t.TempDir()
	for id, ok := range map[string]bool{"shop": true, "Shop_2": true, "faq-bot": true, "a~b": false, "my bot": false, "магазин": false} {
		path := dir + "/voronka.yaml"
		if err := os.WriteFile(path, []byte("bots:\n  - id: \""+id+"\"\n    flow: faq-bot\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadServeConfig([]string{"-config", path}, func(string) string { return "" }, io.Discard)
		if (err == nil) != ok || (!ok && !strings.Contains(err.Error(), id)) {
			t.Errorf("bot id %q: %v, want accepted %v", id, err, ok)
		}
	}
}
