// Package oidcauth verifies the OIDC bearer tokens that humans (operators,
// finance, admins) present to frontend-api, and maps them to Durapay roles.
//
// Verification is done by coreos/go-oidc against the issuer's discovery
// document and JWKS: signature with an algorithm allow-list, issuer, audience
// and expiry; this package adds not-before and issued-at checks with a
// configurable clock skew.
//
// The caller turns the errors into HTTP answers: ErrInvalidToken (and
// ErrTokenInQuery, which wraps it) is a 401 with
// `WWW-Authenticate: Bearer error="invalid_token"`, ErrNoToken a 401 with a bare
// `WWW-Authenticate: Bearer`, ErrUnavailable a 503. An identity without any
// Durapay role is valid; authorising it is the caller's job (403).
package oidcauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

var (
	// ErrInvalidToken means the token is bad (malformed, forged, expired,
	// issued by or for someone else): answer 401.
	ErrInvalidToken = errors.New("oidcauth: invalid token")
	// ErrUnavailable means the identity provider's discovery document or JWKS
	// could not be fetched, so the token could not be checked: answer 503.
	ErrUnavailable = errors.New("oidcauth: identity provider unavailable")
)

const (
	defaultClockSkew = 30 * time.Second
	// defaultHTTPTimeout bounds each request to the identity provider: a hung
	// IdP must turn into a 503, not into requests that hang with it.
	defaultHTTPTimeout = 10 * time.Second
	// defaultRetryAfter is how long a failed discovery is remembered. While
	// the IdP is down, requests get a 503 at once instead of queueing behind
	// one discovery attempt each.
	defaultRetryAfter = time.Second
	// defaultRefetchEvery is how often, at most, a token that no cached key
	// verifies makes the verifier fetch the JWKS again (see keySet).
	defaultRefetchEvery = 30 * time.Second
)

var defaultAlgorithms = []string{oidc.RS256, oidc.ES256}

// Config of the identity provider.
type Config struct {
	// IssuerURL is the exact issuer: discovery is at
	// IssuerURL/.well-known/openid-configuration and tokens' iss must equal it.
	IssuerURL string
	// Audience is the client ID tokens must be issued for (in aud).
	Audience string
	// RolesClaim is the claim holding the roles, e.g. "roles" or "groups": a
	// list of strings or a single string.
	RolesClaim string
	// RoleMap maps a claim value to a Durapay role ("operator", "finance",
	// "admin"); values not in the map are ignored.
	RoleMap map[string]string
	// Algorithms is the signature allow-list, default ["RS256", "ES256"].
	// "none" and HMAC algorithms must never be listed: the key set is public.
	Algorithms []string
	// ClockSkew is the leeway on exp, nbf and iat, default 30s.
	ClockSkew time.Duration
}

// Identity is a verified human.
type Identity struct {
	Subject string
	Email   string
	Name    string
	// Roles are the Durapay roles mapped from Config.RolesClaim, without
	// duplicates; empty if none matched.
	Roles  []string
	Expiry time.Time
}

// Verifier verifies bearer tokens. It discovers the provider lazily (on first
// use, and again after a failure), so frontend-api can start while the IdP is
// down, and it never accepts a token it could not verify. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	verifier    *oidc.IDTokenVerifier // nil until discovery succeeds; then kept
	lastErr     error                 // the last discovery failure
	lastAttempt time.Time
	retryAfter  time.Duration
	// refetchEvery bounds how often the JWKS is fetched again (see keySet).
	refetchEvery time.Duration
}

// NewVerifier returns a Verifier for cfg. It makes no request: discovery
// happens on the first Verify. httpClient may be nil; its Timeout, if zero, is
// set to 10s (on a copy).
func NewVerifier(cfg Config, httpClient *http.Client) *Verifier {
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = defaultAlgorithms
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = defaultClockSkew
	}
	return &Verifier{
		cfg:          cfg,
		client:       idpClient(httpClient),
		now:          time.Now,
		retryAfter:   defaultRetryAfter,
		refetchEvery: defaultRefetchEvery,
	}
}

// Verify returns the identity, or an error wrapping ErrInvalidToken (the
// token is bad: 401) or ErrUnavailable (the issuer/JWKS could not be reached:
// 503).
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Identity, error) {
	// Reject what needs no key to reject (garbage, alg "none", HS256...) before
	// talking to the IdP, so that an outage does not turn garbage into 503s.
	if _, err := jose.ParseSignedCompact(rawToken, v.signatureAlgorithms()); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}

	idv, err := v.idTokenVerifier(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}

	// go-oidc flattens the key set's error into a string, so the key set
	// reports a failed JWKS fetch through this slot instead (see keySet).
	var fetchErr error
	tok, err := idv.Verify(context.WithValue(ctx, fetchErrKey{}, &fetchErr), rawToken)
	if fetchErr != nil {
		return Identity{}, fmt.Errorf("%w: fetching JWKS: %w", ErrUnavailable, fetchErr)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}

	var claims struct {
		NotBefore         *float64 `json:"nbf"`
		IssuedAt          *float64 `json:"iat"`
		Email             string   `json:"email"`
		Name              string   `json:"name"`
		PreferredUsername string   `json:"preferred_username"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: decoding claims: %w", ErrInvalidToken, err)
	}
	// go-oidc allows a fixed 5 minutes of skew on nbf and does not look at
	// iat; hold both to our own skew.
	latest := v.now().Add(v.cfg.ClockSkew)
	if claims.NotBefore != nil && unixTime(*claims.NotBefore).After(latest) {
		return Identity{}, fmt.Errorf("%w: not valid before %v", ErrInvalidToken, unixTime(*claims.NotBefore))
	}
	if claims.IssuedAt != nil && unixTime(*claims.IssuedAt).After(latest) {
		return Identity{}, fmt.Errorf("%w: issued in the future at %v", ErrInvalidToken, unixTime(*claims.IssuedAt))
	}

	roles, err := v.roles(tok)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	name := claims.Name
	if name == "" {
		name = claims.PreferredUsername
	}
	return Identity{
		Subject: tok.Subject,
		Email:   claims.Email,
		Name:    name,
		Roles:   roles,
		Expiry:  tok.Expiry,
	}, nil
}

// roles maps the roles claim, a list of strings or a single string, to
// Durapay roles.
func (v *Verifier) roles(tok *oidc.IDToken) ([]string, error) {
	if v.cfg.RolesClaim == "" {
		return nil, nil
	}
	var all map[string]json.RawMessage
	if err := tok.Claims(&all); err != nil {
		return nil, fmt.Errorf("decoding claims: %w", err)
	}
	raw, ok := all[v.cfg.RolesClaim]
	if !ok {
		return nil, nil
	}
	var values []string
	if err := json.Unmarshal(raw, &values); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, fmt.Errorf("claim %q is neither a string nor a list of strings", v.cfg.RolesClaim)
		}
		values = []string{one}
	}
	var roles []string
	seen := map[string]bool{}
	for _, value := range values {
		role, ok := v.cfg.RoleMap[value]
		if ok && !seen[role] {
			seen[role] = true
			roles = append(roles, role)
		}
	}
	return roles, nil
}

// idTokenVerifier returns the go-oidc verifier, discovering the provider if
// that has not succeeded yet. A successful discovery is kept for the life of
// the Verifier (its keySet fetches the JWKS again when keys rotate); a
// failed one is retried after retryAfter.
//
// The lock is held during discovery so that only one request at a time asks
// the IdP; the others wait at most the HTTP client's timeout.
func (v *Verifier) idTokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	if v.cfg.IssuerURL == "" || v.cfg.Audience == "" {
		// Misconfiguration: no token can be verified, which is the server's
		// fault, not the token's.
		return nil, errors.New("oidcauth: Config.IssuerURL and Config.Audience are required")
	}
	if v.lastErr != nil && v.now().Sub(v.lastAttempt) < v.retryAfter {
		return nil, v.lastErr
	}
	// One client giving up must not count as the IdP failing for everyone
	// (the HTTP client's timeout still bounds the attempt).
	idv, err := v.discover(context.WithoutCancel(ctx))
	v.verifier, v.lastErr, v.lastAttempt = idv, err, v.now()
	return idv, err
}

func (v *Verifier) discover(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), v.cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", v.cfg.IssuerURL, err)
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURL == "" {
		return nil, fmt.Errorf("discovering %s: no jwks_uri in the discovery document", v.cfg.IssuerURL)
	}
	// The key set keeps this context for its background JWKS fetches: it must
	// carry our client and nothing request-scoped.
	keys := &keySet{url: meta.JWKSURL, client: v.client, algs: v.signatureAlgorithms(), now: v.now,
		refetchEvery: v.refetchEvery, retryAfter: v.retryAfter}
	return oidc.NewVerifier(v.cfg.IssuerURL, keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: v.cfg.Algorithms,
		// go-oidc checks exp against Now with no leeway: shifting Now back by
		// the skew is the leeway. (Its nbf check becomes looser, but Verify
		// checks nbf itself.)
		Now: func() time.Time { return v.now().Add(-v.cfg.ClockSkew) },
	}), nil
}

func (v *Verifier) signatureAlgorithms() []jose.SignatureAlgorithm {
	algs := make([]jose.SignatureAlgorithm, len(v.cfg.Algorithms))
	for i, alg := range v.cfg.Algorithms {
		algs[i] = jose.SignatureAlgorithm(alg)
	}
	return algs
}

func unixTime(seconds float64) time.Time { return time.Unix(int64(seconds), 0) }
