package main

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are the networks of the proxies in front of frontend-api (TRUSTED_PROXY_NETS).
type trustedProxies []netip.Prefix

func parseTrustedProxies(cidrs []string) (trustedProxies, error) {
	nets := make(trustedProxies, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXY_NETS: %q is not a CIDR: %w", c, err)
		}
		nets = append(nets, p.Masked())
	}
	return nets, nil
}

func (t trustedProxies) trust(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceOf is the address a request comes from, for the limits on failed authentications
// and for the audit log. It is the peer's address, unless the peer is a trusted proxy: then
// X-Forwarded-For is read from the right, each hop written by the proxy to its right, up to
// the first hop that is not a trusted proxy. Hops further left are whatever the client
// claimed, so they are never read. A hop that does not parse stops the walk at the last
// good address (only a trusted proxy could have written it).
//
// An IPv6 source is its /64: one host commonly holds a whole /64, and would otherwise have
// as many failure budgets as it has addresses.
func (t trustedProxies) sourceOf(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr // not TCP (a test's pipe): nothing better to go by
	}
	addr := peer.Addr().Unmap()
	if t.trust(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if addr = hop.Unmap(); !t.trust(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64) // cannot fail for /64 of an IPv6 address
		return p.String()
	}
	return addr.String()
}
