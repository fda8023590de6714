package main

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/durapay/durapay/internal/merchants"
	"github.com/durapay/durapay/internal/pg"
)

// keyResolver finds the merchant behind a secret API key: Redis first, Postgres on a miss.
// The cache holds hash -> merchant ID only; Postgres stays the truth, so a Redis outage slows
// authentication down but never lets a request through or locks merchants out.
type keyResolver struct {
	pool  *pgxpool.Pool
	redis *redis.Client
	ttl   time.Duration
}

const apiKeyCachePrefix = "durapay:apikey:"

// merchantFor returns the merchant ID for a presented key, or pg.ErrNotFound.
func (k *keyResolver) merchantFor(ctx context.Context, presented string) (string, error) {
	hash := merchants.HashKey(presented)
	cacheKey := apiKeyCachePrefix + hex.EncodeToString(hash)
	merchantID, err := k.redis.Get(ctx, cacheKey).Result()
	if err == nil {
		return merchantID, nil
	}
	if !errors.Is(err, redis.Nil) {
		loggerFrom(ctx).WithError(err).Warn("API key cache unavailable; reading Postgres")
	}
	key, err := merchants.FindKey(ctx, k.pool, hash)
	if err != nil {
		return "", err
	}
	if err := k.redis.Set(ctx, cacheKey, key.MerchantID, k.ttl).Err(); err != nil {
		loggerFrom(ctx).WithError(err).Warn("API key cache write failed")
	}
	return key.MerchantID, nil
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

// authenticate lets a request through only with a live secret key, and puts its merchant in
// the request's context.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := presentedKey(r)
		if key == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Durapay"`)
			writeError(w, r, newError(codeAuthenticationRequired, "",
				"No API key provided. Use HTTP Basic auth with your secret key as the user name (curl -u sk_...:) or an Authorization: Bearer header."))
			return
		}
		merchantID, err := s.keys.merchantFor(r.Context(), key)
		if errors.Is(err, pg.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Durapay"`)
			writeError(w, r, newError(codeAPIKeyInvalid, "", "Invalid API key."))
			return
		}
		if err != nil {
			writeError(w, r, &apiError{code: codeServiceUnavailable, message: "Authentication is temporarily unavailable.", retryAfter: time.Second, cause: err})
			return
		}
		infoFrom(r.Context()).merchant = merchantID
		ctx := context.WithValue(r.Context(), merchantKey, merchantID)
		ctx = context.WithValue(ctx, loggerKey, loggerFrom(ctx).WithField("merchant", merchantID))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
