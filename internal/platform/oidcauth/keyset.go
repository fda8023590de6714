package oidcauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// How "the IdP could not be reached" is told apart from "the token is bad":
// every request to the IdP goes through idpTransport, which turns a non-200
// answer, a short read or a body that is not JSON into an error, so a failed
// JWKS fetch is known as such where it happens, in keySet.refresh. go-oidc's
// IDTokenVerifier flattens the key set's error with %v, so keySet reports the
// failure through a slot in the context instead of the error chain. A token
// that no fetched key verifies is an ordinary signature failure:
// ErrInvalidToken. The tests pin all of this, should go-oidc change.

// fetchErrKey is the context key of the *error slot that keySet fills when a
// JWKS fetch fails during Verify.
type fetchErrKey struct{}

// keySet holds the issuer's signing keys (its JWKS). A token that none of
// them verifies makes it fetch the JWKS again, as the OIDC spec recommends for
// key rotation, but at most once per refetchEvery: tokens with made-up key IDs
// or forged signatures would otherwise each send a request to the IdP, on the
// sender's behalf. A failed fetch is remembered for retryAfter, so that during
// an outage such tokens get their 503 at once.
//
// (go-oidc's RemoteKeySet refetches on every failed verification, with no
// limit; this replaces it.)
type keySet struct {
	url          string
	client       *http.Client
	algs         []jose.SignatureAlgorithm
	now          func() time.Time
	refetchEvery time.Duration
	retryAfter   time.Duration

	// fetching is held during a fetch, so that one goes out at a time; mu guards the
	// fields below only briefly, so that tokens signed with a held key never wait for a
	// fetch (during an IdP outage, one can take the HTTP client's whole timeout).
	fetching  sync.Mutex
	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // of the last attempt
	fetchErr  error     // its failure, or nil
}

func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token has exactly one signature")
	}
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	if payload, ok := verifyWith(jws, keys); ok {
		return payload, nil
	}
	keys, err = k.refresh(ctx)
	if err != nil {
		if slot, ok := ctx.Value(fetchErrKey{}).(*error); ok {
			*slot = err
		}
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys); ok {
		return payload, nil
	}
	return nil, errors.New("no key of the issuer verifies the signature")
}

// verifyWith tries the keys that the token's kid names (all of them if it
// names none).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) ([]byte, bool) {
	kid := jws.Signatures[0].Header.KeyID
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the JWKS unless the last attempt is recent enough to stand,
// and returns the keys, or the fetch's error.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.fetching.Lock()
	defer k.fetching.Unlock()
	k.mu.Lock()
	keys, stands := k.keys, k.lastAttemptStands()
	fetchErr := k.fetchErr
	k.mu.Unlock()
	if stands {
		return keys, fetchErr
	}
	// One client giving up must not count as the IdP failing for everyone
	// (the HTTP client's timeout still bounds the fetch).
	fetched, err := k.fetch(context.WithoutCancel(ctx))
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fetchedAt, k.fetchErr = k.now(), err
	if err == nil {
		k.keys = fetched
	}
	return k.keys, err
}

// lastAttemptStands reports whether the last fetch is recent enough not to fetch again:
// a success for refetchEvery, a failure for retryAfter. The caller holds mu.
func (k *keySet) lastAttemptStands() bool {
	if k.fetchedAt.IsZero() {
		return false
	}
	wait := k.refetchEvery
	if k.fetchErr != nil {
		wait = k.retryAfter
	}
	return k.now().Sub(k.fetchedAt) < wait
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding the JWKS: %w", err)
	}
	return set.Keys, nil
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
