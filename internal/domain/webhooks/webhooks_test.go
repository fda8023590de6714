package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/durapay/durapay/internal/domain/webhooks"
)

const payload = `{"id":"evt_1","object":"event","type":"payment.succeeded","data":{"object":{"id":"pay_1","amount":1999,"currency":"eur"}}}`

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	const tolerance = 5 * time.Minute
	body := []byte(payload)
	current, previous := "whsec_current", "whsec_previous"
	valid := webhooks.Sign(body, now, current)
	v1 := strings.TrimPrefix(valid, "t=1800000000,")

	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets []string
		ok      bool
	}{
		{"round trip", body, valid, []string{current}, true},
		{"header with spaces after commas", body, strings.ReplaceAll(valid, ",", ", "), []string{current}, true},
		{"rotation: signed with both, merchant has only the new secret", body, webhooks.Sign(body, now, current, previous), []string{current}, true},
		{"rotation: signed with both, merchant has only the old secret", body, webhooks.Sign(body, now, current, previous), []string{previous}, true},
		{"rotation: merchant holds both, delivery signed with one", body, webhooks.Sign(body, now, previous), []string{current, previous}, true},
		{"an unknown scheme beside v1 is ignored", body, "t=1800000000,v0=deadbeef," + v1, []string{current}, true},
		{"299 s old", body, webhooks.Sign(body, now.Add(-299*time.Second), current), []string{current}, true},
		{"299 s in the future", body, webhooks.Sign(body, now.Add(299*time.Second), current), []string{current}, true},

		{"forged: signed with another secret", body, webhooks.Sign(body, now, "whsec_attacker"), []string{current}, false},
		{"forged: v1 of another body", body, webhooks.Sign([]byte(`{}`), now, current), []string{current}, false},
		{"body changed after signing", []byte(strings.Replace(payload, "1999", "9999", 1)), valid, []string{current}, false},
		{"timestamp changed after signing", body, "t=1800000001," + v1, []string{current}, false},
		{"timestamp padded after signing", body, "t=01800000000," + v1, []string{current}, false},
		{"301 s old", body, webhooks.Sign(body, now.Add(-301*time.Second), current), []string{current}, false},
		{"301 s in the future", body, webhooks.Sign(body, now.Add(301*time.Second), current), []string{current}, false},
		{"a day old, valid otherwise", body, webhooks.Sign(body, now.Add(-24*time.Hour), current), []string{current}, false},

		{"no header", body, "", []string{current}, false},
		{"blank header", body, "  ", []string{current}, false},
		{"no timestamp", body, v1, []string{current}, false},
		{"timestamp not a number", body, "t=soon," + v1, []string{current}, false},
		{"negative timestamp", body, "t=-1800000000," + v1, []string{current}, false},
		{"timestamp with a sign", body, "t=+1800000000," + v1, []string{current}, false},
		{"empty timestamp", body, "t=," + v1, []string{current}, false},
		{"two timestamps", body, "t=1800000000,t=1800000000," + v1, []string{current}, false},
		{"no v1", body, "t=1800000000", []string{current}, false},
		{"only v0", body, "t=1800000000,v0=" + strings.TrimPrefix(v1, "v1="), []string{current}, false},
		{"v1 not hex", body, "t=1800000000,v1=not-hex", []string{current}, false},
		{"v1 too short", body, "t=1800000000,v1=abcdef", []string{current}, false},
		{"element without =", body, "t=1800000000,garbage," + v1, []string{current}, false},
		{"Stripe-style header of another scheme", body, "sha256=" + strings.TrimPrefix(v1, "v1="), []string{current}, false},
		{"no secret configured", body, valid, nil, false},
		{"only an empty secret configured", body, webhooks.Sign(body, now, ""), []string{""}, false},
	}
	for _, tt := range tests {
		err := webhooks.Verify(tt.body, tt.header, tt.secrets, tolerance, now)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify(%q) = %v, want ok=%v", tt.name, tt.header, err, tt.ok)
		}
		if err != nil && !errors.Is(err, webhooks.ErrSignature) {
			t.Errorf("%s: %v does not wrap ErrSignature", tt.name, err)
		}
	}

	if err := webhooks.Verify(body, valid, []string{current}, 0, now); err == nil || errors.Is(err, webhooks.ErrSignature) {
		t.Errorf("Verify with tolerance 0 = %v, want a configuration error that is not ErrSignature", err)
	}
}

// TestSignFormat pins the documented format, computed here the way a merchant without a
// library would, and checks that Stripe's own library accepts it: merchants may reuse it.
func TestSignFormat(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_800_000_000, 999_000_000)
	body := []byte(payload)
	want := "t=1800000000"
	for _, secret := range []string{"whsec_a", "whsec_b"} {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("1800000000." + payload))
		want += ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	got := webhooks.Sign(body, at, "whsec_a", "whsec_b")
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	if got := webhooks.Sign(body, at, "whsec_a", "", "whsec_b"); got != want {
		t.Errorf("Sign with an empty secret among others = %q, want it skipped: %q", got, want)
	}
	for _, secret := range []string{"whsec_a", "whsec_b"} {
		if err := webhook.ValidatePayloadIgnoringTolerance(body, got, secret); err != nil {
			t.Errorf("stripe-go refuses our signature with %s: %v", secret, err)
		}
	}
	if webhooks.Header != "Durapay-Signature" {
		t.Errorf("Header = %q", webhooks.Header)
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		s, err := webhooks.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		key, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("NewSecret() = %q, want the whsec_ prefix", s)
		}
		raw, err := base64.RawURLEncoding.DecodeString(key)
		if err != nil || len(raw) != 32 {
			t.Fatalf("NewSecret() = %q: %d bytes, %v; want 32 bytes of base64url", s, len(raw), err)
		}
		if seen[s] {
			t.Fatalf("NewSecret() returned %q twice", s)
		}
		seen[s] = true
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	resolver := stubResolver(t, map[string][]string{
		"example.com":         {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"hooks.merchant.test": {"198.51.99.10"},
		// One public and one private address: the dialer could pick either.
		"mixed.merchant.test":  {"93.184.215.14", "10.0.0.1"},
		"v6.merchant.test":     {"2606:4700:4700::1111"},
		"v6ula.merchant.test":  {"fd12:3456::1"},
		"metadata.attacker.io": {"169.254.169.254"},
		"rebind.attacker.io":   {"127.0.0.1"},
	})
	prod := webhooks.Policy{}
	dev := webhooks.Policy{AllowHTTP: true, AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		AllowedPorts: []webhooks.PortRange{{First: 443, Last: 443}, {First: 8080, Last: 8089}}}
	loopback1 := webhooks.Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	localhost := webhooks.Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}}

	var (
		ok        error
		invalid   = webhooks.ErrInvalidURL
		forbidden = webhooks.ErrForbiddenDestination
	)
	tests := []struct {
		policy webhooks.Policy
		url    string
		want   error
	}{
		{prod, "https://example.com", ok},
		{prod, "https://example.com/webhooks/durapay?v=2", ok},
		{prod, "https://EXAMPLE.com.:443/webhooks", ok},
		{prod, "https://hooks.merchant.test/", ok},
		{prod, "https://v6.merchant.test/", ok},
		{prod, "https://8.8.8.8/hooks", ok},
		{prod, "https://[2606:4700:4700::1111]/hooks", ok},
		{prod, "https://172.32.0.1/", ok},  // just above 172.16.0.0/12
		{prod, "https://100.128.0.1/", ok}, // just above 100.64.0.0/10

		{prod, "http://example.com/webhooks", invalid},
		{dev, "http://example.com/webhooks", ok},

		// Ports: 443, and 80 where http is allowed; others only as AllowedPorts lists them.
		{prod, "https://example.com:8443/webhooks", forbidden},
		{prod, "https://8.8.8.8:22/", forbidden},
		{prod, "https://example.com:80/", forbidden},
		{prod, "https://[2606:4700:4700::1111]:6379/", forbidden},
		{dev, "http://example.com:80/webhooks", ok},
		{dev, "https://example.com:8089/webhooks", ok},
		{dev, "https://example.com:8090/webhooks", forbidden},
		{dev, "http://127.0.0.2:9090/webhooks", forbidden},
		{prod, "ftp://example.com/", invalid},
		{prod, "example.com/webhooks", invalid},
		{prod, "//example.com/webhooks", invalid},
		{prod, "https:example.com", invalid},
		{prod, "https:///webhooks", invalid},
		{prod, "https://user:secret@example.com/", invalid},
		{prod, "https://example.com@10.0.0.1/", invalid},
		{prod, "https://example.com:0/", invalid},
		{prod, "https://example.com:65536/", invalid},
		{prod, "https://example.com:/", invalid},
		{prod, "https://exa mple.com/", invalid},
		{prod, "https://bücher.example/", invalid},
		{prod, "https://2130706433/", invalid}, // 127.0.0.1 to inet_aton
		{prod, "https://127.1/", invalid},
		{prod, "https://0x7f.0.0.1/", invalid},
		{prod, "https://0177.0.0.1/", invalid},
		{prod, "https://nowhere.merchant.test/", invalid},
		{prod, "https://%zz/", invalid},

		{prod, "https://127.0.0.1/", forbidden},
		{prod, "https://127.255.255.254:8443/", forbidden},
		{prod, "https://localhost/", forbidden},
		{prod, "https://LOCALHOST.:8080/", forbidden},
		{prod, "https://api.localhost/", forbidden},
		{prod, "https://169.254.169.254/latest/meta-data/", forbidden},
		{prod, "https://169.254.1.1/", forbidden},
		{prod, "https://[::1]/", forbidden},
		{prod, "https://[::]/", forbidden},
		{prod, "https://[::ffff:127.0.0.1]/", forbidden},
		{prod, "https://[::ffff:7f00:1]/", forbidden},
		{prod, "https://[::ffff:169.254.169.254]/", forbidden},
		{prod, "https://[::ffff:10.0.0.1]/", forbidden},
		{prod, "https://[::127.0.0.1]/", forbidden},        // IPv4-compatible, deprecated
		{prod, "https://[64:ff9b::a9fe:a9fe]/", forbidden}, // NAT64 of 169.254.169.254
		{prod, "https://[2002:a00:1::1]/", forbidden},      // 6to4 of 10.0.0.1
		{prod, "https://10.0.0.1/", forbidden},
		{prod, "https://10.255.255.255/", forbidden},
		{prod, "https://192.168.1.1/", forbidden},
		{prod, "https://172.16.0.1/", forbidden},
		{prod, "https://172.31.255.255/", forbidden},
		{prod, "https://100.64.0.1/", forbidden},
		{prod, "https://100.127.255.255/", forbidden},
		{prod, "https://0.0.0.0/", forbidden},
		{prod, "https://0.1.2.3/", forbidden},
		{prod, "https://192.0.0.192/", forbidden}, // Oracle Cloud metadata
		{prod, "https://192.0.2.1/", forbidden},
		{prod, "https://198.18.0.1/", forbidden},
		{prod, "https://203.0.113.7/", forbidden},
		{prod, "https://224.0.0.1/", forbidden},
		{prod, "https://255.255.255.255/", forbidden},
		{prod, "https://240.0.0.1/", forbidden},
		{prod, "https://[fd00:ec2::254]/", forbidden},
		{prod, "https://[fc00::1]/", forbidden},
		{prod, "https://[fe80::1%25eth0]/", forbidden},
		{prod, "https://[ff02::1]/", forbidden},
		{prod, "https://[2001:db8::1]/", forbidden},
		{prod, "https://[2001::1]/", forbidden}, // Teredo
		{prod, "https://mixed.merchant.test/", forbidden},
		{prod, "https://v6ula.merchant.test/", forbidden},
		{prod, "https://metadata.attacker.io/", forbidden},
		{prod, "https://rebind.attacker.io/", forbidden},

		// AllowedNets: exactly the networks listed, nothing near them.
		{dev, "http://127.0.0.2:8080/webhooks", ok},
		{dev, "http://127.0.0.1:8080/webhooks", forbidden},
		{dev, "http://127.0.0.3:8080/webhooks", forbidden},
		{dev, "http://10.0.0.1/webhooks", forbidden},
		{loopback1, "https://127.0.0.1/", ok},
		{loopback1, "https://[::ffff:127.0.0.1]/", ok},
		{loopback1, "https://rebind.attacker.io/", ok},
		{loopback1, "https://localhost/", forbidden}, // ::1 is not allowed
		{localhost, "https://localhost/", ok},
		{loopback1, "https://127.0.0.2/", forbidden},
	}
	for _, tt := range tests {
		err := tt.policy.CheckURL(t.Context(), tt.url, resolver)
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tt.url, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("CheckURL(%q) = %v, want %v", tt.url, err, tt.want)
		case errors.Is(err, invalid) && errors.Is(err, forbidden):
			t.Errorf("CheckURL(%q) = %v: both invalid and forbidden", tt.url, err)
		}
	}

	var dnsErr *net.DNSError
	if err := prod.CheckURL(t.Context(), "https://nowhere.merchant.test/", resolver); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("an unknown name: %v, want a *net.DNSError with IsNotFound", err)
	}
	err := prod.CheckURL(t.Context(), "https://mixed.merchant.test/", resolver)
	if err == nil || !strings.Contains(err.Error(), "10.0.0.1") || !strings.Contains(err.Error(), "private") {
		t.Errorf("the error for a private address should name it and say why: %v", err)
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	handler := http.NewServeMux()
	handler.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	handler.HandleFunc("POST /moved", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/webhooks", http.StatusFound)
	})
	on1 := httptest.NewServer(handler) // 127.0.0.1
	t.Cleanup(on1.Close)
	on2 := serverOn(t, "127.0.0.2:0", handler)

	// The servers listen on random ports, which the policies allow (but for one test).
	ports := []webhooks.PortRange{port(t, on1.URL), port(t, on2.URL)}
	allow := func(prefixes ...string) webhooks.Policy {
		p := webhooks.Policy{AllowedPorts: ports}
		for _, s := range prefixes {
			p.AllowedNets = append(p.AllowedNets, netip.MustParsePrefix(s))
		}
		return p
	}
	otherPort := allow("127.0.0.0/8")
	otherPort.AllowedPorts = []webhooks.PortRange{{First: 443, Last: 443}}
	tests := []struct {
		name   string
		policy webhooks.Policy
		url    string
		status int // 0: refused at dial time
	}{
		{"default policy, 127.0.0.1", webhooks.Policy{}, on1.URL + "/webhooks", 0},
		{"default policy, a name resolving to 127.0.0.1", webhooks.Policy{}, strings.Replace(on1.URL, "127.0.0.1", "localhost", 1) + "/webhooks", 0},
		{"127.0.0.1/32 allowed", allow("127.0.0.1/32"), on1.URL + "/webhooks", http.StatusNoContent},
		{"redirect not followed", allow("127.0.0.1/32"), on1.URL + "/moved", http.StatusFound},

		{"default policy, 127.0.0.2", webhooks.Policy{}, on2.URL + "/webhooks", 0},
		{"127.0.0.1/32 allowed, 127.0.0.2", allow("127.0.0.1/32"), on2.URL + "/webhooks", 0},
		{"127.0.0.2/32 allowed", allow("127.0.0.2/32"), on2.URL + "/webhooks", http.StatusNoContent},
		{"127.0.0.2/32 allowed, 127.0.0.1", allow("127.0.0.2/32"), on1.URL + "/webhooks", 0},
		{"127.0.0.0/8 allowed, 127.0.0.2", allow("127.0.0.0/8"), on2.URL + "/webhooks", http.StatusNoContent},
		{"127.0.0.0/8 allowed, a port not allowed", otherPort, on2.URL + "/webhooks", 0},
	}
	for _, tt := range tests {
		before := hits.Load()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tt.url, strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tt.policy.Client(5 * time.Second).Do(req)
		if tt.status == 0 {
			if !errors.Is(err, webhooks.ErrForbiddenDestination) {
				t.Errorf("%s: err = %v, want ErrForbiddenDestination", tt.name, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if hits.Load() != before {
				t.Errorf("%s: the server was reached", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if got := hits.Load() - before; got != 1 {
			t.Errorf("%s: %d requests reached the server, want 1", tt.name, got)
		}
		if tt.status == http.StatusFound && resp.Header.Get("Location") != "/webhooks" {
			t.Errorf("%s: Location = %q, want the endpoint's own answer", tt.name, resp.Header.Get("Location"))
		}
	}

	c := webhooks.Policy{}.Client(7 * time.Second)
	if c.Timeout != 7*time.Second {
		t.Errorf("Timeout = %s, want 7s", c.Timeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T, want *http.Transport", c.Transport)
	}
	if tr.Proxy != nil {
		t.Error("the Transport takes a proxy from the environment: the proxy would dial unchecked addresses")
	}
}

// port is the port of a server's URL, as a range of one.
func port(t *testing.T, raw string) webhooks.PortRange {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return webhooks.PortRange{First: uint16(n), Last: uint16(n)}
}

func TestConfigPolicyPorts(t *testing.T) {
	t.Parallel()
	p, err := webhooks.Config{AllowedPorts: []string{"443", "8000-8099"}, AllowHTTP: true}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	want := []webhooks.PortRange{{First: 443, Last: 443}, {First: 8000, Last: 8099}}
	if !slices.Equal(p.AllowedPorts, want) {
		t.Errorf("AllowedPorts = %v, want %v", p.AllowedPorts, want)
	}
	for _, bad := range []string{"0", "65536", "8099-8000", "https", "80-", ""} {
		if _, err := (webhooks.Config{AllowedPorts: []string{bad}}).Policy(); err == nil {
			t.Errorf("WEBHOOK_ALLOWED_PORTS=%q accepted", bad)
		}
	}
}

// serverOn starts an httptest server listening on addr.
func serverOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s (Linux routes all of 127.0.0.0/8 to lo): %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// stubResolver returns a resolver that asks a DNS server, run for the test, knowing only
// records (name -> addresses) and answering NXDOMAIN for the rest.
func stubResolver(t *testing.T, records map[string][]string) *net.Resolver {
	t.Helper()
	zone := map[string][]netip.Addr{}
	for name, addrs := range records {
		for _, a := range addrs {
			zone[name+"."] = append(zone[name+"."], netip.MustParseAddr(a))
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if answer, err := answerQuery(buf[:n], zone); err == nil {
				pc.WriteTo(answer, from)
			}
		}
	}()
	server := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
}

func answerQuery(query []byte, zone map[string][]netip.Addr) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	addrs, known := zone[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
