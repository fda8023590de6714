package oidcauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oauth2-proxy/mockoidc"
)

const clientID = "durapay-frontend"

var roleMap = map[string]string{
	"durapay-operators": "operator",
	"durapay-finance":   "finance",
	"durapay-admins":    "admin",
}

// provider is a mockoidc server running in-process, whose discovery and JWKS
// endpoints can be made to answer 500.
type provider struct {
	*mockoidc.MockOIDC
	kid           string
	failDiscovery atomic.Bool
	failJWKS      atomic.Bool
	jwksFetches   atomic.Int32
	serveJWKS     atomic.Pointer[jose.JSONWebKeySet] // instead of mockoidc's, when set
	holdJWKS      atomic.Pointer[chan struct{}]      // JWKS requests wait for it to close, when set
}

// startProvider starts mockoidc on addr ("" for any free port). Every
// mockoidc uses the same built-in RSA key, so a restarted provider on the same
// address serves the same JWKS.
func startProvider(t *testing.T, addr string) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.ClientID = clientID
	// KeyID caches the kid in the Keypair without a lock: compute it before
	// the server's handlers can race on it.
	kid, err := m.Keypair.KeyID()
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{MockOIDC: m, kid: kid}
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.JWKSEndpoint {
				p.jwksFetches.Add(1)
				if hold := p.holdJWKS.Load(); hold != nil {
					<-*hold
				}
			}
			if (r.URL.Path == mockoidc.DiscoveryEndpoint && p.failDiscovery.Load()) ||
				(r.URL.Path == mockoidc.JWKSEndpoint && p.failJWKS.Load()) {
				http.Error(w, `{"error":"internal_server_error"}`, http.StatusInternalServerError)
				return
			}
			if set := p.serveJWKS.Load(); set != nil && r.URL.Path == mockoidc.JWKSEndpoint {
				_ = json.NewEncoder(w).Encode(set)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// addr is host:port of the provider, to restart one in the same place.
func (p *provider) addr() string { return p.Server.Addr }

func newTestVerifier(issuer string) *Verifier {
	v := NewVerifier(Config{
		IssuerURL:  issuer,
		Audience:   clientID,
		RolesClaim: "groups",
		RoleMap:    roleMap,
	}, nil)
	v.retryAfter = 0   // rediscover at once; the tests say when the IdP is back
	v.refetchEvery = 0 // every unknown key fetches the JWKS (TestVerifyRefetchIsRateLimited limits it)
	return v
}

// claims returns valid claims for p, to be altered by each case.
func (p *provider) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":    p.Issuer(),
		"aud":    clientID,
		"sub":    "operator-42",
		"email":  "ada@durapay.example",
		"name":   "Ada Lovelace",
		"groups": []string{"durapay-operators", "durapay-finance", "everyone"},
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(10 * time.Minute).Unix(),
	}
}

// sign signs claims with alg and key, with kid in the header if not empty.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// signWithProvider signs claims as the provider does: RS256, its key and kid.
func (p *provider) sign(t *testing.T, claims map[string]any) string {
	return sign(t, jose.RS256, p.Keypair.PrivateKey, p.kid, claims)
}

// unsigned builds an alg "none" token, which go-jose refuses to produce.
func unsigned(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + "."
}

var (
	otherKeyOnce sync.Once
	otherKey     *rsa.PrivateKey
)

// foreignKey is an RSA key the provider's JWKS does not have.
func foreignKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	otherKeyOnce.Do(func() {
		var err error
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return otherKey
}

// loginIDToken goes through mockoidc's authorization code flow for user, as a
// browser and frontend would, and returns the ID token the provider issued.
func loginIDToken(t *testing.T, p *provider, user mockoidc.User) string {
	t.Helper()
	p.QueueUser(user)
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const redirect = "http://127.0.0.1/callback"
	resp, err := browser.Get(p.AuthorizationEndpoint() + "?" + url.Values{
		"client_id":     {p.ClientID},
		"response_type": {"code"},
		"scope":         {"openid email profile groups"},
		"state":         {"state"},
		"nonce":         {"nonce"},
		"redirect_uri":  {redirect},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	location, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: %s, no redirect: %v", resp.Status, err)
	}
	resp, err = http.PostForm(p.TokenEndpoint(), url.Values{
		"client_id":     {p.ClientID},
		"client_secret": {p.ClientSecret},
		"grant_type":    {"authorization_code"},
		"code":          {location.Query().Get("code")},
		"redirect_uri":  {redirect},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil || tokens.IDToken == "" {
		t.Fatalf("token endpoint: %s, %v", resp.Status, err)
	}
	return tokens.IDToken
}

func mustVerify(t *testing.T, v *Verifier, token string) Identity {
	t.Helper()
	id, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return id
}

func wantErr(t *testing.T, v *Verifier, token string, want error) {
	t.Helper()
	id, err := v.Verify(context.Background(), token)
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %+v, %v; want %v", id, err, want)
	}
	if !isZero(id) {
		t.Fatalf("Verify returned an identity with its error: %+v", id)
	}
}

func isZero(id Identity) bool {
	return id.Subject == "" && id.Email == "" && id.Name == "" && id.Roles == nil && id.Expiry.IsZero()
}

func TestVerifyTokenFromLoginFlow(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	token := loginIDToken(t, p, &mockoidc.MockUser{
		Subject:           "finance-7",
		Email:             "grace@durapay.example",
		PreferredUsername: "grace",
		Groups:            []string{"durapay-finance", "durapay-admins", "durapay-finance", "staff"},
	})

	id := mustVerify(t, v, token)
	if id.Subject != "finance-7" || id.Email != "grace@durapay.example" || id.Name != "grace" {
		t.Errorf("identity = %+v", id)
	}
	if want := []string{"finance", "admin"}; !slices.Equal(id.Roles, want) {
		t.Errorf("roles = %q, want %q", id.Roles, want)
	}
	if until := time.Until(id.Expiry); until < 5*time.Minute || until > 11*time.Minute {
		t.Errorf("expiry = %v, want about 10 minutes from now", id.Expiry)
	}
}

func TestVerifyRoles(t *testing.T) {
	p := startProvider(t, "")
	v := NewVerifier(Config{
		IssuerURL:  p.Issuer(),
		Audience:   clientID,
		RolesClaim: "roles",
		RoleMap:    roleMap,
	}, nil)

	for _, tc := range []struct {
		name  string
		roles any // nil: claim absent
		want  []string
	}{
		{"list", []string{"durapay-admins", "durapay-operators"}, []string{"admin", "operator"}},
		{"single string", "durapay-finance", []string{"finance"}},
		{"unmapped values are ignored", []string{"sales", "durapay-finance"}, []string{"finance"}},
		{"no Durapay role is still a valid identity", []string{"sales"}, nil},
		{"claim absent", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := p.claims()
			claims["groups"] = []string{"durapay-admins"} // not the configured claim
			if tc.roles != nil {
				claims["roles"] = tc.roles
			}
			id := mustVerify(t, v, p.sign(t, claims))
			if !slices.Equal(id.Roles, tc.want) {
				t.Errorf("roles = %q, want %q", id.Roles, tc.want)
			}
			if id.Subject != "operator-42" || id.Name != "Ada Lovelace" {
				t.Errorf("identity = %+v", id)
			}
		})
	}

	claims := p.claims()
	claims["roles"] = 7
	wantErr(t, v, p.sign(t, claims), ErrInvalidToken)
}

func TestVerifyRejectsBadTokens(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	// Discover first, so each case is judged with the keys at hand.
	mustVerify(t, v, p.sign(t, p.claims()))

	with := func(change func(map[string]any)) map[string]any {
		claims := p.claims()
		change(claims)
		return claims
	}
	publicPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(p.Keypair.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	now := time.Now()

	for _, tc := range []struct {
		name  string
		token string
	}{
		{"alg none", unsigned(t, p.kid, p.claims())},
		{"HS256 with the public key PEM as secret", sign(t, jose.HS256, publicPEM(), p.kid, p.claims())},
		{"HS256 with the public key DER as secret", sign(t, jose.HS256, x509.MarshalPKCS1PublicKey(p.Keypair.PublicKey), p.kid, p.claims())},
		{"RS384, not in the allow-list", sign(t, jose.RS384, p.Keypair.PrivateKey, p.kid, p.claims())},
		{"wrong issuer", p.sign(t, with(func(c map[string]any) { c["iss"] = "https://evil.example/oidc" }))},
		{"wrong audience", p.sign(t, with(func(c map[string]any) { c["aud"] = "another-client" }))},
		{"no audience", p.sign(t, with(func(c map[string]any) { delete(c, "aud") }))},
		{"expired beyond skew", p.sign(t, with(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }))},
		{"no expiry", p.sign(t, with(func(c map[string]any) { delete(c, "exp") }))},
		{"not yet valid beyond skew", p.sign(t, with(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }))},
		{"issued in the future beyond skew", p.sign(t, with(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }))},
		{"unknown kid", sign(t, jose.RS256, foreignKey(t), "not-in-the-jwks", p.claims())},
		{"provider's kid, another key", sign(t, jose.RS256, foreignKey(t), p.kid, p.claims())},
		{"no kid, another key", sign(t, jose.RS256, foreignKey(t), "", p.claims())},
		{"payload swapped under a valid signature", func() string {
			good := strings.Split(p.sign(t, p.claims()), ".")
			forged := strings.Split(p.sign(t, with(func(c map[string]any) { c["sub"] = "admin-1" })), ".")
			return good[0] + "." + forged[1] + "." + good[2]
		}()},
		{"garbage", "not-a-jwt"},
		{"three garbage parts", "a.b.c"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, v, tc.token, ErrInvalidToken)
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer()) // default skew: 30s
	now := time.Now()
	claims := p.claims()
	claims["exp"] = now.Add(-10 * time.Second).Unix()
	claims["nbf"] = now.Add(10 * time.Second).Unix()
	claims["iat"] = now.Add(10 * time.Second).Unix()
	mustVerify(t, v, p.sign(t, claims))
}

// An IdP that is down at startup gives 503s, never 401s nor 200s, and
// verification works once it is up.
func TestVerifyDiscoversLazily(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr + mockoidc.IssuerBase
	v := newTestVerifier(issuer)

	// Any well-formed token will do: it cannot be checked.
	token := sign(t, jose.RS256, foreignKey(t), "kid", map[string]any{"iss": issuer, "aud": clientID})
	wantErr(t, v, token, ErrUnavailable)
	wantErr(t, v, token, ErrUnavailable) // retried, still down

	p := startProvider(t, addr)
	id := mustVerify(t, v, p.sign(t, p.claims()))
	if id.Subject != "operator-42" {
		t.Errorf("subject = %q", id.Subject)
	}
}

// While a discovery failure is remembered, Verify answers 503 without asking
// the IdP again.
func TestVerifyRemembersDiscoveryFailure(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	v.retryAfter = time.Hour
	token := p.sign(t, p.claims())

	p.failDiscovery.Store(true)
	wantErr(t, v, token, ErrUnavailable)
	p.failDiscovery.Store(false)
	wantErr(t, v, token, ErrUnavailable)

	v.mu.Lock()
	v.retryAfter = 0
	v.mu.Unlock()
	mustVerify(t, v, token)
}

// Once discovered, keys already fetched still verify during an outage, but a
// kid that needs a fetch is a 503; after the outage, an unknown kid is a 401
// again.
func TestVerifyProviderGoesDown(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	valid := p.sign(t, p.claims())
	unknownKid := sign(t, jose.RS256, foreignKey(t), "not-in-the-jwks", p.claims())
	mustVerify(t, v, valid)

	addr := p.addr()
	if err := p.Shutdown(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v, unknownKid, ErrUnavailable)
	mustVerify(t, v, valid) // signed with a cached key: no fetch needed

	p = startProvider(t, addr)
	wantErr(t, v, unknownKid, ErrInvalidToken)
	mustVerify(t, v, p.sign(t, p.claims()))
}

// Tokens that no cached key verifies (made-up kids, forged signatures) fetch
// the JWKS at most once per refetchEvery; after it, a rotated key is found.
func TestVerifyRefetchIsRateLimited(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	v.refetchEvery = time.Minute
	now := time.Now()
	v.now = func() time.Time { return now }
	mustVerify(t, v, p.sign(t, p.claims()))
	if n := p.jwksFetches.Load(); n != 1 {
		t.Fatalf("first verification: %d JWKS fetches, want 1", n)
	}
	for i := range 50 {
		forged := sign(t, jose.RS256, foreignKey(t), fmt.Sprintf("made-up-%d", i), p.claims())
		if i%2 == 1 { // the provider's kid, another key
			forged = sign(t, jose.RS256, foreignKey(t), p.kid, p.claims())
		}
		wantErr(t, v, forged, ErrInvalidToken)
	}
	if n := p.jwksFetches.Load(); n != 1 {
		t.Errorf("50 forged tokens within a minute: %d JWKS fetches, want 1 (none more)", n)
	}

	// The IdP rotates to a new key: once the minute is up, its tokens verify.
	rotated := foreignKey(t)
	jwk := jose.JSONWebKey{Key: rotated.Public(), KeyID: "rotated", Algorithm: string(jose.RS256), Use: "sig"}
	p.serveJWKS.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	token := sign(t, jose.RS256, rotated, "rotated", p.claims())
	wantErr(t, v, token, ErrInvalidToken)
	now = now.Add(time.Minute)
	mustVerify(t, v, token)
	if n := p.jwksFetches.Load(); n != 2 {
		t.Errorf("after the rotation: %d JWKS fetches, want 2", n)
	}
}

// A fetch that hangs (an IdP in trouble) holds up only the tokens that need it: one
// signed with a key already held verifies meanwhile.
func TestVerifyDoesNotWaitForAHangingFetch(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	valid := p.sign(t, p.claims())
	mustVerify(t, v, valid)
	hold := make(chan struct{})
	p.holdJWKS.Store(&hold)
	unknown := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), sign(t, jose.RS256, foreignKey(t), "not-in-the-jwks", p.claims()))
		unknown <- err
	}()
	for p.jwksFetches.Load() < 2 {
		time.Sleep(time.Millisecond) // until the unknown kid's fetch is under way
	}
	done := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), valid); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("valid token during the fetch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("a token signed with a held key waited for the JWKS fetch")
	}
	close(hold)
	if err := <-unknown; !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid after the fetch: %v", err)
	}
}

func TestVerifyJWKSServerError(t *testing.T) {
	p := startProvider(t, "")
	valid := p.sign(t, p.claims())
	unknownKid := sign(t, jose.RS256, foreignKey(t), "not-in-the-jwks", p.claims())

	// First verification: discovery works, the JWKS does not.
	v := newTestVerifier(p.Issuer())
	p.failJWKS.Store(true)
	wantErr(t, v, valid, ErrUnavailable)
	wantErr(t, v, unknownKid, ErrUnavailable)

	p.failJWKS.Store(false)
	mustVerify(t, v, valid)
	wantErr(t, v, unknownKid, ErrInvalidToken)

	// Keys cached, then the JWKS breaks: only the fetch an unknown kid needs fails.
	p.failJWKS.Store(true)
	wantErr(t, v, unknownKid, ErrUnavailable)
	mustVerify(t, v, valid)
}

// An IdP that answers 200 with something that is not a JWKS (a proxy's page)
// was not reached either.
func TestVerifyJWKSNotJSON(t *testing.T) {
	p := startProvider(t, "")
	var meta map[string]any
	resp, err := http.Get(p.DiscoveryEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A discovery document whose jwks_uri leads to an HTML page.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>Please log in to the Wi-Fi</html>"))
			return
		}
		meta["issuer"] = "http://" + r.Host
		meta["jwks_uri"] = "http://" + r.Host + "/jwks"
		_ = json.NewEncoder(w).Encode(meta)
	}))
	defer page.Close()

	v := newTestVerifier(page.URL)
	claims := p.claims()
	claims["iss"] = page.URL
	wantErr(t, v, p.sign(t, claims), ErrUnavailable)
}

func TestVerifyWithoutIssuerOrAudienceIsUnavailable(t *testing.T) {
	p := startProvider(t, "")
	v := NewVerifier(Config{IssuerURL: p.Issuer()}, nil)
	wantErr(t, v, p.sign(t, p.claims()), ErrUnavailable)
}

func TestVerifyConcurrent(t *testing.T) {
	p := startProvider(t, "")
	v := newTestVerifier(p.Issuer())
	valid := p.sign(t, p.claims())
	unknownKid := sign(t, jose.RS256, foreignKey(t), "not-in-the-jwks", p.claims())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := v.Verify(context.Background(), valid); err != nil {
					t.Errorf("valid token: %v", err)
				}
			} else if _, err := v.Verify(context.Background(), unknownKid); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		target  string
		headers []string
		want    string
		wantErr error
	}{
		{"bearer", "/v1/payments", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"scheme is case-insensitive", "/", []string{"bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"token in query", "/v1/payments?access_token=abc.def.ghi", nil, "", ErrTokenInQuery},
		{"token in query beside a header", "/?access_token=x", []string{"Bearer abc.def.ghi"}, "", ErrTokenInQuery},
		{"no header", "/", nil, "", ErrNoToken},
		{"basic scheme", "/", []string{"Basic dXNlcjpwYXNz"}, "", ErrInvalidToken},
		{"scheme only", "/", []string{"Bearer"}, "", ErrInvalidToken},
		{"empty token", "/", []string{"Bearer   "}, "", ErrInvalidToken},
		{"two tokens", "/", []string{"Bearer a b"}, "", ErrInvalidToken},
		{"two headers", "/", []string{"Bearer a", "Bearer b"}, "", ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := BearerToken(r)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("BearerToken = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if !errors.Is(ErrTokenInQuery, ErrInvalidToken) {
		t.Error("ErrTokenInQuery must be an ErrInvalidToken (401 invalid_token)")
	}
}
