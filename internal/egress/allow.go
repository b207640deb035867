package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Allowlist names the internal destinations a deployment lets its flows
// reach: CIDR ranges and single addresses (checked against the address a
// connection is about to reach, whatever host name led there) and host
// names (a call to that name may reach whatever it resolves to). The zero
// value allows nothing internal.
type Allowlist struct {
	prefixes []netip.Prefix
	hosts    []string // exact names, lower case, no trailing dot
	suffixes []string // ".corp.example" for "*.corp.example"
}

// ParseAllowlist reads a list such as "10.20.0.0/16, 192.168.1.7,
// crm.internal, *.corp.example": entries separated by commas or spaces,
// each an IP address, a CIDR range, a host name, or "*." and a domain for
// every name under it (not the domain itself). An entry that is none of
// these is an error naming it; an empty text is an empty list.
func ParseAllowlist(text string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, e := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if err := a.add(e); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// MustParseAllowlist is ParseAllowlist for lists written in code (tests);
// it panics on a bad entry.
func MustParseAllowlist(text string) *Allowlist {
	a, err := ParseAllowlist(text)
	if err != nil {
		panic(err)
	}
	return a
}

func (a *Allowlist) add(e string) error {
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return fmt.Errorf("allow-list entry %q: not a CIDR range (like 10.0.0.0/8): %w", e, err)
		}
		a.prefixes = append(a.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		ip = ip.WithZone("").Unmap()
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	name := normalHost(e)
	wild := strings.HasPrefix(name, "*.")
	if wild {
		name = name[2:]
	}
	if !validHostName(name) {
		return fmt.Errorf("allow-list entry %q: not an IP address, a CIDR range, a host name or *.domain", e)
	}
	if wild {
		a.suffixes = append(a.suffixes, "."+name)
	} else {
		a.hosts = append(a.hosts, name)
	}
	return nil
}

// host reports whether calls to the host name are allowed whatever it
// resolves to.
func (a *Allowlist) host(name string) bool {
	if a == nil {
		return false
	}
	name = normalHost(name)
	if slices.Contains(a.hosts, name) {
		return true
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// addr reports whether the address is in an allowed range.
func (a *Allowlist) addr(ip netip.Addr) bool {
	if a == nil {
		return false
	}
	ip = ip.WithZone("")
	for _, p := range a.prefixes {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return true
		}
	}
	return false
}

// String lists the entries, for logs.
func (a *Allowlist) String() string {
	if a == nil {
		return ""
	}
	var out []string
	for _, p := range a.prefixes {
		out = append(out, p.String())
	}
	out = append(out, a.hosts...)
	for _, s := range a.suffixes {
		out = append(out, "*"+s)
	}
	return strings.Join(out, ",")
}

// Empty reports whether the list allows nothing internal.
func (a *Allowlist) Empty() bool {
	return a == nil || len(a.prefixes)+len(a.hosts)+len(a.suffixes) == 0
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// validHostName accepts letters, digits, hyphens and underscores in dot
// separated labels of at most 63 bytes.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
