package oidcauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
)

// How "the IdP could not be reached" is told apart from "the token is bad":
//
//  1. Every request to the IdP goes through idpTransport, which turns a
//     non-200 answer, a short read or a body that is not JSON into a transport
//     error. http.Client hands all transport errors back as *url.Error, so any
//     failed fetch is a *url.Error, whatever went wrong.
//  2. go-oidc's RemoteKeySet wraps the fetch error with %w (v3.21.0,
//     jwks.go), so keySet sees the *url.Error (or the request context's
//     error) and records it for the running Verify.
//  3. go-oidc's IDTokenVerifier flattens the key set's error with %v, so the
//     record goes through a slot in the context instead of the error chain.
//
// A kid missing from a JWKS that was fetched is then an ordinary signature
// failure: ErrInvalidToken. The tests pin all of this, should go-oidc change.

// fetchErrKey is the context key of the *error slot that keySet fills when a
// JWKS fetch fails during Verify.
type fetchErrKey struct{}

// keySet is go-oidc's RemoteKeySet (cached keys, a refetch on an unknown kid,
// one fetch in flight at a time), plus the recording of failed fetches.
type keySet struct {
	remote *oidc.RemoteKeySet
}

func (k keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err != nil && unreachable(err) {
		if slot, ok := ctx.Value(fetchErrKey{}).(*error); ok {
			*slot = err
		}
	}
	return payload, err
}

// unreachable reports whether err is a failure to fetch the keys rather than
// a verdict on the token.
func unreachable(err error) bool {
	var urlErr *url.Error
	return errors.As(err, &urlErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// maxIdPBody bounds what is read from the IdP; a discovery document or a JWKS
// is a few KiB.
const maxIdPBody = 1 << 20

// idpTransport makes a useless answer from the IdP an error. This bends the
// RoundTripper contract (a response is normally returned whatever its status)
// on purpose: the client is used only for go-oidc's requests to the IdP, and
// go-oidc formats status errors into strings that can't be told apart from a
// bad token.
type idpTransport struct {
	base http.RoundTripper
}

func (t idpTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("identity provider answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIdPBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the identity provider's answer: %w", err)
	}
	if len(body) > maxIdPBody {
		return nil, fmt.Errorf("identity provider's answer is over %d bytes", maxIdPBody)
	}
	// A 200 that is not JSON (a proxy's or captive portal's page) means we did
	// not reach the IdP either.
	if !json.Valid(body) {
		return nil, errors.New("identity provider's answer is not JSON")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// idpClient returns a copy of c (or a new client) that goes through
// idpTransport and has a timeout.
func idpClient(c *http.Client) *http.Client {
	client := &http.Client{}
	if c != nil {
		*client = *c
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = idpTransport{base: base}
	if client.Timeout == 0 {
		client.Timeout = defaultHTTPTimeout
	}
	return client
}
