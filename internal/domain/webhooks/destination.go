package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrForbiddenDestination is wrapped when an endpoint is, or resolves to, an address
	// Durapay must not send to: its own machines, its private network, the cloud's metadata
	// service. Returned by CheckURL, and by a delivery through Client at dial time.
	ErrForbiddenDestination = errors.New("forbidden webhook destination")
	// ErrInvalidURL is wrapped when an endpoint URL is not one Durapay delivers to.
	ErrInvalidURL = errors.New("invalid webhook endpoint URL")
)

// Policy says which destinations are allowed.
//
// The zero Policy is production's: https only, public addresses only, port 443 only.
type Policy struct {
	// AllowedNets lets specific networks through despite the rules (tests and make dev: a
	// receiver on 127.0.0.2/32). Empty in production.
	AllowedNets []netip.Prefix
	// AllowHTTP allows http:// URLs (development); production requires https.
	AllowHTTP bool
	// AllowedPorts are the ports endpoints may use; none means 443 alone, as in
	// production. Port 80 is allowed too with AllowHTTP. Checked at registration and at
	// every dial, like the addresses.
	AllowedPorts []PortRange
}

// PortRange is an inclusive range of TCP ports; a single port is a range of one.
type PortRange struct{ First, Last uint16 }

// CheckURL validates an endpoint URL at registration: scheme (https, or http if allowed), a
// host, no userinfo, an allowed port, and every IP the host resolves to must be allowed. A
// nil resolver means net.DefaultResolver.
//
// Passing here is not enough to deliver safely: the name may resolve elsewhere by the time
// of a delivery, which is why deliveries go through Client.
func (p Policy) CheckURL(ctx context.Context, raw string, resolver *net.Resolver) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return fmt.Errorf("%w: the scheme must be https, not http", ErrInvalidURL)
		}
	case "":
		return fmt.Errorf("%w: it must be an absolute URL such as https://example.com/webhooks", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: the scheme must be https, not %s", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: it must be an absolute URL such as https://example.com/webhooks", ErrInvalidURL)
	}
	// Credentials in a URL end up in logs and dashboards, and "https://bank.com@10.0.0.1/"
	// is a classic way to make a URL look like it goes somewhere it doesn't.
	if u.User != nil {
		return fmt.Errorf("%w: it must not contain a user name or password", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: it has no host", ErrInvalidURL)
	}
	port := uint16(443)
	if u.Scheme == "http" {
		port = 80
	}
	if raw := u.Port(); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %s is out of range 1-65535", ErrInvalidURL, raw)
		}
		port = uint16(n)
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: the port after %q is empty", ErrInvalidURL, host)
	}
	if !p.allowedPort(port) {
		return fmt.Errorf("%w: port %d is not allowed (endpoints must use port 443)", ErrForbiddenDestination, port)
	}

	if ip, err := netip.ParseAddr(host); err == nil {
		if ok, reason := p.allowedIP(ip); !ok {
			return fmt.Errorf("%w: %s is %s", ErrForbiddenDestination, host, reason)
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if err := checkHostName(name); err != nil {
		return err
	}
	var ips []netip.Addr
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		// RFC 6761: these names are this machine's loopback, whatever a resolver says.
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	} else {
		if resolver == nil {
			resolver = net.DefaultResolver
		}
		ips, err = resolver.LookupNetIP(ctx, "ip", name)
		if err != nil {
			// The *net.DNSError stays reachable with errors.As, to tell a typo from a DNS outage.
			return fmt.Errorf("%w: cannot resolve %s: %w", ErrInvalidURL, host, err)
		}
		if len(ips) == 0 {
			return fmt.Errorf("%w: %s has no address", ErrInvalidURL, host)
		}
	}
	// Every address, not just the first: the dialer may pick any of them, and a name with
	// one public and one private address would reach the private one sooner or later.
	for _, ip := range ips {
		if ok, reason := p.allowedIP(ip); !ok {
			return fmt.Errorf("%w: %s resolves to %s, which is %s", ErrForbiddenDestination, host, ip, reason)
		}
	}
	return nil
}

// Client returns an http.Client for deliveries: its dialer checks the IP it actually
// connects to (DNS rebinding: the name may resolve differently at delivery than at
// registration), it never follows redirects (a 3xx is the endpoint's answer), it uses no
// proxy from the environment, and it gives up after timeout.
//
// Its Transport is an *http.Transport so that tests may set TLSClientConfig.
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		KeepAlive: 30 * time.Second,
		// Control runs after resolution, on the address of each connection attempt: the
		// only check no DNS answer can get around.
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp6" {
				return fmt.Errorf("%w: network %s", ErrForbiddenDestination, network)
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: cannot read dialled address %q", ErrForbiddenDestination, address)
			}
			if ok, reason := p.allowedIP(ap.Addr()); !ok {
				return fmt.Errorf("%w: %s is %s", ErrForbiddenDestination, ap.Addr(), reason)
			}
			if !p.allowedPort(ap.Port()) {
				return fmt.Errorf("%w: port %d is not allowed", ErrForbiddenDestination, ap.Port())
			}
			return nil
		},
	}
	transport := &http.Transport{
		// No ProxyFromEnvironment: through an HTTPS_PROXY the proxy would dial the endpoint,
		// and the Control above would only ever see the proxy's address.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: transport,
		// Following a redirect would send the event to a URL nobody checked; the endpoint
		// answered 3xx, and that is the delivery's outcome.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
}

// allowedIP reports whether ip may be sent to: in AllowedNets, or in no forbidden range;
// if not, reason says why. AllowedNets are matched as given, and against the IPv4 form of
// an IPv4-mapped address, which the kernel connects to as that IPv4 address.
func (p Policy) allowedIP(ip netip.Addr) (ok bool, reason string) {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return false, "not an IP address"
	}
	for _, n := range p.AllowedNets {
		if n.Contains(ip) || n.Contains(ip.Unmap()) {
			return true, ""
		}
	}
	reason = forbiddenReason(ip)
	return reason == "", reason
}

// allowedPort reports whether endpoints may use port. Web servers answer on 443 (and 80);
// any other port of a public address is more likely a mail, database or admin service that
// a merchant-chosen URL could make Durapay talk to.
func (p Policy) allowedPort(port uint16) bool {
	if p.AllowHTTP && port == 80 {
		return true
	}
	if len(p.AllowedPorts) == 0 {
		return port == 443
	}
	for _, r := range p.AllowedPorts {
		if r.First <= port && port <= r.Last {
			return true
		}
	}
	return false
}

type forbiddenRange struct {
	prefix netip.Prefix
	reason string
}

// forbidden lists the ranges no delivery goes to, the first match giving the reason. Beyond
// the loopback, private, link-local and metadata ranges, it includes every range that is
// not routed on the public internet (RFC 6890's special-purpose registries): a merchant's
// web server cannot be there, so an endpoint that is must be a mistake or a probe, and some
// of these ranges are in use inside networks (198.18/15 and 100.64/10 by VPNs and cloud
// providers, 192.0.0.0/24 by Oracle Cloud's metadata service).
var forbidden = []forbiddenRange{
	// IPv4.
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (\"this network\", which reaches this machine)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (10.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)"},
	{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata service (169.254.169.254)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (169.254.0.0/16)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (172.16.0.0/12)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1, 192.0.2.0/24)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "the deprecated 6to4 relay anycast (192.88.99.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (192.168.0.0/16)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2, 198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3, 203.0.113.0/24)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (224.0.0.0/4)"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast (255.255.255.255)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},

	// IPv6. IPv4-mapped addresses (::ffff:0:0/96) are judged by their IPv4 address.
	{netip.MustParsePrefix("::/128"), "unspecified (::)"},
	{netip.MustParsePrefix("::1/128"), "loopback (::1)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible, deprecated (::/96)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
	// Teredo, benchmarking, ORCHID and a few anycast services: none hosts a web server.
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment (2001::/23)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (3fff::/20)"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the AWS metadata service (fd00:ec2::254)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local, IPv6's private range (fc00::/7)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (fe80::/10)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local, deprecated (fec0::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (ff00::/8)"},
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// forbiddenReason says why ip is forbidden, or returns "" when it is not.
func forbiddenReason(ip netip.Addr) string {
	if ip.Is4In6() {
		if r := forbiddenReason(ip.Unmap()); r != "" {
			return "the IPv4-mapped form of " + ip.Unmap().String() + ", which is " + r
		}
		return ""
	}
	for _, r := range forbidden {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	if ip.Is4() {
		return ""
	}
	// NAT64 and 6to4 carry an IPv4 address that a gateway will connect to on our behalf.
	if v4, form := embeddedIPv4(ip); form != "" {
		if r := forbiddenReason(v4); r != "" {
			return "the " + form + " form of " + v4.String() + ", which is " + r
		}
	}
	// Everything else outside 2000::/3 is reserved by IANA: allow only what is assigned.
	if !globalUnicast6.Contains(ip) {
		return "reserved (outside global unicast 2000::/3)"
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address inside a NAT64 (RFC 6052) or 6to4 (RFC 3056)
// address, and which form it is; form is "" for any other address.
func embeddedIPv4(ip netip.Addr) (v4 netip.Addr, form string) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64"
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4"
	}
	return netip.Addr{}, ""
}

// checkHostName accepts DNS names in ASCII: letters, digits, '-', '_' and dots between
// non-empty labels, with a last label that is not all digits, so that no resolver may read
// "2130706433" or "127.1" as an IPv4 address in a form netip does not parse.
func checkHostName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("%w: the host name is longer than 253 characters", ErrInvalidURL)
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%w: %q is not a valid host name", ErrInvalidURL, name)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w: %q is not a valid host name (use the xn-- form of an international name)", ErrInvalidURL, name)
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return fmt.Errorf("%w: %q looks like an IP address in a non-standard form", ErrInvalidURL, name)
	}
	return nil
}
