package webhooks

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/durapay/durapay/schemas"
)

// Config is the webhook settings the API (which checks endpoint URLs) and the workers
// (which deliver) share, read from WEBHOOK_* variables. The defaults are production's: no
// exceptions to the SSRF guard, HTTPS only, the system's roots.
type Config struct {
	// AllowedNets are exceptions to the SSRF guard ("127.0.0.2/32,..."), for local
	// development and tests only.
	AllowedNets []string `env:"ALLOWED_NETS"`
	// AllowHTTP accepts http:// endpoints (local development only).
	AllowHTTP bool `env:"ALLOW_HTTP, default=false"`
	// AllowedPorts are the ports endpoints may use ("443,8000-8099"); 80 is added by
	// AllowHTTP. Other ports than 443 are for local development and tests, whose
	// receivers listen where they can.
	AllowedPorts []string `env:"ALLOWED_PORTS, default=443"`
	// CAFile adds roots that endpoint certificates may chain to (local development).
	CAFile  string        `env:"CA_FILE"`
	Timeout time.Duration `env:"TIMEOUT, default=10s"`
	// A delivery is retried from RetryInitial, doubling up to RetryMax, for RetryWindow.
	RetryInitial time.Duration `env:"RETRY_INITIAL, default=30s"`
	RetryMax     time.Duration `env:"RETRY_MAX, default=6h"`
	RetryWindow  time.Duration `env:"RETRY_WINDOW, default=72h"`
}

// Policy is the SSRF guard the configuration describes.
func (c Config) Policy() (Policy, error) {
	p := Policy{AllowHTTP: c.AllowHTTP}
	for _, s := range c.AllowedNets {
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("WEBHOOK_ALLOWED_NETS: %w", err)
		}
		p.AllowedNets = append(p.AllowedNets, prefix)
	}
	for _, s := range c.AllowedPorts {
		r, err := parsePortRange(s)
		if err != nil {
			return p, fmt.Errorf("WEBHOOK_ALLOWED_PORTS: %w", err)
		}
		p.AllowedPorts = append(p.AllowedPorts, r)
	}
	return p, nil
}

// parsePortRange reads "443" or "8000-8099".
func parsePortRange(s string) (PortRange, error) {
	first, last, isRange := strings.Cut(s, "-")
	if !isRange {
		last = first
	}
	a, errA := strconv.ParseUint(first, 10, 16)
	b, errB := strconv.ParseUint(last, 10, 16)
	if errA != nil || errB != nil || a == 0 || b < a {
		return PortRange{}, fmt.Errorf("%q is not a port or a range of ports such as 8000-8099", s)
	}
	return PortRange{First: uint16(a), Last: uint16(b)}, nil
}

// Client is the HTTP client deliveries use: the policy's, trusting CAFile too.
func (c Config) Client() (*http.Client, error) {
	p, err := c.Policy()
	if err != nil {
		return nil, err
	}
	client := p.Client(c.Timeout)
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("WEBHOOK_CA_FILE: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("WEBHOOK_CA_FILE %s holds no PEM certificate", c.CAFile)
		}
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return client, nil
}

// RetryPolicy is the policy new deliveries start with.
func (c Config) RetryPolicy() (schemas.WebhookRetryPolicy, error) {
	p := schemas.WebhookRetryPolicy{InitialInterval: c.RetryInitial, MaximumInterval: c.RetryMax, Window: c.RetryWindow}
	if p.InitialInterval <= 0 || p.MaximumInterval < p.InitialInterval || p.Window < p.InitialInterval {
		return p, fmt.Errorf("WEBHOOK_RETRY_*: need 0 < RETRY_INITIAL <= RETRY_MAX and RETRY_INITIAL <= RETRY_WINDOW")
	}
	return p, nil
}
