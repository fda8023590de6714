package main

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pg"
)

// A merchant manages its keys with its secret key: restricted keys with scopes, rolling a
// key with an overlap window, and revoking one. Revocation is effective at once on every
// replica: the key is dropped from the shared cache and Postgres refuses it.

const (
	defaultRollOverlap = 24 * time.Hour
	maxRollOverlap     = 7 * 24 * time.Hour
)

// issuedKey is a key as answered once, with its secret.
type issuedKey struct {
	merchants.APIKey
	Secret string `json:"secret"`
}

// listAPIKeys is GET /v1/api_keys: a page of the merchant's keys, newest first.
func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	ctx, merchantID := r.Context(), merchantFrom(r.Context())
	page, err := listPage(r.URL.Query(), func(id string) (pg.Cursor, error) { return merchants.KeyCursor(ctx, s.pool, merchantID, id) })
	if err != nil {
		return err
	}
	keys, more, err := merchants.ListKeys(ctx, s.pool, merchantID, page)
	if err != nil {
		return err
	}
	writeList(w, keys, more)
	return nil
}

// createKeyBody is POST /v1/api_keys.
type createKeyBody struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// createAPIKey issues a restricted key: the secret is in this answer only.
func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var body createKeyBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Scopes) == 0 {
		return newError(codeParameterMissing, "scopes", fmt.Sprintf("Missing required parameter: scopes (any of %v).", merchants.Scopes))
	}
	if len(body.Name) > 100 {
		return newError(codeParameterInvalid, "name", "name must be at most 100 characters.")
	}
	plain, key, err := merchants.AddRestrictedKey(r.Context(), s.pool, merchantFrom(r.Context()), body.Name, merchants.ModeTest, body.Scopes)
	switch {
	case errors.Is(err, merchants.ErrUnknownScope):
		return newError(codeParameterInvalid, "scopes", fmt.Sprintf("Unknown scope; scopes are %v.", merchants.Scopes))
	case errors.Is(err, merchants.ErrKeyLimit):
		return keyLimitReached()
	case err != nil:
		return err
	}
	s.audit(r, "api_key.create", key.ID, audit.Success, map[string]string{"kind": key.Kind, "scopes": fmt.Sprint(key.Scopes)})
	writeJSON(w, http.StatusCreated, issuedKey{APIKey: key, Secret: plain})
	return nil
}

func keyLimitReached() error {
	return newError(codeAPIKeyLimitReached, "", fmt.Sprintf("This account has %d active API keys, the most allowed: revoke one first.",
		merchants.MaxActiveKeys))
}

// rollKeyBody is POST /v1/api_keys/{id}/roll.
type rollKeyBody struct {
	// ExpiresInSeconds is how long the old key keeps working; default a day.
	ExpiresInSeconds *int64 `json:"expires_in_seconds"`
}

func (s *server) rollAPIKey(w http.ResponseWriter, r *http.Request) error {
	var body rollKeyBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	overlap := defaultRollOverlap
	if body.ExpiresInSeconds != nil {
		overlap = time.Duration(*body.ExpiresInSeconds) * time.Second
		if overlap < 0 || overlap > maxRollOverlap {
			return newError(codeParameterInvalid, "expires_in_seconds", "expires_in_seconds must be from 0 to 604800 (7 days).")
		}
	}
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	plain, fresh, old, err := merchants.RollKey(ctx, s.pool, merchantFrom(ctx), id, overlap)
	switch {
	case errors.Is(err, pg.ErrNotFound):
		return newError(codeResourceMissing, "id", "No such live API key: '"+id+"'")
	case errors.Is(err, merchants.ErrAlreadyRolled):
		return newError(codeAPIKeyAlreadyRolled, "id", "This API key was rolled already: roll its replacement (replaced_by) instead.")
	case errors.Is(err, merchants.ErrKeyLimit):
		return keyLimitReached()
	case err != nil:
		return err
	}
	// The cached entry of the old key lacks its new expiry.
	if err := s.keys.forget(ctx, old.Hash, markChanged); err != nil {
		return fmt.Errorf("drop the rolled key from the cache: %w", err)
	}
	s.audit(r, "api_key.roll", old.ID, audit.Success, map[string]string{"replaced_by": fresh.ID, "overlap": overlap.String()})
	writeJSON(w, http.StatusCreated, issuedKey{APIKey: fresh, Secret: plain})
	return nil
}

func (s *server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	key, err := merchants.RevokeKey(ctx, s.pool, merchantFrom(ctx), id)
	if errors.Is(err, pg.ErrNotFound) {
		return newError(codeResourceMissing, "id", "No such API key: '"+id+"'")
	}
	if err != nil {
		return err
	}
	if err := s.keys.forget(ctx, key.Hash, markDead); err != nil {
		// Revoked in Postgres, but a replica may still trust its cache: say so, loudly.
		return fmt.Errorf("drop the revoked key from the cache: %w", err)
	}
	s.audit(r, "api_key.revoke", key.ID, audit.Success, nil)
	writeJSON(w, http.StatusOK, key)
	return nil
}
