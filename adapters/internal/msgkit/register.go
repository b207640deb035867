package msgkit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/voronka/voronka/engine/channel"
)

// BuildFunc makes one bot's channel. cfg.APIURL is already the Env's when
// the channel names none; log names the channel (nil when the Env has no
// logger: the adapter's default).
type BuildFunc func(env channel.Env, cfg channel.Config, log *slog.Logger) (channel.Channel, error)

// Opener is the channel.Type.Open of a webhook adapter: it refuses an Env
// without a handler and builds each bot's channel with build.
func Opener(name string, build BuildFunc) func(channel.Env) (channel.Adapter, error) {
	return func(env channel.Env) (channel.Adapter, error) {
		if env.Handler == nil {
			return nil, fmt.Errorf("%s: Env.Handler is nil", name)
		}
		return builder{name: name, env: env, build: build}, nil
	}
}

type builder struct {
	name  string
	env   channel.Env
	build BuildFunc
}

func (b builder) Build(cfg channel.Config) (channel.Channel, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = b.env.APIURL
	}
	log := b.env.Logger
	if log != nil {
		log = log.With("channel", b.name)
	}
	return b.build(b.env, cfg, log)
}

// WebhookFunc is an adapter's webhook: channel.WebhookRequest in, answer out.
type WebhookFunc func(ctx context.Context, req channel.WebhookRequest) channel.WebhookResponse

// WebhookRoutes serve the bot's /{type}/{bot} with webhook for each method,
// handing it the body and only the named query parameters and headers (a
// signature, a verification challenge): the rest of the request is the
// server's business.
func WebhookRoutes(webhook WebhookFunc, query, headers []string, methods ...string) []channel.Route {
	serve := func(ctx context.Context, r *channel.Request) channel.Response {
		q, h := url.Values{}, http.Header{}
		for _, k := range query {
			if v := r.Query(k); v != "" {
				q.Set(k, v)
			}
		}
		for _, k := range headers {
			if v := r.Header(k); v != "" {
				h.Set(k, v)
			}
		}
		res := webhook(ctx, channel.WebhookRequest{Method: r.Method, Query: q, Header: h, Body: r.Body})
		return channel.Response{Status: res.Status, ContentType: res.ContentType, Body: res.Body}
	}
	routes := make([]channel.Route, len(methods))
	for i, m := range methods {
		routes[i] = channel.Route{Method: m, Handle: serve}
	}
	return routes
}

// Client is an adapter's default HTTP client: no timeout (contexts bound
// each call) and up to 64 idle connections to the platform's one host, where
// net/http's default of two makes parallel senders dial a new connection for
// nearly every message. Every messenger adapter, Telegram's too, uses it.
func Client() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return &http.Client{}
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}
