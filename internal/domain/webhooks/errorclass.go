package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"slices"
	"syscall"
)

// Error classes: all a delivery log tells a merchant about a failed attempt. The error
// itself stays in Durapay's logs: it holds the endpoint's own words (a reason phrase is
// whatever the server sends), and Durapay's view of its network (resolvers, addresses,
// the reason an address is refused), which must not answer a merchant probing it.
const (
	ErrorHTTPStatus        = "http_status" // an answer, but not a 2xx: see the status code
	ErrorTimeout           = "timeout"
	ErrorConnectionRefused = "connection_refused"
	ErrorConnectionReset   = "connection_reset" // closed before a whole answer came
	ErrorTLS               = "tls_error"
	ErrorDNS               = "dns_error"
	ErrorSSRFRefused       = "ssrf_refused" // the endpoint is, or resolves to, a forbidden address or port
	ErrorInvalidURL        = "invalid_url"
	ErrorEndpointDisabled  = "endpoint_disabled"
	ErrorNetwork           = "network_error" // any other failure to reach the endpoint
)

var errorClasses = []string{ErrorHTTPStatus, ErrorTimeout, ErrorConnectionRefused, ErrorConnectionReset, ErrorTLS,
	ErrorDNS, ErrorSSRFRefused, ErrorInvalidURL, ErrorEndpointDisabled, ErrorNetwork}

// Classify names the class of a failed attempt's error (Send's); "" for nil.
func Classify(err error) string {
	var (
		dnsErr     *net.DNSError
		netErr     net.Error
		verifyErr  *tls.CertificateVerificationError
		alert      tls.AlertError
		header     tls.RecordHeaderError
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrStatus):
		return ErrorHTTPStatus
	case errors.Is(err, ErrForbiddenDestination):
		return ErrorSSRFRefused
	case errors.Is(err, ErrInvalidURL):
		return ErrorInvalidURL
	// Before timeouts: a resolver that does not answer is a DNS failure.
	case errors.As(err, &dnsErr):
		return ErrorDNS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ErrorTimeout
	case errors.As(err, &verifyErr), errors.As(err, &alert), errors.As(err, &header),
		errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalidErr):
		return ErrorTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrorConnectionRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrorConnectionReset
	}
	return ErrorNetwork
}

// publicError is what the delivery log shows of a stored error: its class, or
// network_error for text that is not one. Attempts recorded before errors were classified,
// or by a worker of an older version during a deployment, hold the error's own text.
func publicError(stored string) string {
	if stored == "" || slices.Contains(errorClasses, stored) {
		return stored
	}
	return ErrorNetwork
}
