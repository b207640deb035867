package main

import (
	"io"
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
