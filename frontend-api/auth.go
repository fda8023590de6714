package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/durapay/durapay/internal/audit"
	"github.com/durapay/durapay/internal/merchants"
	"github.com/durapay/durapay/internal/pg"
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
	// Expires is a rolled key's end of overlap, which the cache must honour too.
	Expires *time.Time `json:"e,omitempty"`
}

// id names the principal in logs, histories and idempotency records.
func (p principal) id() string {
	if p.MerchantID != "" {
		return p.MerchantID
	}
	return "staff:" + p.KeyID
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
type keyResolver struct {
	pool  *pgxpool.Pool
	redis *redis.Client
	ttl   time.Duration
}

const apiKeyCachePrefix = "durapay:apikey:"

// principalFor returns who holds the presented key, or pg.ErrNotFound.
func (k *keyResolver) principalFor(ctx context.Context, presented string) (principal, error) {
	hash := merchants.HashKey(presented)
	cacheKey := apiKeyCachePrefix + hex.EncodeToString(hash)
	var p principal
	cached, err := k.redis.Get(ctx, cacheKey).Bytes()
	if err == nil && json.Unmarshal(cached, &p) == nil && p.KeyID != "" {
		if p.Expires != nil && !time.Now().Before(*p.Expires) {
			return principal{}, pg.ErrNotFound
		}
		return p, nil
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		loggerFrom(ctx).WithError(err).Warn("API key cache unavailable; reading Postgres")
	}
	key, err := merchants.FindKey(ctx, k.pool, hash)
	if err != nil {
		return principal{}, err
	}
	p = principal{KeyID: key.ID, Kind: key.Kind, MerchantID: key.MerchantID, Name: key.Name, Roles: key.Roles, Scopes: key.Scopes,
		Expires: key.ExpiresAt}
	encoded, _ := json.Marshal(p) // plain fields: cannot fail
	if err := k.redis.Set(ctx, cacheKey, encoded, k.ttl).Err(); err != nil {
		loggerFrom(ctx).WithError(err).Warn("API key cache write failed")
	}
	return p, nil
}

// forget drops a key from the cache: a revoked or rolled key stops working at once on every
// replica (they share the cache; Postgres is read again on the next request).
func (k *keyResolver) forget(ctx context.Context, key merchants.APIKey) error {
	return k.redis.Del(ctx, apiKeyCachePrefix+hex.EncodeToString(key.Hash)).Err()
}

// presentedKey reads the key as Stripe accepts it: HTTP Basic with the key as the user name
// (curl -u sk_...:) or a Bearer token.
func presentedKey(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		return user
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(token)
	}
	return ""
}

// authenticate lets a request through only with a live key allowed on the route, and puts
// its principal in the request's context. A key of the wrong kind (a merchant's key on an
// operator route) is 403: the caller is known, the action is not theirs.
func (s *server) authenticate(rt route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := presentedKey(r)
		if key == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Durapay"`)
			writeError(w, r, newError(codeAuthenticationRequired, "",
				"No API key provided. Use HTTP Basic auth with your secret key as the user name (curl -u sk_...:) or an Authorization: Bearer header."))
			return
		}
		p, err := s.keys.principalFor(r.Context(), key)
		if errors.Is(err, pg.ErrNotFound) {
			s.audit(r, "auth.failure", "api_key:"+keyPrefix(key), audit.Refused, nil)
			w.Header().Set("WWW-Authenticate", `Basic realm="Durapay"`)
			writeError(w, r, newError(codeAPIKeyInvalid, "", "Invalid API key."))
			return
		}
		if err != nil {
			writeError(w, r, &apiError{code: codeServiceUnavailable, message: "Authentication is temporarily unavailable.", retryAfter: time.Second, cause: err})
			return
		}
		infoFrom(r.Context()).principal = p.id()
		if !allowed(rt, p) {
			writeError(w, r, newError(codePermissionDenied, "", "This API key is not allowed to use this route."))
			return
		}
		ctx := context.WithValue(r.Context(), principalKey, p)
		ctx = context.WithValue(ctx, loggerKey, loggerFrom(ctx).WithField("principal", p.id()))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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
