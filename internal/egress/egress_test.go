package egress

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestAddressesRefusedAndAllowed(t *testing.T) {
	for _, tc := range []struct {
		ip      string
		refused string // part of the reason; "" when the address may be dialled
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},  // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},   // 6to4 of 8.8.8.8
		{"172.32.0.1", ""},        // just past 172.16/12
		{"100.128.0.1", ""},       // just past 100.64/10
		{"127.0.0.1", "loopback"}, //
		{"127.255.255.254", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.1", "private"},
		{"169.254.169.254", "metadata"},
		{"169.254.1.1", "link-local"},
		{"100.100.100.200", "carrier-grade NAT"}, // Alibaba's metadata service
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.0.192", "IETF"}, // Oracle Cloud's metadata service
		{"198.18.0.1", "benchmarking"},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "private"},
		{"fd00:ec2::254", "private"}, // AWS's IPv6 metadata service
		{"ff02::1", "multicast"},
		{"ff05::2", "multicast"},
		{"::ffff:127.0.0.1", "loopback address (IPv4-mapped)"},
		{"::ffff:169.254.169.254", "metadata address (IPv4-mapped)"},
		{"::ffff:10.0.0.1", "private"},
		{"64:ff9b::7f00:1", "loopback address (NAT64 form of 127.0.0.1)"},
		{"64:ff9b::a9fe:a9fe", "metadata address (NAT64 form of 169.254.169.254)"},
		{"64:ff9b:1::a00:1", "local NAT64"},
		{"2002:7f00:1::1", "loopback address (6to4 form of 127.0.0.1)"},
		{"2002:a9fe:a9fe::1", "metadata"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"::a9fe:a9fe", "IPv4-compatible"},
		{"2001:db8::1", "documentation"},
		{"2001:0:4136:e378::1", "Teredo"},
		{"fec0::1", "site-local"},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			got := refusal(netip.MustParseAddr(tc.ip))
			switch {
			case tc.refused == "" && got != "":
				t.Errorf("refused (%s), want allowed", got)
			case tc.refused != "" && !strings.Contains(got, tc.refused):
				t.Errorf("reason %q, want it to mention %q", got, tc.refused)
			}
		})
	}
}

func TestAllowlistParsing(t *testing.T) {
	a, err := ParseAllowlist(" 10.20.0.0/16, 192.168.1.7 crm.internal.,*.corp.example, fd00::/8 ,[::ffff:172.16.0.9]")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"10.20.3.4", true}, {"10.21.0.1", false}, {"192.168.1.7", true}, {"192.168.1.8", false},
		{"fd12::1", true}, {"fc00::1", false}, {"::ffff:10.20.0.1", true}, {"172.16.0.9", true},
	} {
		if got := a.addr(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("addr %s allowed = %v, want %v", tc.ip, got, tc.want)
		}
	}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"crm.internal", true}, {"CRM.Internal.", true}, {"x.crm.internal", false},
		{"a.corp.example", true}, {"a.b.corp.example", true}, {"corp.example", false}, {"evilcorp.example", false},
	} {
		if got := a.host(tc.host); got != tc.want {
			t.Errorf("host %s allowed = %v, want %v", tc.host, got, tc.want)
		}
	}
	if got := a.String(); got != "10.20.0.0/16,192.168.1.7/32,fd00::/8,172.16.0.9/32,crm.internal,*.corp.example" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "crm.internal:8080", "http://crm", "*", "a..b", "crm/", "10.0.0.1%eth0"} {
		if _, err := ParseAllowlist(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if a, err := ParseAllowlist(""); err != nil || !a.Empty() {
		t.Errorf("empty list: %v, %v", a, err)
	}
}

// target is a local HTTP server that counts the requests that reach it.
type target struct {
	*httptest.Server
	hits atomic.Int32
	port string
}

func newTarget(t *testing.T, h http.HandlerFunc) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		w.Write([]byte("internal secret"))
	}))
	t.Cleanup(tg.Close)
	_, tg.port, _ = net.SplitHostPort(tg.Listener.Addr().String())
	return tg
}

var errNotConnecting = errors.New("test: the guard let a non-loopback address through; not connecting")

// safe keeps the tests on this machine whatever the guard decides: an
// address the guard lets through is only connected to on loopback, and
// every one is recorded.
func safe(o Options) (Options, *[]netip.AddrPort) {
	var mu sync.Mutex
	seen := &[]netip.AddrPort{}
	o.approved = func(host string, ap netip.AddrPort) error {
		mu.Lock()
		*seen = append(*seen, ap)
		mu.Unlock()
		if !ap.Addr().Unmap().IsLoopback() {
			return errNotConnecting
		}
		return nil
	}
	return o, seen
}

// fakeDNS answers A queries from a table, over a stream connection the Go
// resolver dials through Resolver.Dial; nothing leaves the process. Each
// name's answers are used in turn, the last one repeated.
func fakeDNS(t *testing.T, table map[string][]string) *net.Resolver {
	var mu sync.Mutex
	asked := map[string]int{}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			for {
				var n [2]byte
				if _, err := io.ReadFull(server, n[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(n[:]))
				if _, err := io.ReadFull(server, q); err != nil {
					return
				}
				var m dnsmessage.Message
				if err := m.Unpack(q); err != nil || len(m.Questions) != 1 {
					return
				}
				qn := m.Questions[0]
				name := strings.TrimSuffix(qn.Name.String(), ".")
				m.Header.Response, m.Header.Authoritative = true, true
				answers := table[name]
				if answers == nil {
					m.Header.RCode = dnsmessage.RCodeNameError
				} else if qn.Type == dnsmessage.TypeA {
					mu.Lock()
					i := min(asked[name], len(answers)-1)
					asked[name]++
					mu.Unlock()
					ip := netip.MustParseAddr(answers[i]).As4()
					m.Answers = []dnsmessage.Resource{{
						Header: dnsmessage.ResourceHeader{Name: qn.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 0},
						Body:   &dnsmessage.AResource{A: ip},
					}}
				}
				out, err := m.Pack()
				if err != nil {
					t.Error(err)
					return
				}
				binary.BigEndian.PutUint16(n[:], uint16(len(out)))
				if _, err := server.Write(append(n[:], out...)); err != nil {
					return
				}
			}
		}()
		return client, nil
	}}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestInternalTargetsGetNothing(t *testing.T) {
	tg := newTarget(t, nil)
	res := fakeDNS(t, map[string][]string{
		"crm.example":    {"127.0.0.1"},                  // a public-looking name pointing home
		"rebind.example": {"93.184.216.34", "127.0.0.1"}, // public first, then loopback (rebinding)
		"meta.example":   {"169.254.169.254"},
	})
	o, seen := safe(Options{Resolver: res})
	c := NewClient(o)
	for _, url := range []string{
		"http://127.0.0.1:" + tg.port + "/",
		"http://127.1.2.3:" + tg.port + "/",
		"http://[::ffff:127.0.0.1]:" + tg.port + "/",
		"http://localhost:" + tg.port + "/",
		"http://crm.example:" + tg.port + "/",
		"http://meta.example/latest/meta-data/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
		"http://10.0.0.1/",
		"http://0.0.0.0:" + tg.port + "/",
	} {
		body, err := get(c, url)
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: got %q, %v; want a RefusedError", url, body, err)
		}
	}
	if len(*seen) != 0 {
		t.Errorf("the guard let through %v", *seen)
	}

	// Rebinding: the first lookup gives a public address (let through by
	// the guard, and not connected to by this test), the second loopback.
	if _, err := get(c, "http://rebind.example:"+tg.port+"/"); !errors.Is(err, errNotConnecting) {
		t.Errorf("first resolution (public): %v, want the guard to let it through", err)
	}
	_, err := get(c, "http://rebind.example:"+tg.port+"/")
	var re *RefusedError
	if !errors.As(err, &re) || re.Host != "rebind.example" || re.Addr.String() != "127.0.0.1" {
		t.Errorf("second resolution (loopback): %v, want refused", err)
	} else if !strings.Contains(err.Error(), "rebind.example resolves to 127.0.0.1, a loopback address") {
		t.Errorf("error text %q", err)
	}
	if n := tg.hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
}

func TestAllowlistLetsInternalCallsThrough(t *testing.T) {
	tg := newTarget(t, nil)
	res := fakeDNS(t, map[string][]string{"crm.internal": {"127.0.0.1"}, "other.internal": {"127.0.0.1"}})
	for _, tc := range []struct {
		allow, url string
		ok         bool
	}{
		{"127.0.0.0/8", "http://127.0.0.1:" + tg.port + "/", true},
		{"127.0.0.1", "http://[::ffff:127.0.0.1]:" + tg.port + "/", true},
		{"127.0.0.2", "http://127.0.0.1:" + tg.port + "/", false},
		{"crm.internal", "http://crm.internal:" + tg.port + "/", true},
		{"crm.internal", "http://other.internal:" + tg.port + "/", false},
		{"*.internal", "http://other.internal:" + tg.port + "/", true},
		{"crm.internal", "http://127.0.0.1:" + tg.port + "/", false},
	} {
		o, _ := safe(Options{Resolver: res, Allow: MustParseAllowlist(tc.allow)})
		body, err := get(NewClient(o), tc.url)
		if tc.ok && (err != nil || body != "internal secret") {
			t.Errorf("allow %s, %s: %q, %v; want the answer", tc.allow, tc.url, body, err)
		}
		var re *RefusedError
		if !tc.ok && !errors.As(err, &re) {
			t.Errorf("allow %s, %s: %q, %v; want refused", tc.allow, tc.url, body, err)
		}
	}
}

func TestRedirectsAreCheckedAgain(t *testing.T) {
	secret := newTarget(t, nil)
	var front *target
	front = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-loopback":
			http.Redirect(w, r, "http://127.0.0.1:"+secret.port+"/", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/hop":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			w.Write([]byte("front"))
		}
	})
	// The front end is allowed by name only; the addresses it redirects
	// to are not.
	res := fakeDNS(t, map[string][]string{"front.internal": {"127.0.0.1"}})
	o, seen := safe(Options{Resolver: res, Allow: MustParseAllowlist("front.internal"), MaxRedirects: 3})
	c := NewClient(o)
	base := "http://front.internal:" + front.port
	if body, err := get(c, base+"/hop"); err != nil || body != "front" {
		t.Fatalf("allowed redirect: %q, %v", body, err)
	}
	for _, path := range []string{"/to-loopback", "/to-metadata"} {
		_, err := get(c, base+path)
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want refused at the second hop", path, err)
		}
	}
	if _, err := get(c, base+"/to-file"); err == nil {
		t.Error("redirect to file:// followed")
	}
	before := front.hits.Load()
	_, err := get(c, base+"/loop")
	if err == nil || !strings.Contains(err.Error(), "stopped after 3 redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if n := front.hits.Load() - before; n != 4 {
		t.Errorf("redirect loop made %d requests, want 4 (the call and 3 redirects)", n)
	}
	if n := secret.hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
	for _, ap := range *seen {
		if ap.Port() == 80 {
			t.Errorf("the guard let %v through", ap)
		}
	}
}

func TestResponsesAreBounded(t *testing.T) {
	release := make(chan struct{})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", 3000)))
		case "/exact":
			w.Write([]byte(strings.Repeat("x", 1000)))
		case "/endless":
			for i := 0; i < 100_000; i++ {
				if _, err := w.Write([]byte(strings.Repeat("y", 1000))); err != nil {
					return
				}
			}
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	defer close(release)
	o, _ := safe(Options{Allow: MustParseAllowlist("127.0.0.1"), MaxBody: 1000, Timeout: 300 * time.Millisecond})
	c := NewClient(o)
	if body, err := get(c, tg.URL+"/exact"); err != nil || len(body) != 1000 {
		t.Errorf("a body of exactly MaxBody: %d bytes, %v", len(body), err)
	}
	for _, path := range []string{"/big", "/endless"} {
		body, err := get(c, tg.URL+path)
		if !errors.Is(err, ErrTooLarge) || len(body) != 1000 {
			t.Errorf("%s: %d bytes, %v; want 1000 and ErrTooLarge", path, len(body), err)
		}
	}
	if _, err := get(c, tg.URL+"/slow"); err == nil {
		t.Error("a server that never answers: no error")
	}
}
