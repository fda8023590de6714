package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/oidcauth"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// principal is who sent a request: a merchant (secret key) or one of Durapay's staff (a
// staff key with roles).
type principal struct {
	KeyID      string   `json:"k"`
	Kind       string   `json:"t"`
	MerchantID string   `json:"m,omitempty"`
	Name       string   `json:"n,omitempty"`
	Roles      []string `json:"r,omitempty"`
	Scopes     []string `json:"s,omitempty"`
	// Expires is a staff key's end or a rolled key's end of overlap, which the cache must honour too.
	Expires *time.Time `json:"e,omitempty"`
}

// Principals that are not API keys: a person signed in with the identity provider, and a
// prospective merchant holding an invitation.
const (
	kindOIDC   = "oidc"
	kindInvite = "invite"
)

// operator names a person acting on something, for workflow histories and records that
// people read: the ID, and the name when there is one.
func (p principal) operator() string {
	if p.Name != "" {
		return p.id() + " (" + p.Name + ")"
	}
	return p.id()
}

// id names the principal in logs, histories, audit and idempotency records.
func (p principal) id() string {
	switch {
	case p.MerchantID != "":
		return p.MerchantID
	case p.Kind == kindOIDC:
		return p.KeyID // oidc:<subject>
	default:
		return "staff:" + p.KeyID
	}
}

func (p principal) hasAnyRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// keyResolver finds the principal behind an API key: Redis first, Postgres on a miss. The
// cache holds hash -> principal only; Postgres stays the truth, so a Redis outage slows
// authentication down but never lets a request through or locks anyone out.
//
// A revoked, rolled or re-secreted key's entry is replaced by a marker (forget) that
// outlives any entry and any fill in flight. A fill writes only while there is no marker, checked in the same
// script, so that a lookup which read Postgres before the key changed cannot write it back.
// A read fetches the entry and the marker in one round trip.
type keyResolver struct {
	pool  *pgxpool.Pool
	redis *redis.Client
	ttl   time.Duration
	// beforeFill, when set (tests), runs between the Postgres read and the cache write.
	beforeFill func(principal)
}

const apiKeyCachePrefix = "durapay:apikey:"

// maxFill bounds a fill, from its start to its cache write: a later write is dropped, so
// that none lands after a marker (which lives ttl+maxFill) is gone.
const maxFill = 5 * time.Second

// A marker says why a key left the cache.
const (
	// markDead: the secret will never work again (the key was revoked, or given a new
	// secret), so it is refused without reading Postgres.
	markDead = "dead"
	// markChanged: the key still works but changed (rolled: it now expires), so it is read
	// from Postgres until the marker goes.
	markChanged = "changed"
)

// fillScript caches a principal (KEYS[1], ARGV[1], for ARGV[2] ms) unless the key has a
// marker (KEYS[2]).
var fillScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[2]) == 1 then return 0 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1`)

// cacheKeys names a key's cache entry and marker. They share a hash tag, which puts them on
// one Redis Cluster slot, as MGET and the script need.
func cacheKeys(hash []byte) (entry, marker string) {
	entry = apiKeyCachePrefix + "{" + hex.EncodeToString(hash) + "}"
	return entry, entry + ":changed"
}

// principalFor returns who holds the presented key, or pg.ErrNotFound. On a cache miss,
// beforeLookup runs first and may refuse the lookup with its error.
func (k *keyResolver) principalFor(ctx context.Context, presented string, beforeLookup func() error) (principal, error) {
	start := time.Now()
	hash := merchants.HashKey(presented)
	entry, marker := cacheKeys(hash)
	p, mark, err := k.cached(ctx, entry, marker)
	switch {
	case err != nil:
		loggerFrom(ctx).WithError(err).Warn("API key cache unavailable; reading Postgres")
	case mark == markDead:
		return principal{}, pg.ErrNotFound
	case mark == "" && p.KeyID != "":
		if p.Expires != nil && !time.Now().Before(*p.Expires) {
			return principal{}, pg.ErrNotFound
		}
		return p, nil
	}
	if err := beforeLookup(); err != nil {
		return principal{}, err
	}
	key, err := merchants.FindKey(ctx, k.pool, hash)
	if err != nil {
		return principal{}, err
	}
	p = principal{KeyID: key.ID, Kind: key.Kind, MerchantID: key.MerchantID, Name: key.Name, Roles: key.Roles, Scopes: key.Scopes,
		Expires: key.ExpiresAt}
	k.fill(ctx, start, entry, marker, p)
	return p, nil
}

// cached reads a key's cache entry (a zero principal when there is none, or it does not
// decode) and marker in one round trip.
func (k *keyResolver) cached(ctx context.Context, entry, marker string) (principal, string, error) {
	values, err := k.redis.MGet(ctx, entry, marker).Result()
	if err != nil {
		return principal{}, "", err
	}
	var p principal
	if encoded, ok := values[0].(string); ok && json.Unmarshal([]byte(encoded), &p) != nil {
		p = principal{}
	}
	mark, _ := values[1].(string)
	return p, mark, nil
}

// fill caches p, read from Postgres by a lookup that started at start, unless the key was
// revoked or rolled since (its marker) or maxFill has passed.
func (k *keyResolver) fill(ctx context.Context, start time.Time, entry, marker string, p principal) {
	encoded, _ := json.Marshal(p) // plain fields: cannot fail
	if k.beforeFill != nil {
		k.beforeFill(p)
	}
	ctx, cancel := context.WithDeadline(ctx, start.Add(maxFill))
	defer cancel()
	if err := fillScript.Run(ctx, k.redis, []string{entry, marker}, encoded, k.ttl.Milliseconds()).Err(); err != nil {
		loggerFrom(ctx).WithError(err).Warn("API key cache write failed")
	}
}

// forget replaces the cache entry of a key's secret (by its hash) with a marker: the change
// holds at once on every replica (they share the cache), and no fill in flight undoes it.
func (k *keyResolver) forget(ctx context.Context, hash []byte, mark string) error {
	entry, marker := cacheKeys(hash)
	_, err := k.redis.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Set(ctx, marker, mark, k.ttl+maxFill)
		tx.Del(ctx, entry)
		return nil
	})
	return err
}

// presentedKey reads an API key as Stripe accepts it: HTTP Basic with the key as the user
// name (curl -u sk_...:) or a Bearer token that is a key (sk_..., rk_...). Any other Bearer
// token is a person's OIDC token (see identify).
func presentedKey(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		return user
	}
	if token := credential(r); isAPIKey(token) {
		return token
	}
	return ""
}

// credential is what identifies the caller in the Authorization header: Basic auth's user
// name (the API key; the password is ignored, so changing it changes nothing) or the Bearer
// token, API key or not.
func credential(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		return user
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(token)
	}
	return ""
}

func isAPIKey(token string) bool {
	return strings.HasPrefix(token, "sk_") || strings.HasPrefix(token, "rk_")
}

// bearerIdentity reports whether the request presents an OIDC token (a Bearer credential
// that is not an API key, or a token in the URL, which is refused).
func bearerIdentity(r *http.Request) bool {
	if r.URL.Query().Has("access_token") {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && !isAPIKey(strings.TrimSpace(token))
}

// identify verifies a person's OIDC token and returns them as a staff principal with the
// roles the token's claim maps to.
func (s *server) identify(r *http.Request) (principal, error) {
	if s.oidc == nil {
		return principal{}, fmt.Errorf("%w: sign-in with OIDC is not configured", oidcauth.ErrInvalidToken)
	}
	token, err := oidcauth.BearerToken(r)
	if err != nil {
		return principal{}, err
	}
	id, err := s.oidc.Verify(r.Context(), token)
	if err != nil {
		return principal{}, err
	}
	return principal{KeyID: "oidc:" + id.Subject, Kind: kindOIDC, Name: id.Email, Roles: id.Roles}, nil
}

// authenticate lets a request through only with a live key allowed on the route, and puts
// its principal in the request's context. A key of the wrong kind (a merchant's key on an
// operator route) is 403: the caller is known, the action is not theirs.
func (s *server) authenticate(rt route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticated(r, rt)
		var failed *authFailure
		switch {
		case errors.As(err, &failed):
			s.refuseAuthentication(w, r, failed)
		case err != nil:
			writeError(w, r, err)
		default:
			s.admit(w, r, rt, p, next)
		}
	})
}

// authenticated finds who sent r: an *authFailure when the credentials are bad or missing,
// another error when they could not be checked.
func (s *server) authenticated(r *http.Request, rt route) (principal, error) {
	if bearerIdentity(r) {
		return s.identified(r)
	}
	if key := presentedKey(r); key != "" {
		return s.keyHolder(r, key)
	}
	if rt.access == signup && r.Header.Get(inviteHeader) != "" {
		return s.invited(r)
	}
	return principal{}, &authFailure{challenge: `Basic realm="Durapay"`, refusal: newError(codeAuthenticationRequired, "",
		"No API key provided. Use HTTP Basic auth with your secret key as the user name (curl -u sk_...:) or an Authorization: Bearer header.")}
}

// identified verifies a person's OIDC token.
func (s *server) identified(r *http.Request) (principal, error) {
	if err := s.checkFailureBudget(r); err != nil {
		return principal{}, err
	}
	p, err := s.identify(r)
	switch {
	case errors.Is(err, oidcauth.ErrUnavailable):
		return principal{}, unavailable("Sign-in is temporarily unavailable.", err)
	case err != nil:
		return principal{}, &authFailure{challenge: `Bearer realm="Durapay", error="invalid_token"`,
			refusal: &apiError{code: codeTokenInvalid, message: "The bearer token is not valid.", cause: err}}
	}
	return p, nil
}

// keyHolder finds who holds an API key; Postgres is read only for a source with failure
// budget left.
func (s *server) keyHolder(r *http.Request, key string) (principal, error) {
	p, err := s.keys.principalFor(r.Context(), key, func() error { return s.checkFailureBudget(r) })
	var failed *authFailure
	switch {
	case errors.As(err, &failed):
		return principal{}, err
	case errors.Is(err, pg.ErrNotFound):
		return principal{}, &authFailure{challenge: `Basic realm="Durapay"`, refusal: newError(codeAPIKeyInvalid, "", "Invalid API key."),
			keyPrefix: keyPrefix(key)}
	case err != nil:
		return principal{}, unavailable("Authentication is temporarily unavailable.", err)
	case p.Kind == merchants.KindStaff && !s.cfg.StaffKeys:
		return principal{}, &authFailure{challenge: `Basic realm="Durapay"`, keyPrefix: keyPrefix(key),
			refusal: newError(codeAPIKeyInvalid, "", "Staff keys are turned off here: sign in with your identity provider.")}
	}
	return p, nil
}

// invited checks a prospective merchant's invitation.
func (s *server) invited(r *http.Request) (principal, error) {
	if err := s.checkFailureBudget(r); err != nil {
		return principal{}, err
	}
	token := r.Header.Get(inviteHeader)
	p := principal{KeyID: "invite:" + hex.EncodeToString(merchants.InviteHash(token)[:6]), Kind: kindInvite}
	// A retry of the sign-up that spent the invitation (same key, so same merchant) is let
	// through: a sign-up that failed after spending it (a 5xx) must be retryable.
	ok, err := merchants.ValidInvite(r.Context(), s.pool, token, schemas.MerchantID(p.id(), r.Header.Get("Idempotency-Key")))
	if err != nil {
		return principal{}, err
	}
	if !ok {
		return principal{}, &authFailure{refusal: newError(codeInviteInvalid, "", "This invitation is not valid: it may have been used or have expired.")}
	}
	return p, nil
}

// admit lets an authenticated principal through if the route allows it.
func (s *server) admit(w http.ResponseWriter, r *http.Request, rt route, p principal, next http.Handler) {
	infoFrom(r.Context()).principal = p.id()
	if !allowed(rt, p) {
		writeError(w, r, newError(codePermissionDenied, "", "These credentials are not allowed to use this route."))
		return
	}
	ctx := context.WithValue(r.Context(), principalKey, p)
	ctx = context.WithValue(ctx, loggerKey, loggerFrom(ctx).WithField("principal", p.id()))
	next.ServeHTTP(w, r.WithContext(ctx))
}

func allowed(rt route, p principal) bool {
	switch rt.access {
	case merchant:
		// A secret key can do all a merchant can; a restricted key what its scopes say, and
		// never manage keys (scope secretOnly).
		return p.MerchantID != "" && (p.Kind == merchants.KindSecret || (rt.scope != secretOnly && slices.Contains(p.Scopes, rt.scope)))
	case operator:
		return p.MerchantID == "" && p.hasAnyRole(merchants.RoleOperator, merchants.RoleAdmin)
	case admin:
		return p.MerchantID == "" && p.hasAnyRole(merchants.RoleAdmin)
	case signup:
		return p.Kind == kindInvite || (p.MerchantID == "" && p.hasAnyRole(merchants.RoleOperator, merchants.RoleAdmin))
	case merchantOrStaff:
		return p.MerchantID == "" && len(p.Roles) > 0 || allowed(route{access: merchant, scope: rt.scope}, p)
	case finance:
		return p.MerchantID == "" && p.hasAnyRole(merchants.RoleFinance, merchants.RoleAdmin)
	default:
		return false
	}
}

// keyPrefix is what may be logged of a presented key: its kind marker and first characters.
func keyPrefix(key string) string {
	if len(key) > 12 {
		return key[:12] + "…"
	}
	return "(malformed)"
}
