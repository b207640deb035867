// Package egress makes the outbound HTTP calls that flows and users
// configure (webhook nodes, CRM calls) safe to make from inside a private
// network. Every connection is checked at dial time, after DNS resolution,
// against the address it is about to reach: loopback, private, link-local,
// multicast, unspecified, reserved and cloud metadata addresses are refused
// (IPv4 embedded in IPv6 included), so neither a URL naming 127.0.0.1 nor a
// host name that resolves to it (DNS rebinding) reaches an internal service.
// Redirects dial through the same check. An allow-list of CIDR ranges and
// host names lets deployments reach their own internal CRMs.
package egress

import (
	"fmt"
	"net/netip"
)

// blockedRanges are refused in addition to what netip.Addr's predicates
// catch (loopback, private, link-local, multicast, unspecified). Each has a
// reason a person can act on.
var blockedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a 'this network' address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address (cloud metadata services live there too)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address (deprecated; some stacks still reach the IPv4 address)"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo tunnel address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local NAT64 address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Embedded IPv4: these IPv6 forms reach (or translate to) an IPv4 address,
// which is checked as if it had been named directly.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// refusal says why ip may not be dialled, or "" when it may.
func refusal(ip netip.Addr) string {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if r := refusal(ip.Unmap()); r != "" {
			return r + " (IPv4-mapped)"
		}
		return ""
	}
	switch {
	case !ip.IsValid():
		return "not an IP address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		if ip == metadataV4 {
			return "the cloud metadata address"
		}
		return "a link-local address"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, b := range blockedRanges {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	if ip.Is6() {
		if v4, form, ok := embeddedV4(ip); ok {
			if r := refusal(v4); r != "" {
				return fmt.Sprintf("%s (%s form of %s)", r, form, v4)
			}
		}
	}
	return ""
}

var metadataV4 = netip.MustParseAddr("169.254.169.254")

// embeddedV4 returns the IPv4 address an IPv6 address carries in one of the
// translation forms, and the form's name.
func embeddedV4(ip netip.Addr) (netip.Addr, string, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	}
	return netip.Addr{}, "", false
}
