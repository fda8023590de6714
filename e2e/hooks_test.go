package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// hookNet is the one private network the stack's SSRF guard lets deliveries reach: the
// receiver's. 127.0.0.1 stays forbidden, as every loopback address does in production.
const (
	hookIP  = "127.0.0.2"
	hookNet = hookIP + "/32"
)

// hookReceiver is a merchant's webhook endpoint: HTTPS on 127.0.0.2 with its own
// certificate (the workers trust it through WEBHOOK_CA_FILE). Each path is an endpoint; a
// path can be told to answer 500 a number of times first.
type hookReceiver struct {
	srv    *httptest.Server
	caFile string

	mu        sync.Mutex
	failFirst map[string]int
	requests  map[string][]hookRequest
}

// hookRequest is one POST the receiver got.
type hookRequest struct {
	Body      []byte
	Signature string
	Delivery  string
	EventID   string
	EventType string
	Status    int // what the receiver answered
}

func startHookReceiver(dir string) (*hookReceiver, error) {
	certPEM, keyPEM, err := selfSignedCert(hookIP)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	h := &hookReceiver{caFile: filepath.Join(dir, "webhook-ca.pem"), failFirst: map[string]int{}, requests: map[string][]hookRequest{}}
	if err := os.WriteFile(h.caFile, certPEM, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(hookIP, "0"))
	if err != nil {
		return nil, err
	}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	h.srv.Listener.Close()
	h.srv.Listener = ln
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	h.srv.StartTLS()
	return h, nil
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &ev)
	h.mu.Lock()
	status := http.StatusOK
	if h.failFirst[r.URL.Path] > 0 {
		h.failFirst[r.URL.Path]--
		status = http.StatusInternalServerError
	}
	h.requests[r.URL.Path] = append(h.requests[r.URL.Path], hookRequest{Body: body, Signature: r.Header.Get("Durapay-Signature"),
		Delivery: r.Header.Get("Durapay-Delivery-Id"), EventID: ev.ID, EventType: ev.Type, Status: status})
	h.mu.Unlock()
	w.WriteHeader(status)
}

// port is the receiver's port, random, which the stack's SSRF guard must allow.
func (h *hookReceiver) port() string {
	_, port, _ := net.SplitHostPort(h.srv.Listener.Addr().String())
	return port
}

// url is the endpoint at path (say "/m1").
func (h *hookReceiver) url(path string) string { return h.srv.URL + path }

// failNext makes the endpoint at path answer 500 to its next n requests.
func (h *hookReceiver) failNext(path string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failFirst[path] = n
}

// received lists what the endpoint at path got, oldest first.
func (h *hookReceiver) received(path string) []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.requests[path]...)
}

// selfSignedCert is a certificate for ip that is its own CA.
func selfSignedCert(ip string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "durapay e2e webhook receiver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
