package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

const onboardingMerchant = "mer_onboard"

// onboardingHarness runs OnboardingWorkflow with a fake Connect account behind its
// activities.
type onboardingHarness struct {
	*testsuite.TestWorkflowEnvironment
	account   schemas.ConnectAccount
	links     []schemas.CreateAccountLinkRequest
	events    []string
	audits    []schemas.AuditRecord
	activated int
	// failures makes the next Stripe calls fail with a non-retryable idempotency error;
	// linkFailures the next account links only.
	failures, linkFailures int
}

func (h *onboardingHarness) stripeFailure() error {
	if h.failures == 0 {
		return nil
	}
	h.failures--
	return temporal.NewNonRetryableApplicationError("Keys for idempotent requests can only be used with the same parameters", schemas.ErrTypeStripeIdempotency, nil)
}

func newOnboardingHarness(t *testing.T) *onboardingHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.OnboardingWorkflow, workflow.RegisterOptions{Name: schemas.OnboardingWorkflowName})
	o, a, e := &activities.Onboarding{}, &activities.Audit{}, &activities.Events{}
	for name, fn := range map[string]any{
		schemas.CreateMerchantName: o.CreateMerchant, schemas.RecordOnboardingName: o.RecordOnboarding,
		schemas.CreateConnectAccountName: o.CreateConnectAccount, schemas.CreateAccountLinkName: o.CreateAccountLink,
		schemas.RetrieveAccountName: o.RetrieveAccount, schemas.ActivateMerchantName: o.ActivateMerchant,
		schemas.RecordAuditName: a.RecordAudit, schemas.PublishEventName: e.PublishEvent,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: schemas.OnboardingWorkflowID(onboardingMerchant)})
	h := &onboardingHarness{TestWorkflowEnvironment: env,
		account: schemas.ConnectAccount{ID: "acct_1", CurrentlyDue: []string{"external_account", "tos_acceptance.date"}}}
	env.OnActivity(schemas.CreateMerchantName, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(schemas.RecordOnboardingName, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(schemas.CreateConnectAccountName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.CreateConnectAccountRequest) (schemas.ConnectAccount, error) {
			return h.account, h.stripeFailure()
		}).Maybe()
	env.OnActivity(schemas.RetrieveAccountName, mock.Anything, mock.Anything).Return(
		func(context.Context, string) (schemas.ConnectAccount, error) { return h.account, nil }).Maybe()
	env.OnActivity(schemas.CreateAccountLinkName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CreateAccountLinkRequest) (schemas.AccountLink, error) {
			if err := h.stripeFailure(); err != nil {
				return schemas.AccountLink{}, err
			}
			if h.linkFailures > 0 {
				h.linkFailures--
				return schemas.AccountLink{}, temporal.NewNonRetryableApplicationError("same key, other parameters", schemas.ErrTypeStripeIdempotency, nil)
			}
			h.links = append(h.links, req)
			return schemas.AccountLink{URL: "https://connect.example/link", ExpiresAt: 1}, nil
		}).Maybe()
	env.OnActivity(schemas.ActivateMerchantName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.ActivateMerchantRequest) (string, error) {
			h.activated++
			return "key_new", nil
		}).Maybe()
	env.OnActivity(schemas.RecordAuditName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e schemas.AuditRecord) error { h.audits = append(h.audits, e); return nil }).Maybe()
	env.OnActivity(schemas.PublishEventName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.PublishEventRequest) error {
			raw, _ := json.Marshal(req.Event)
			if err := schemas.ValidateEvent(raw); err != nil {
				t.Errorf("%s does not match its schema: %v", req.Event.Type, err)
			}
			h.events = append(h.events, req.Event.Type)
			return nil
		}).Maybe()
	return h
}

func onboardingInput() schemas.OnboardingInput {
	return schemas.OnboardingInput{MerchantID: onboardingMerchant, Country: "US", BusinessType: "company",
		SealedProfile: []byte("sealed"), Policy: schemas.OnboardingPolicy{RefreshURL: "https://x/refresh", ReturnURL: "https://x/return"}}
}

// accountUpdated makes Stripe's account change at a time, and signals it.
func (h *onboardingHarness) accountUpdated(at time.Duration, id string, acct schemas.ConnectAccount) {
	h.RegisterDelayedCallback(func() {
		h.account = acct
		h.SignalWorkflow(schemas.SignalStripeEvent, schemas.StripeEventSignal{EventID: id, Type: "account.updated", ObjectID: "acct_1"})
	}, at)
}

func (h *onboardingHarness) decide(at time.Duration, d schemas.ReviewDecision) *reviewAnswer {
	out := &reviewAnswer{}
	h.RegisterDelayedCallback(func() {
		h.UpdateWorkflow(schemas.UpdateReviewMerchant, d.Decision+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err = err },
			OnComplete: func(v any, err error) {
				out.err = err
				if err == nil {
					out.state = v.(schemas.OnboardingState)
				}
			},
		}, d)
	}, at)
	return out
}

type reviewAnswer struct {
	state schemas.OnboardingState
	err   error
}

func (h *onboardingHarness) final(t *testing.T) schemas.OnboardingState {
	t.Helper()
	var st schemas.OnboardingState
	if err := h.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// Four eyes: the staff member who created the merchant, or who invited it, cannot approve it
// (a decision from the Temporal UI declares who sends it); another operator can.
func TestOnboardingApprovedByAnotherOperator(t *testing.T) {
	h := newOnboardingHarness(t)
	h.accountUpdated(time.Hour, "evt_done", schemas.ConnectAccount{ID: "acct_1", ChargesEnabled: true, CurrentlyDue: []string{}})
	byCreator := h.decide(2*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "staff:key_creator (Ann)"})
	byInviter := h.decide(3*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "oidc:inviter"})
	byOther := h.decide(4*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "staff:key_other (Bob)"})
	in := onboardingInput()
	in.CreatedBy, in.InvitedBy = "staff:key_creator", "oidc:inviter"
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, in)
	for name, d := range map[string]*reviewAnswer{"creator": byCreator, "inviter": byInviter} {
		var appErr *temporal.ApplicationError
		if !errors.As(d.err, &appErr) || appErr.Type() != schemas.ErrTypeMerchantNotReviewable {
			t.Errorf("approval by the %s: %+v %v, want it refused", name, d.state.Status, d.err)
		}
	}
	if byOther.err != nil || byOther.state.Status != schemas.MerchantActive {
		t.Fatalf("approval by another operator: %+v %v", byOther.state, byOther.err)
	}
}

// Thirty days of onboarding, time-skipped: reminders on days 1 and 3, Stripe asking for more
// on day 2, KYC complete on day 5, an early approval refused, then approved on day 6.
func TestOnboardingToActivation(t *testing.T) {
	h := newOnboardingHarness(t)
	day := 24 * time.Hour
	h.accountUpdated(2*day, "evt_more", schemas.ConnectAccount{ID: "acct_1", CurrentlyDue: []string{"external_account", "company.tax_id"}})
	h.accountUpdated(2*day+time.Hour, "evt_more", schemas.ConnectAccount{ID: "acct_1", CurrentlyDue: []string{"external_account", "company.tax_id"}}) // a duplicate
	early := h.decide(4*day, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "ops@durapay"})
	h.accountUpdated(5*day, "evt_done", schemas.ConnectAccount{ID: "acct_1", ChargesEnabled: true, CurrentlyDue: []string{}})
	approved := h.decide(6*day, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "oidc:ada", Reason: "KYC reviewed"})
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	final := h.final(t)

	var appErr *temporal.ApplicationError
	if !errors.As(early.err, &appErr) || appErr.Type() != schemas.ErrTypeMerchantNotReviewable {
		t.Errorf("approval before KYC: %v", early.err)
	}
	if approved.err != nil || approved.state.Status != schemas.MerchantActive || approved.state.SecretKeyID != "key_new" {
		t.Fatalf("approval answered %+v %v", approved.state, approved.err)
	}
	want := []string{schemas.EventMerchantOnboardingStarted, schemas.EventMerchantReminder, schemas.EventMerchantOnboardingLink,
		schemas.EventMerchantReminder, schemas.EventMerchantKYCCompleted, schemas.EventMerchantActivated}
	if diff := cmp.Diff(want, h.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if final.Status != schemas.MerchantActive || final.RemindersSent != 2 || final.Links != 4 || final.DecidedBy != "oidc:ada" || h.activated != 1 {
		t.Errorf("final %+v, activated %d times", final, h.activated)
	}
	for i, l := range h.links {
		if want := schemas.OnboardingWorkflowID(onboardingMerchant) + "/account_link/" + string(rune('1'+i)); l.IdempotencyKey != want {
			t.Errorf("link %d key %q, want %q", i, l.IdempotencyKey, want)
		}
	}
	if len(h.audits) != 1 || h.audits[0].Actor != "oidc:ada" || h.audits[0].Action != "merchant.approve" {
		t.Errorf("audit %+v", h.audits)
	}
}

// Nobody finishes KYC: three reminders, then the onboarding expires after 30 days. (The
// end-to-end tests count such an onboarding's history events on the real server.)
func TestOnboardingExpires(t *testing.T) {
	h := newOnboardingHarness(t)
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	final := h.final(t)
	want := []string{schemas.EventMerchantOnboardingStarted, schemas.EventMerchantReminder, schemas.EventMerchantReminder,
		schemas.EventMerchantReminder, schemas.EventMerchantExpired}
	if diff := cmp.Diff(want, h.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if final.Status != schemas.MerchantExpired || final.RemindersSent != 3 {
		t.Fatalf("final %+v", final)
	}
}

func TestOnboardingRejected(t *testing.T) {
	h := newOnboardingHarness(t)
	noReason := h.decide(time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionReject, Operator: "ops"})
	h.decide(2*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionReject, Operator: "ops", Reason: "prohibited business"})
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	final := h.final(t)
	if noReason.err == nil || final.Status != schemas.MerchantRejected || final.Reason != "prohibited business" || h.activated != 0 {
		t.Fatalf("final %+v, refused-without-reason %v, activated %d", final, noReason.err, h.activated)
	}
	if h.events[len(h.events)-1] != schemas.EventMerchantRejected {
		t.Errorf("events %v", h.events)
	}
}

// A Stripe step that retries cannot fix parks the onboarding for an operator instead of
// failing the workflow: the state says why, approval is refused while it waits, and a retry
// runs the step again (twice here, as it fails once more).
func TestOnboardingParksUntilAnOperatorRetries(t *testing.T) {
	h := newOnboardingHarness(t)
	h.failures = 2 // the Connect account, twice
	firstPark, secondPark := h.queryAt(t, time.Hour), h.queryAt(t, 3*time.Hour+time.Minute)
	approve := h.decide(2*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionApprove, Operator: "ops"})
	retry1 := h.decide(3*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionRetry, Operator: "ops", Reason: "Stripe fixed"})
	retry2 := h.decide(4*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionRetry, Operator: "ops"})
	late := h.decide(5*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionRetry, Operator: "ops"})
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	final := h.final(t) // expires after 30 days, with no workflow failure on the way

	if a := firstPark.Attention; a == nil || a.Step != "create_account" || a.ErrorType != schemas.ErrTypeStripeIdempotency || firstPark.Status != schemas.MerchantOnboarding {
		t.Errorf("parked state %+v, attention %+v", firstPark, a)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(approve.err, &appErr) || appErr.Type() != schemas.ErrTypeMerchantNotReviewable {
		t.Errorf("approval while parked: %v", approve.err)
	}
	// A retry answers once it is under way (the attention cleared); the step may park again.
	if retry1.err != nil || retry1.state.Attention != nil || retry2.err != nil {
		t.Errorf("retries answered %+v %v, %v", retry1.state.Attention, retry1.err, retry2.err)
	}
	if a := secondPark.Attention; a == nil || a.Step != "create_account" || firstPark.Attention != nil && a.Since <= firstPark.Attention.Since {
		t.Errorf("after the first retry: attention %+v; want it parked again", a)
	}
	if !errors.As(late.err, &appErr) {
		t.Errorf("a retry with nothing parked: %v", late.err)
	}
	if final.Status != schemas.MerchantExpired || final.Attention != nil || h.events[0] != schemas.EventMerchantOnboardingStarted {
		t.Errorf("final %+v, events %v", final, h.events)
	}
	if len(h.audits) != 2 || h.audits[0].Action != "merchant.retry" || h.audits[0].Details["reason"] != "Stripe fixed" {
		t.Errorf("audit %+v", h.audits)
	}
}

// queryAt returns what the Onboarding query answers at a time, once the workflow has run.
func (h *onboardingHarness) queryAt(t *testing.T, at time.Duration) *schemas.OnboardingState {
	st := &schemas.OnboardingState{}
	h.RegisterDelayedCallback(func() {
		v, err := h.QueryWorkflow(schemas.QueryOnboarding)
		if err == nil {
			err = v.Get(st)
		}
		if err != nil {
			t.Error(err)
		}
	}, at)
	return st
}

// An operator's retry of a KYC link takes a fresh idempotency key: under the old one Stripe
// would repeat its idempotency error for a day.
func TestOnboardingLinkRetryTakesAFreshKey(t *testing.T) {
	h := newOnboardingHarness(t)
	h.linkFailures = 1
	h.decide(time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionRetry, Operator: "ops"})
	h.decide(2*time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionReject, Operator: "ops", Reason: "test over"})
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	h.final(t)
	want := schemas.OnboardingWorkflowID(onboardingMerchant) + "/account_link/1/retry/1"
	if len(h.links) != 1 || h.links[0].IdempotencyKey != want {
		t.Errorf("links %+v, want one, with key %s", h.links, want)
	}
}

// Rejecting a parked onboarding ends it: merchant.rejected, and a workflow that completes.
func TestOnboardingParkedThenRejected(t *testing.T) {
	h := newOnboardingHarness(t)
	h.failures = 1
	h.decide(time.Hour, schemas.ReviewDecision{Decision: schemas.DecisionReject, Operator: "ops", Reason: "cannot be set up"})
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	final := h.final(t)
	if final.Status != schemas.MerchantRejected || final.Attention != nil || h.activated != 0 {
		t.Fatalf("final %+v", final)
	}
	if diff := cmp.Diff([]string{schemas.EventMerchantRejected}, h.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// Past its history bound (a flood of Stripe events, say), the workflow continues as new,
// with its state.
func TestOnboardingContinuesAsNew(t *testing.T) {
	h := newOnboardingHarness(t)
	h.RegisterDelayedCallback(func() { h.SetCurrentHistoryLength(2500) }, time.Hour)
	h.accountUpdated(2*time.Hour, "evt_late", h.account)
	h.ExecuteWorkflow(workflows.OnboardingWorkflow, onboardingInput())
	var cont *workflow.ContinueAsNewError
	if err := h.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("workflow ended with %v, want a continue-as-new", err)
	}
	var next schemas.OnboardingInput
	if err := (converterFor()).FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.StripeAccountID != "acct_1" || next.State.Links != 1 || next.EventSeq != 1 {
		t.Fatalf("carried state %+v seq %d", next.State, next.EventSeq)
	}
}

func converterFor() converter.DataConverter { return converter.GetDefaultDataConverter() }
