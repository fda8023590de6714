package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// Four eyes: the operator who created a merchant, or the admin who invited it, cannot approve
// it; another operator can.
func TestApprovalNeedsFourEyes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	staff := func(name, role string) (string, string) {
		key, k, err := merchants.IssueStaffKey(ctx, f.srv.pool, name, time.Hour, role)
		if err != nil {
			t.Fatal(err)
		}
		return key, "staff:" + k.ID
	}
	creatorKey, creator := staff("creator", merchants.RoleOperator)
	inviterKey, inviter := staff("inviter", merchants.RoleAdmin)
	otherKey, _ := staff("other", merchants.RoleOperator)
	const id = "mer_fourEyes"
	if _, err := f.srv.pool.Exec(ctx, `INSERT INTO merchants (id, name, status, onboarding, created_by, invited_by)
		VALUES ($1, '', 'pending_review', '{"merchant":"mer_fourEyes","status":"pending_review"}', $2, $3)`, id, creator, inviter); err != nil {
		t.Fatal(err)
	}
	for who, key := range map[string]string{"creator": creatorKey, "inviter": inviterKey} {
		if r := f.do(t, http.MethodPost, "/v1/admin/merchants/"+id+"/approve", key, "", ""); r.status != http.StatusForbidden || r.errorCode() != codeFourEyesRequired {
			t.Errorf("approval by the %s: %d %s", who, r.status, r.raw)
		}
	}
	// Past the check, the (fake) workflow answers that the onboarding has ended.
	if r := f.do(t, http.MethodPost, "/v1/admin/merchants/"+id+"/approve", otherKey, "", ""); r.errorCode() != codeMerchantNotReviewable {
		t.Errorf("approval by another operator: %d %s", r.status, r.raw)
	}
}

// A sign-up with an invitation that fails after spending it (the workflow unreachable: 503)
// can be retried with the same key: the invitation is not burned; and the merchant records
// who invited it.
func TestInvitationSurvivesAFailedSignUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	adminKey, admin, err := merchants.IssueStaffKey(context.Background(), f.srv.pool, "admin", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	invite := f.do(t, http.MethodPost, "/v1/admin/invites", adminKey, "", "")
	token, _ := invite.body["token"].(string)
	if invite.status != http.StatusCreated || token == "" {
		t.Fatalf("invite: %d %s", invite.status, invite.raw)
	}
	var started []schemas.OnboardingInput
	f.workflows.startOnboarding = func(in schemas.OnboardingInput) (schemas.OnboardingState, error) {
		started = append(started, in)
		if len(started) == 1 {
			return schemas.OnboardingState{}, errors.New("temporal unreachable")
		}
		return schemas.OnboardingState{Merchant: in.MerchantID, Status: schemas.MerchantOnboarding}, nil
	}
	body := `{"legal_name":"Invited Ltd","country":"GB","contact_email":"a@invited.example","contact_phone":"+44 20 7946 0002","business_type":"company"}`
	if r := f.do(t, http.MethodPost, "/v1/merchants", "", "signup-1", body, inviteHeader, token); r.status != http.StatusServiceUnavailable {
		t.Fatalf("first try: %d %s", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/merchants", "", "signup-1", body, inviteHeader, token); r.status != http.StatusCreated {
		t.Fatalf("the retry: %d %s; want the invitation still good for this sign-up", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/merchants", "", "signup-2", body, inviteHeader, token); r.status != http.StatusForbidden {
		t.Fatalf("another sign-up with the spent invitation: %d %s", r.status, r.raw)
	}
	if len(started) != 2 || started[1].InvitedBy != "staff:"+admin.ID {
		t.Fatalf("onboardings started %+v, want the inviter named", started)
	}
}
