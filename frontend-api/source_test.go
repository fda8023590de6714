package main

import (
	"net/http/httptest"
	"testing"
)

func TestSourceAddress(t *testing.T) {
	t.Parallel()
	proxies, err := parseTrustedProxies([]string{"10.0.0.0/8", " 2001:db8:ff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote string
		forwarded    []string
		trusted      trustedProxies
		want         string
	}{
		{"no proxies: the peer", "203.0.113.7:4000", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"an untrusted peer's header is ignored", "203.0.113.7:4000", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"a trusted proxy: the hop it saw", "10.1.2.3:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"a client's claims left of it are ignored", "10.1.2.3:4000", []string{"1.1.1.1, 10.9.9.9, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"a chain of trusted proxies", "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1", "10.7.7.7"}, proxies, "198.51.100.1"},
		{"nonsense from a proxy stops the walk", "10.1.2.3:4000", []string{"198.51.100.1, garbage"}, proxies, "10.1.2.3"},
		{"no header from a proxy: the proxy", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"every hop trusted: the leftmost", "10.1.2.3:4000", []string{"10.5.5.5"}, proxies, "10.5.5.5"},
		{"IPv6 is known by its /64", "[2001:db8:1:2:3:4:5:6]:4000", nil, proxies, "2001:db8:1:2::/64"},
		{"an IPv6 proxy", "[2001:db8:ff::1]:4000", []string{"2001:db8:7:7::1"}, proxies, "2001:db8:7:7::/64"},
		{"IPv4 mapped in IPv6", "[::ffff:203.0.113.7]:4000", nil, proxies, "203.0.113.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.forwarded {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.trusted.sourceOf(r); got != tc.want {
				t.Errorf("source %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := parseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("an invalid CIDR was accepted")
	}
}
