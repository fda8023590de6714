package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// OnboardingWorkflow takes a merchant from sign-up to activation, over days or weeks.
//
// It creates the merchant and its Stripe Connect account, and sends the merchant a KYC link
// (as merchant.* events, which the notification service turns into emails). It follows
// Stripe's account.updated events until charges are enabled, sends a fresh link whenever
// Stripe asks for more, reminds the merchant on a schedule (1, 3 and 7 days) and gives up
// after 30 days. Then an operator approves or rejects (an update, from the admin API or the
// Temporal UI); approval issues the merchant's API key and opens its ledger accounts.
//
// A long onboarding keeps its history short: past a bound it continues as new with its
// state.
func OnboardingWorkflow(ctx workflow.Context, in schemas.OnboardingInput) (schemas.OnboardingState, error) {
	o, err := newOnboarding(ctx, in)
	if err != nil {
		return schemas.OnboardingState{}, err
	}
	return o.run(ctx)
}

type onboarding struct {
	in         schemas.OnboardingInput
	workflowID string
	logger     log.Logger

	state        schemas.OnboardingState
	stripeEvents []schemas.StripeEventSignal
	seenEvents   map[string]bool
	// decision is an operator's, waiting to be applied; applying is set while it is.
	decision *schemas.ReviewDecision
	applying bool
	events   outbox

	reminder, expiry deadline
}

func newOnboarding(ctx workflow.Context, in schemas.OnboardingInput) (*onboarding, error) {
	o := &onboarding{
		in:         in,
		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		logger:     log.With(workflow.GetLogger(ctx), "MerchantID", in.MerchantID),
		seenEvents: map[string]bool{},
		events:     outbox{topic: schemas.TopicMerchants, key: in.MerchantID, schemaVersion: schemas.MerchantEventSchemaVersion},
	}
	if len(o.in.Policy.Reminders) == 0 {
		o.in.Policy.Reminders = schemas.DefaultOnboardingReminders
	}
	if o.in.Policy.Expiry <= 0 {
		o.in.Policy.Expiry = schemas.DefaultOnboardingExpiry
	}
	if o.in.Policy.ContinueAsNewAfter <= 0 {
		o.in.Policy.ContinueAsNewAfter = schemas.DefaultContinueAsNewAfter
	}
	if err := workflow.SetQueryHandler(ctx, schemas.QueryOnboarding, func() (schemas.OnboardingState, error) { return o.state, nil }); err != nil {
		return nil, fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, schemas.UpdateReviewMerchant, o.review,
		workflow.UpdateHandlerOptions{Validator: o.validateReview}); err != nil {
		return nil, fmt.Errorf("register update: %w", err)
	}
	if err := workflow.SetUpdateHandler(ctx, schemas.UpdateOnboardingStarted, func(ctx workflow.Context) (schemas.OnboardingState, error) {
		err := workflow.Await(ctx, func() bool { return o.state.Links > 0 || o.state.Status.Final() || o.state.Attention != nil })
		return o.state, err
	}); err != nil {
		return nil, fmt.Errorf("register update: %w", err)
	}
	bufferStripeEvents(ctx, &o.stripeEvents)
	receiveValid(ctx, schemas.SignalReviewMerchant, o.validateReview, o.logger, func(d schemas.ReviewDecision) { o.decision = &d })
	return o, nil
}

func (o *onboarding) run(ctx workflow.Context) (schemas.OnboardingState, error) {
	if o.in.State != nil {
		o.state = *o.in.State
	} else if err := o.start(ctx); err != nil && !errors.Is(err, errRejectedWhileParked) {
		return o.state, err
	}
	o.expiry.set(ctx, timeOf(o.state.ExpiresAt))
	for !o.state.Status.Final() {
		if err := o.events.publish(ctx); err != nil {
			return o.state, err
		}
		if o.historyFull(ctx) {
			next := o.in
			next.State = &o.state
			o.logger.Info("Continuing as new to keep the history short", "HistoryLength", workflow.GetInfo(ctx).GetCurrentHistoryLength())
			return o.state, workflow.NewContinueAsNewError(ctx, OnboardingWorkflow, next)
		}
		o.armReminder(ctx)
		if err := workflow.Await(ctx, func() bool {
			return o.decision != nil || len(o.stripeEvents) > 0 || o.expiry.fired || o.reminder.fired
		}); err != nil {
			return o.state, err
		}
		var err error
		switch {
		case o.decision != nil:
			err = o.decide(ctx)
		case len(o.stripeEvents) > 0:
			ev := o.stripeEvents[0]
			o.stripeEvents = o.stripeEvents[1:]
			err = o.applyStripeEvent(ctx, ev)
		case o.expiry.fired:
			err = o.change(ctx, schemas.EventMerchantExpired, func(s *schemas.OnboardingState) { s.Status = schemas.MerchantExpired })
		default:
			err = o.remind(ctx)
		}
		if err != nil && !errors.Is(err, errRejectedWhileParked) {
			return o.state, err
		}
	}
	o.reminder.stop()
	o.expiry.stop()
	if err := o.events.publish(ctx); err != nil {
		return o.state, err
	}
	return o.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// start creates the merchant and its Connect account, and sends the first link.
func (o *onboarding) start(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	o.state = schemas.OnboardingState{Merchant: o.in.MerchantID, Status: schemas.MerchantOnboarding, CurrentlyDue: []string{},
		Started: now.Unix(), ExpiresAt: now.Add(o.in.Policy.Expiry).Unix()}
	if err := activities.ExecCreateMerchant(workflow.WithLocalActivityOptions(ctx, dbWrite),
		schemas.CreateMerchantRequest{Input: o.in, WorkflowID: o.workflowID}); err != nil {
		return err
	}
	var acct schemas.ConnectAccount
	// The same key on an operator's retry: a new one could open a second Connect account.
	err := o.stripe("create_account").run(ctx, func(ctx workflow.Context, _ int) (err error) {
		acct, err = activities.ExecCreateConnectAccount(ctx, schemas.CreateConnectAccountRequest{
			IdempotencyKey: o.workflowID + "/create_account", MerchantID: o.in.MerchantID, WorkflowID: o.workflowID,
			Country: o.in.Country, BusinessType: o.in.BusinessType})
		return err
	})
	if err != nil {
		return fmt.Errorf("create Connect account: %w", err)
	}
	o.state.StripeAccountID, o.state.ChargesEnabled, o.state.CurrentlyDue = acct.ID, acct.ChargesEnabled, acct.CurrentlyDue
	return o.sendLink(ctx, schemas.EventMerchantOnboardingStarted)
}

// sendLink creates a fresh KYC link (Stripe's expire within minutes) and announces it.
func (o *onboarding) sendLink(ctx workflow.Context, eventType string) error {
	var link schemas.AccountLink
	// A link is cheap and expires within minutes: an operator's retry takes a fresh key.
	err := o.stripe("create_account_link").run(ctx, func(ctx workflow.Context, retries int) (err error) {
		key := o.workflowID + "/account_link/" + strconv.Itoa(o.state.Links+1)
		if retries > 0 {
			key += "/retry/" + strconv.Itoa(retries)
		}
		link, err = activities.ExecCreateAccountLink(ctx, schemas.CreateAccountLinkRequest{
			IdempotencyKey: key, AccountID: o.state.StripeAccountID,
			RefreshURL: o.in.Policy.RefreshURL, ReturnURL: o.in.Policy.ReturnURL})
		return err
	})
	if err != nil {
		return fmt.Errorf("create account link: %w", err)
	}
	return o.change(ctx, eventType, func(s *schemas.OnboardingState) {
		s.LinkURL, s.LinkExpires = link.URL, link.ExpiresAt
		s.Links++
	})
}

// applyStripeEvent follows the Connect account: it reads the account rather than trusting
// the event, so duplicates and reordering change nothing.
func (o *onboarding) applyStripeEvent(ctx workflow.Context, ev schemas.StripeEventSignal) error {
	if o.seenEvents[ev.EventID] || ev.ObjectID != o.state.StripeAccountID {
		return nil
	}
	o.seenEvents[ev.EventID] = true
	var acct schemas.ConnectAccount
	err := o.stripe("retrieve_account").run(ctx, func(ctx workflow.Context, _ int) (err error) {
		acct, err = activities.ExecRetrieveAccount(ctx, o.state.StripeAccountID)
		return err
	})
	if err != nil {
		return fmt.Errorf("read Connect account: %w", err)
	}
	asksMore := slices.ContainsFunc(acct.CurrentlyDue, func(item string) bool { return !slices.Contains(o.state.CurrentlyDue, item) })
	switch {
	case o.state.Status == schemas.MerchantOnboarding && acct.ChargesEnabled:
		return o.change(ctx, schemas.EventMerchantKYCCompleted, func(s *schemas.OnboardingState) {
			s.Status, s.ChargesEnabled, s.CurrentlyDue = schemas.MerchantPendingReview, true, acct.CurrentlyDue
		})
	case !acct.ChargesEnabled && (asksMore || o.state.Status == schemas.MerchantPendingReview):
		// Stripe needs more (and may have disabled charges again): back to KYC, fresh link.
		o.state.Status, o.state.ChargesEnabled, o.state.CurrentlyDue = schemas.MerchantOnboarding, false, acct.CurrentlyDue
		return o.sendLink(ctx, schemas.EventMerchantOnboardingLink)
	default:
		return o.change(ctx, "", func(s *schemas.OnboardingState) {
			s.ChargesEnabled, s.CurrentlyDue = acct.ChargesEnabled, acct.CurrentlyDue
		})
	}
}

// armReminder sets the timer of the next reminder, while KYC is under way.
func (o *onboarding) armReminder(ctx workflow.Context) {
	if o.state.Status != schemas.MerchantOnboarding || o.state.RemindersSent >= len(o.in.Policy.Reminders) {
		o.reminder.stop()
		o.reminder.fired = false
		return
	}
	o.reminder.set(ctx, timeOf(o.state.Started).Add(o.in.Policy.Reminders[o.state.RemindersSent]))
}

func (o *onboarding) remind(ctx workflow.Context) error {
	o.state.RemindersSent++
	return o.sendLink(ctx, schemas.EventMerchantReminder)
}

func (o *onboarding) validateReview(_ workflow.Context, d schemas.ReviewDecision) error {
	refuse := func(msg string) error {
		return temporal.NewNonRetryableApplicationError(msg, schemas.ErrTypeMerchantNotReviewable, nil)
	}
	switch {
	case d.Decision != schemas.DecisionApprove && d.Decision != schemas.DecisionReject && d.Decision != schemas.DecisionRetry:
		return refuse(fmt.Sprintf("decision must be %q, %q or %q", schemas.DecisionApprove, schemas.DecisionReject, schemas.DecisionRetry))
	case o.decision != nil || o.applying:
		return refuse("Another decision on this merchant is being applied.")
	case o.state.Status.Final():
		return refuse(fmt.Sprintf("This merchant is %s already.", o.state.Status))
	case d.Decision == schemas.DecisionRetry && o.state.Attention == nil:
		return refuse("Nothing to retry: this onboarding is not waiting for an operator.")
	case d.Decision == schemas.DecisionApprove && o.state.Attention != nil:
		return refuse("This onboarding waits for an operator on a failed Stripe step: retry it or reject the merchant.")
	case d.Decision == schemas.DecisionApprove && o.state.Status != schemas.MerchantPendingReview:
		return refuse("This merchant cannot be approved before Stripe has enabled its charges (KYC incomplete).")
	case d.Decision == schemas.DecisionApprove && o.broughtInBy(d.Operator):
		return refuse("The operator who created or invited this merchant cannot approve it: another operator must.")
	case d.Decision == schemas.DecisionReject && d.Reason == "":
		return refuse("A rejection needs a reason.")
	}
	return nil
}

// broughtInBy says whether the operator (as a decision names one: "id" or "id (name)")
// created or invited the merchant.
func (o *onboarding) broughtInBy(operator string) bool {
	id, _, _ := strings.Cut(operator, " (")
	return id != "" && (id == o.in.CreatedBy || id == o.in.InvitedBy)
}

// review hands the decision to the main loop and answers with the state it leads to.
func (o *onboarding) review(ctx workflow.Context, d schemas.ReviewDecision) (schemas.OnboardingState, error) {
	o.decision = &d
	err := workflow.Await(ctx, func() bool { return o.decision == nil && !o.applying })
	return o.state, err
}

// decide applies an operator's decision, and records it in the audit log: decisions sent
// from the Temporal UI reach no API handler that could.
func (o *onboarding) decide(ctx workflow.Context) error {
	d := *o.decision
	o.decision, o.applying = nil, true
	defer func() { o.applying = false }()
	now := workflow.Now(ctx)
	if err := activities.ExecRecordAudit(workflow.WithLocalActivityOptions(ctx, dbWrite), schemas.AuditRecord{At: now, Actor: d.Operator,
		Action: "merchant." + d.Decision, Resource: o.in.MerchantID, Outcome: schemas.AuditSuccess, Remote: "workflow " + o.workflowID,
		Details: map[string]string{"reason": d.Reason}}); err != nil {
		return err
	}
	switch d.Decision {
	case schemas.DecisionRetry:
		return o.change(ctx, "", func(*schemas.OnboardingState) {}) // records the attention cleared
	case schemas.DecisionReject:
		return o.change(ctx, schemas.EventMerchantRejected, func(s *schemas.OnboardingState) {
			s.Status, s.DecidedBy, s.Reason, s.Decided = schemas.MerchantRejected, d.Operator, d.Reason, now.Unix()
		})
	}
	keyID, err := activities.ExecActivateMerchant(workflow.WithLocalActivityOptions(ctx, dbWrite),
		schemas.ActivateMerchantRequest{MerchantID: o.in.MerchantID, Country: o.in.Country})
	if err != nil {
		return err
	}
	return o.change(ctx, schemas.EventMerchantActivated, func(s *schemas.OnboardingState) {
		s.Status, s.DecidedBy, s.Reason, s.Decided, s.SecretKeyID = schemas.MerchantActive, d.Operator, d.Reason, now.Unix(), keyID
	})
}

// change applies a change, records the state on the merchant and queues its event.
func (o *onboarding) change(ctx workflow.Context, eventType string, mutate func(*schemas.OnboardingState)) error {
	mutate(&o.state)
	if err := activities.ExecRecordOnboarding(workflow.WithLocalActivityOptions(ctx, dbWrite), o.state); err != nil {
		return err
	}
	if eventType == "" {
		return nil
	}
	o.in.EventSeq++
	return o.events.add(o.in.MerchantID, o.in.EventSeq, workflow.Now(ctx), o.in.MerchantID, o.state, eventType)
}

// historyFull says when to continue as new: past the bound, and with nothing in flight
// that the new run would not know about.
func (o *onboarding) historyFull(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetCurrentHistoryLength() > o.in.Policy.ContinueAsNewAfter &&
		o.decision == nil && len(o.stripeEvents) == 0 && workflow.AllHandlersFinished(ctx)
}

// errRejectedWhileParked unwinds a parked step that an operator answered by rejecting the
// merchant: the onboarding has ended, which is no failure of the workflow.
var errRejectedWhileParked = errors.New("merchant rejected while a Stripe step waited for an operator")

// stripe is a Stripe step of the onboarding. A failure its retries could not fix (the retry
// budget spent, an idempotency error, a request Stripe refuses) parks the onboarding instead
// of failing the workflow, which would strand a merchant half set up: the state says why
// (GET /v1/merchants/{id}, the Onboarding query), and an operator retries the step or
// rejects the merchant (errRejectedWhileParked).
//
// The call gets the number of operator retries so far, for the steps that can safely take a
// fresh idempotency key on a retry (an idempotency error repeats under the same key for
// Stripe's 24 hours).
func (o *onboarding) stripe(step string) stripeStep {
	return stripeStep{name: step, options: stripeOptions(schemas.DefaultStripeRetryBudget),
		parks: func(ctx workflow.Context) bool {
			return workflow.GetVersion(ctx, changeOnboardingParks, workflow.DefaultVersion, 1) != workflow.DefaultVersion
		},
		park: func(ctx workflow.Context, attention *schemas.Attention) (bool, error) {
			o.logger.Warn("Onboarding needs an operator", "Step", attention.Step, "ErrorType", attention.ErrorType, "Error", attention.Message)
			if err := o.change(ctx, "", func(s *schemas.OnboardingState) { s.Attention = attention }); err != nil {
				return false, err
			}
			if err := workflow.Await(ctx, func() bool { return o.decision != nil }); err != nil {
				return false, err
			}
			o.state.Attention = nil
			if err := o.decide(ctx); err != nil {
				return false, err
			}
			if o.state.Status == schemas.MerchantRejected {
				return false, errRejectedWhileParked
			}
			return true, nil
		}}
}
