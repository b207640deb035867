package main

import (
	"io"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestHTTPAllowConfig(t *testing.T) {
	cfg, err := loadServeConfig(nil, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8, crm.internal"}), io.Discard)
	if err != nil || cfg.HTTPAllow != "10.0.0.0/8, crm.internal" {
		t.Fatalf("allow-list from the environment: %q, %v", cfg.HTTPAllow, err)
	}
	cfg, err = loadServeConfig([]string{"-http-allow", "*.corp.example"}, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8"}), io.Discard)
	if err != nil || cfg.HTTPAllow != "*.corp.example" {
		t.Fatalf("the flag wins over the environment: %q, %v", cfg.HTTPAllow, err)
	}
	_, err = loadServeConfig(nil, envOf(map[string]string{"VORONKA_HTTP_ALLOW": "10.0.0.0/8, http://crm:8080"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"http://crm:8080"`) {
		t.Fatalf("a URL in the allow-list: %v, want an error naming the entry", err)
	}
}
