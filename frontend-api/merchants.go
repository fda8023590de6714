package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Merchants are created by an operator, or by themselves with an invitation, and onboarded
// by an OnboardingWorkflow; an operator approves or rejects them.

// inviteHeader carries a sign-up invitation in place of credentials.
const inviteHeader = "Durapay-Invite"

var (
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	phonePattern   = regexp.MustCompile(`^\+[0-9 ]{7,20}$`)
	businessTypes  = map[string]bool{"individual": true, "company": true, "non_profit": true, "government_entity": true}
)

// createMerchantBody is POST /v1/merchants.
type createMerchantBody struct {
	LegalName    string `json:"legal_name"`
	Country      string `json:"country"`
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone"`
	BusinessType string `json:"business_type"`
}

func (b createMerchantBody) validate() error {
	switch {
	case strings.TrimSpace(b.LegalName) == "" || len(b.LegalName) > 200:
		return newError(codeParameterInvalid, "legal_name", "legal_name is required, at most 200 characters.")
	case !countryPattern.MatchString(b.Country):
		return newError(codeParameterInvalid, "country", "country must be an ISO 3166-1 alpha-2 code (US, GB, FR...).")
	case !businessTypes[b.BusinessType]:
		return newError(codeParameterInvalid, "business_type", "business_type must be individual, company, non_profit or government_entity.")
	case !validEmail(b.ContactEmail):
		return newError(codeParameterInvalid, "contact_email", "contact_email must be an email address.")
	case !phonePattern.MatchString(b.ContactPhone):
		return newError(codeParameterInvalid, "contact_phone", "contact_phone must be an international number (+44 20 7946 0000).")
	}
	return nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// createMerchant starts a merchant's onboarding and answers with its state: the merchant
// exists, its Connect account too, and the first KYC link is on its way.
func (s *server) createMerchant(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body createMerchantBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	who := principalFrom(ctx)
	id := schemas.MerchantID(who.id(), key)
	sealed, err := envelope.Seal(s.dataKeys, schemas.MerchantProfile{LegalName: body.LegalName, ContactEmail: body.ContactEmail,
		ContactPhone: body.ContactPhone}, schemas.ProfilePurpose(id))
	if err != nil {
		return err
	}
	in := schemas.OnboardingInput{MerchantID: id, Country: body.Country, BusinessType: body.BusinessType, SealedProfile: sealed,
		RequestHash: fingerprint(body), CreatedBy: who.id(), Policy: s.cfg.onboardingPolicy()}
	return createOnce(s, w, r, creation[schemas.OnboardingState]{
		key: key, requestHash: in.RequestHash, service: "Onboarding",
		// A merchant recorded under this key is the answer, whatever became of its
		// onboarding's workflow (removed by Temporal's retention).
		recorded: func(ctx context.Context) (schemas.OnboardingState, string, error) {
			m, err := s.onboarded(ctx, id)
			if err != nil {
				return schemas.OnboardingState{}, "", err
			}
			return *m.Onboarding, m.RequestHash, nil
		},
		start: func(ctx context.Context) (schemas.OnboardingState, bool, error) {
			if who.Kind == kindInvite {
				inviter, err := merchants.UseInvite(ctx, s.pool, r.Header.Get(inviteHeader), id)
				if errors.Is(err, merchants.ErrInviteInvalid) {
					return schemas.OnboardingState{}, false, newError(codeInviteInvalid, "", "This invitation was already used or has expired.")
				}
				if err != nil {
					return schemas.OnboardingState{}, false, err
				}
				in.InvitedBy = inviter
			}
			st, err := s.workflows.StartOnboarding(ctx, in)
			if err == nil {
				s.audit(r, "merchant.create", id, audit.Success, map[string]string{"country": body.Country})
			}
			return st, false, err
		},
		answer: func(w http.ResponseWriter, st schemas.OnboardingState, replayed bool) error {
			writeCreated(w, st, replayed)
			return nil
		},
		pending: func() schemas.OnboardingState {
			return schemas.OnboardingState{Merchant: id, Status: schemas.MerchantOnboarding}
		},
	})
}

// onboardingState reads the merchant's recorded onboarding, or pg.ErrNotFound.
func (s *server) onboardingState(ctx context.Context, merchantID string) (schemas.OnboardingState, error) {
	m, err := s.onboarded(ctx, merchantID)
	if err != nil {
		return schemas.OnboardingState{}, err
	}
	return *m.Onboarding, nil
}

// onboarded reads a merchant whose onboarding has recorded its state, or pg.ErrNotFound.
func (s *server) onboarded(ctx context.Context, merchantID string) (merchants.Record, error) {
	m, err := merchants.Get(ctx, s.pool, merchantID)
	if err == nil && m.Onboarding == nil {
		err = pg.ErrNotFound
	}
	return m, err
}

// getMerchant is GET /v1/merchants/{id}: the onboarding's state and what is still missing,
// for operators, and for the merchant itself (another merchant's is as missing as none).
func (s *server) getMerchant(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	who := principalFrom(ctx)
	notFound := newError(codeResourceMissing, "id", "No such merchant: '"+id+"'")
	if who.MerchantID != "" && who.MerchantID != id {
		return notFound
	}
	st, err := s.onboardingState(ctx, id)
	if errors.Is(err, pg.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// reviewBody is POST /v1/admin/merchants/{id}/approve, .../reject and .../retry.
type reviewBody struct {
	Reason string `json:"reason"`
}

func (s *server) approveMerchant(w http.ResponseWriter, r *http.Request) error {
	return s.reviewMerchant(w, r, schemas.DecisionApprove)
}

func (s *server) rejectMerchant(w http.ResponseWriter, r *http.Request) error {
	return s.reviewMerchant(w, r, schemas.DecisionReject)
}

// retryMerchantStep runs again the Stripe step an onboarding is parked on (its attention).
func (s *server) retryMerchantStep(w http.ResponseWriter, r *http.Request) error {
	return s.reviewMerchant(w, r, schemas.DecisionRetry)
}

func (s *server) reviewMerchant(w http.ResponseWriter, r *http.Request, decision string) error {
	ctx := r.Context()
	var body reviewBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Reason) > maxReasonLength {
		return newError(codeParameterInvalid, "reason", "reason must be at most 500 characters.")
	}
	id := mux.Vars(r)["id"]
	who := principalFrom(ctx)
	d := schemas.ReviewDecision{Decision: decision, Operator: who.operator(), Reason: body.Reason}
	return s.idempotently(w, r, fingerprint(decision, id, body), func(r *http.Request) (int, any, error) {
		ctx := r.Context()
		if _, err := s.onboardingState(ctx, id); errors.Is(err, pg.ErrNotFound) {
			return 0, nil, newError(codeResourceMissing, "id", "No such merchant: '"+id+"'")
		}
		if decision == schemas.DecisionApprove {
			if err := s.fourEyes(ctx, id, who.id()); err != nil {
				return 0, nil, err
			}
		}
		waitCtx, cancel := context.WithTimeout(ctx, s.cfg.CreateTimeout)
		defer cancel()
		st, err := s.workflows.ReviewMerchant(waitCtx, id, d)
		switch {
		case workflowRefusal(err) != nil:
			return 0, nil, workflowRefusal(err)
		case errors.Is(err, errWorkflowClosed):
			return 0, nil, newError(codeMerchantNotReviewable, "", "This merchant's onboarding has ended.")
		case err != nil:
			return 0, nil, unavailable("Onboarding is temporarily unavailable."+retrySameKey, err)
		}
		s.audit(r, "merchant."+decision+".requested", id, audit.Success, map[string]string{"reason": body.Reason})
		return http.StatusOK, st, nil
	})
}

// fourEyes refuses the approval of a merchant by the staff member who created or invited it:
// bringing a merchant in and letting it take payments are two people's decisions.
func (s *server) fourEyes(ctx context.Context, merchantID, approver string) error {
	m, err := merchants.Get(ctx, s.pool, merchantID)
	if err != nil {
		return err
	}
	if approver == m.CreatedBy || approver == m.InvitedBy {
		return newError(codeFourEyesRequired, "", "You created or invited this merchant: another operator must approve it.")
	}
	return nil
}

// inviteTTL is how long a sign-up invitation works.
const inviteTTL = 7 * 24 * time.Hour

// createInvite is POST /v1/admin/invites: a single-use token a prospective merchant signs up
// with; shown once, stored hashed.
func (s *server) createInvite(w http.ResponseWriter, r *http.Request) error {
	inv, err := merchants.CreateInvite(r.Context(), s.pool, principalFrom(r.Context()).id(), inviteTTL)
	if err != nil {
		return err
	}
	s.audit(r, "invite.create", hex.EncodeToString(merchants.InviteHash(inv.Token)[:6]), audit.Success, nil)
	writeJSON(w, http.StatusCreated, map[string]any{"object": "invite", "token": inv.Token, "expires": inv.Expires})
	return nil
}

// onboardingPage answers the merchant's browser when Stripe sends it back: KYC sent, or the
// link expired (a fresh one comes by email).
func (s *server) onboardingPage(message string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, err := fmt.Fprintf(w, "<!doctype html><title>Durapay</title><p>%s</p>\n", message)
		return err
	}
}
