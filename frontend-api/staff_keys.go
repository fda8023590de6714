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

// Staff keys are the break-glass path beside sign-in with OIDC: admins issue them for a
// short time (STAFF_KEY_TTL, at most STAFF_KEY_MAX_TTL) and revoke them, each audited; a
// deployment where everyone signs in turns them off (STAFF_KEYS=false).

// issueStaffKeyBody is POST /v1/admin/staff_keys.
type issueStaffKeyBody struct {
	Name             string   `json:"name"`
	Roles            []string `json:"roles"`
	ExpiresInSeconds *int64   `json:"expires_in_seconds"`
}

func (s *server) issueStaffKey(w http.ResponseWriter, r *http.Request) error {
	var body issueStaffKeyBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case body.Name == "" || len(body.Name) > 100:
		return newError(codeParameterInvalid, "name", "name (who holds the key, and why) is required, at most 100 characters.")
	case len(body.Roles) == 0:
		return newError(codeParameterMissing, "roles", fmt.Sprintf("Missing required parameter: roles (any of %v).", merchants.Roles))
	}
	ttl := s.cfg.StaffKeyTTL
	if body.ExpiresInSeconds != nil {
		ttl = time.Duration(*body.ExpiresInSeconds) * time.Second
	}
	if ttl < time.Minute || ttl > s.cfg.StaffKeyMaxTTL {
		return newError(codeParameterInvalid, "expires_in_seconds",
			fmt.Sprintf("expires_in_seconds must be from 60 to %d.", int64(s.cfg.StaffKeyMaxTTL.Seconds())))
	}
	issuer := principalFrom(r.Context())
	// A staff key cannot outlive the staff key that issued it: a leaked one does not beget
	// a longer-lived one.
	if issuer.Expires != nil && time.Now().Add(ttl).After(*issuer.Expires) {
		return newError(codeParameterInvalid, "expires_in_seconds", "A staff key cannot issue a key that outlives it.")
	}
	plain, key, err := merchants.IssueStaffKey(r.Context(), s.pool, body.Name, ttl, body.Roles...)
	if errors.Is(err, merchants.ErrUnknownRole) {
		return newError(codeParameterInvalid, "roles", fmt.Sprintf("Unknown role; roles are %v.", merchants.Roles))
	}
	if err != nil {
		return err
	}
	s.audit(r, "staff_key.issue", key.ID, audit.Success, map[string]string{"name": key.Name, "roles": fmt.Sprint(key.Roles),
		"expires": key.ExpiresAt.Format(time.RFC3339)})
	writeJSON(w, http.StatusCreated, issuedKey{APIKey: key, Secret: plain})
	return nil
}

func (s *server) listStaffKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := merchants.ListStaffKeys(r.Context(), s.pool)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []merchants.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": keys})
	return nil
}

func (s *server) revokeStaffKey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	key, err := merchants.RevokeStaffKey(ctx, s.pool, id)
	if errors.Is(err, pg.ErrNotFound) {
		return newError(codeResourceMissing, "id", "No such staff key: '"+id+"'")
	}
	if err != nil {
		return err
	}
	if err := s.keys.forget(ctx, key.Hash, markDead); err != nil {
		return fmt.Errorf("drop the revoked staff key from the cache: %w", err)
	}
	s.audit(r, "staff_key.revoke", key.ID, audit.Success, map[string]string{"name": key.Name})
	writeJSON(w, http.StatusOK, key)
	return nil
}
