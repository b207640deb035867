package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// RefusedError is why a connection was not made: the address it would have
// reached is internal and not on the allow-list.
type RefusedError struct {
	Host   string     // the host name or address the URL named
	Addr   netip.Addr // the address it resolved to
	Reason string     // "a loopback address", ...
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("refused: %s resolves to %s, %s (not in VORONKA_HTTP_ALLOW)", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("refused: %s is %s (not in VORONKA_HTTP_ALLOW)", e.Addr, e.Reason)
}

// ErrTooLarge is the error of reading a response body past Options.MaxBody.
var ErrTooLarge = errors.New("response body too large")

// Options configure a guarded client. Zero fields take the defaults in
// brackets.
type Options struct {
	// Allow lets calls reach these internal destinations; nil allows none.
	Allow *Allowlist
	// Timeout bounds a whole call: connecting, every redirect and reading
	// the body [10s].
	Timeout time.Duration
	// MaxRedirects is how many redirects a call follows [5].
	MaxRedirects int
	// MaxBody bounds the response body read [1 MiB]: reading more fails
	// with ErrTooLarge, so a huge or endless response costs nothing.
	MaxBody int64
	// Resolver resolves host names [net.DefaultResolver].
	Resolver *net.Resolver

	// approved, when set, runs after the guard let an address through and
	// before the connection is made; tests refuse everything but loopback
	// there so a faulty guard can never reach another host.
	approved func(host string, addr netip.AddrPort) error
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 5
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
}

// NewClient returns an HTTP client whose every connection, redirects
// included, is checked against the guard after DNS resolution. It uses no
// proxy from the environment: a proxy would make the checked address the
// proxy's, not the destination's.
func NewClient(o Options) *http.Client {
	o.defaults()
	g := &guard{opts: o}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dial,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     &limitBody{next: t, max: o.MaxBody},
		Timeout:       o.Timeout,
		CheckRedirect: g.checkRedirect,
	}
}

type guard struct {
	opts Options
}

// dial connects to addr ("host:port") only at addresses the policy allows.
// The dialer resolves the name and calls control with each address before
// connecting, so the address checked is the address reached.
func (g *guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	trusted := g.opts.Allow.host(host)
	d := &net.Dialer{
		Timeout:  g.opts.Timeout,
		Resolver: g.opts.Resolver,
		ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refused: cannot read the address %q: %w", address, err)
			}
			if !trusted {
				if err := g.check(host, ap.Addr()); err != nil {
					return err
				}
			}
			if g.opts.approved != nil {
				return g.opts.approved(host, ap)
			}
			return nil
		},
	}
	return d.DialContext(ctx, network, addr)
}

// check refuses an internal address that the allow-list does not name.
func (g *guard) check(host string, ip netip.Addr) error {
	r := refusal(ip)
	if r == "" || g.opts.Allow.addr(ip) {
		return nil
	}
	return &RefusedError{Host: host, Addr: ip.WithZone(""), Reason: r}
}

// checkRedirect bounds the hops and keeps them on http(s); each hop dials
// through the guard again.
func (g *guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > g.opts.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", g.opts.MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %q URL refused", req.URL.Scheme)
	}
	return nil
}

// limitBody makes every response body fail past max bytes.
type limitBody struct {
	next http.RoundTripper
	max  int64
}

func (l *limitBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedReader{rc: resp.Body, left: l.max}
	return resp, nil
}

type limitedReader struct {
	rc   io.ReadCloser
	left int64
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > r.left+1 {
		p = p[:r.left+1]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	if r.left < 0 {
		return n + int(r.left), ErrTooLarge
	}
	return n, err
}

func (r *limitedReader) Close() error { return r.rc.Close() }
