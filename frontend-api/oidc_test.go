package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/durapay/durapay/internal/platform/oidcauth"
)

// People sign in with OIDC: frontend-api verifies their bearer tokens against a real
// provider (mockoidc, in-process), maps a claim to roles, and answers bad tokens 401 with
// WWW-Authenticate: Bearer error="invalid_token", an unreachable provider 503.
func TestOIDCBearerTokens(t *testing.T) {
	t.Parallel()
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idp.Keypair.KeyID(); err != nil { // computed before its handlers can race on it
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })

	f := newFixture(t)
	verifier := func(issuer string) *oidcauth.Verifier {
		return oidcauth.NewVerifier(oidcauth.Config{IssuerURL: issuer, Audience: idp.ClientID, RolesClaim: "groups",
			RoleMap: map[string]string{"fin": "finance", "ops": "operator"}}, &http.Client{Timeout: 2 * time.Second})
	}
	f.srv.oidc = verifier(idp.Issuer())
	token := func(mutate func(jwt.MapClaims)) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": idp.Issuer(), "aud": idp.ClientID, "sub": "ada", "email": "ada@durapay.example",
			"groups": []string{"fin"}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if mutate != nil {
			mutate(c)
		}
		tok, err := idp.Keypair.SignJWT(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	get := func(path, bearer string) reply {
		return f.do(t, "GET", path, "", "", "", "Authorization", "Bearer "+bearer)
	}

	if r := get("/v1/finance/balances", token(nil)); r.status != 200 {
		t.Fatalf("a finance person's token: %d %s", r.status, r.raw)
	}
	if r := get("/v1/admin/audit", token(nil)); r.status != 403 {
		t.Fatalf("finance on an admin route: %d", r.status)
	}
	bad := map[string]string{
		"wrong issuer":   token(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }),
		"wrong audience": token(func(c jwt.MapClaims) { c["aud"] = "another-client" }),
		"expired":        token(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"not yet valid":  token(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
		"alg none":       "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + strings.Split(token(nil), ".")[1] + ".",
		"garbage":        "not.a.token",
	}
	for name, tok := range bad {
		r := get("/v1/finance/balances", tok)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="Durapay", error="invalid_token"` {
			t.Errorf("%s: %d %q", name, r.status, r.header.Get("WWW-Authenticate"))
		}
	}
	if r := f.do(t, "GET", "/v1/finance/balances?access_token="+token(nil), "", "", ""); r.status != 401 {
		t.Errorf("a token in the query string: %d", r.status)
	}

	// The provider unreachable: 503, never 200.
	f.srv.oidc = verifier("http://127.0.0.1:1")
	if r := get("/v1/finance/balances", token(nil)); r.status != 503 {
		t.Fatalf("with the provider unreachable: %d %s", r.status, r.raw)
	}

	if failures := f.authFailures(t)[codeTokenInvalid]; failures < len(bad) {
		t.Errorf("%d OIDC failures audited, want at least %d", failures, len(bad))
	}
}
