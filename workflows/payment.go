package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// Steps name the external calls of a payment. With the workflow ID they form the idempotency
// key of each Stripe request: stable across attempts, runs and workers.
const (
	stepCreatePaymentIntent   = "create_payment_intent"
	stepFindPaymentIntent     = "find_payment_intent"
	stepRetrievePaymentIntent = "retrieve_payment_intent"
	stepCapturePaymentIntent  = "capture_payment_intent"
	stepCancelPaymentIntent   = "cancel_payment_intent"
)

// clockSkewMargin widens a search by creation time for the difference between Temporal's
// and Stripe's clocks.
const clockSkewMargin = 10 * time.Minute

// Failure code of a payment whose customer did not authenticate in time.
const codeAuthenticationTimeout = "payment_intent_authentication_timeout"

// PaymentWorkflow carries one payment from the merchant's request to its final state:
// succeeded, failed or canceled.
//
// It is started by Update-With-Start: the CreatePayment update waits until the first outcome
// (succeeded, requires_action, requires_capture, failed) is known and recorded in Postgres,
// and answers with the payment, so the merchant's HTTP request gets its answer in one round
// trip. Events are published after the answer. Then, until the payment is final, it waits
// for the merchant (capture and cancel updates), for Stripe (webhook signals) or for a
// deadline (authentication, authorization window). A step that retries cannot fix parks the
// payment in needs_attention until an operator decides to retry or cancel it.
func PaymentWorkflow(ctx workflow.Context, in schemas.PaymentInput) (schemas.Payment, error) {
	p, err := newPayment(ctx, in)
	if err != nil {
		return schemas.Payment{}, err
	}
	return p.run(ctx)
}

// payment is the workflow's state.
type payment struct {
	in         schemas.PaymentInput
	policy     schemas.PaymentPolicy
	workflowID string
	logger     log.Logger

	state schemas.Payment
	// version counts state changes; it orders read-model writes and names events.
	version   int64
	changedAt time.Time
	// statusSince is when the payment entered its current status; deadlines count from it.
	statusSince time.Time
	// answerable is set once the state the create update answers with is recorded.
	answerable bool
	// create answers the create update and its retries.
	create createUpdate
	events outbox
	// chargeID is the PaymentIntent's latest charge, which the ledger's capture names.
	chargeID string

	// commands are the merchant's capture and cancel requests, run one at a time in order.
	commands []*command
	// stripeEvents are signalled Stripe events not yet applied; seenEvents drops duplicates.
	stripeEvents []schemas.StripeEventSignal
	seenEvents   map[string]bool

	// gate holds the payment while a step waits for an operator.
	gate operatorGate
	// idle is true while the workflow waits for input (or has finished): an update handler
	// may then report the state as settled.
	idle bool
	// closing is set once the payment is final and the workflow about to return.
	closing bool
	// timer fires at the current status's deadline.
	timer deadline
}

// command is a merchant's request, queued by an update handler and run by the main loop.
type command struct {
	capture *schemas.CaptureRequest
	cancel  *schemas.CancelRequest

	done   bool
	result schemas.Payment
	err    error
}

func newPayment(ctx workflow.Context, in schemas.PaymentInput) (*payment, error) {
	info := workflow.GetInfo(ctx)
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	p := &payment{
		in:         in,
		create:     createUpdate{requestHash: in.RequestHash},
		policy:     withDefaults(in.Policy),
		workflowID: info.WorkflowExecution.ID,
		logger:     log.With(workflow.GetLogger(ctx), "PaymentID", in.PaymentID, "MerchantID", in.MerchantID),
		state: schemas.Payment{
			ID: in.PaymentID, Object: schemas.ObjectPayment, Merchant: in.MerchantID, Amount: in.Amount.Minor,
			Currency: in.Currency.String(), Status: schemas.PaymentProcessing, CaptureMethod: in.CaptureMethod,
			PaymentMethod: in.PaymentMethod, Customer: in.Customer, Description: in.Description, Metadata: metadata,
			Created: info.WorkflowStartTime.Unix(),
		},
		statusSince: info.WorkflowStartTime,
		events:      outbox{topic: schemas.TopicPayments, key: in.PaymentID, schemaVersion: schemas.PaymentEventSchemaVersion},
		seenEvents:  map[string]bool{},
	}
	p.gate = operatorGate{name: "payment", notWaiting: schemas.ErrTypePaymentUnexpectedState, logger: p.logger}
	if err := workflow.SetQueryHandler(ctx, schemas.QueryPayment, func() (schemas.Payment, error) {
		return p.state, nil
	}); err != nil {
		return nil, fmt.Errorf("register query %s: %w", schemas.QueryPayment, err)
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{schemas.UpdateCreatePayment, p.answerCreate, p.validateCreate},
		{schemas.UpdateCapturePayment, p.requestCapture, p.validateCapture},
		{schemas.UpdateCancelPayment, p.requestCancel, p.validateCancel},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return nil, fmt.Errorf("register update %s: %w", u.name, err)
		}
	}
	bufferStripeEvents(ctx, &p.stripeEvents)
	if err := p.gate.listen(ctx, p.decide); err != nil {
		return nil, err
	}
	return p, nil
}

func withDefaults(pol schemas.PaymentPolicy) schemas.PaymentPolicy {
	if pol.ActionTimeout <= 0 {
		pol.ActionTimeout = schemas.DefaultActionTimeout
	}
	if pol.AuthorizationWindow <= 0 {
		pol.AuthorizationWindow = schemas.DefaultAuthorizationWindow
	}
	if pol.StripeRetryBudget <= 0 || pol.StripeRetryBudget > schemas.MaxStripeRetryBudget {
		pol.StripeRetryBudget = schemas.DefaultStripeRetryBudget
	}
	return pol
}

func (p *payment) run(ctx workflow.Context) (schemas.Payment, error) {
	if err := p.authorize(ctx); err != nil {
		return p.state, err
	}
	p.answerable = true
	for !p.state.Status.Terminal() {
		if err := p.events.publish(ctx); err != nil {
			return p.state, err
		}
		err := p.next(ctx)
		if errors.Is(err, errOperatorCancel) {
			err = p.cancelByOperator(ctx)
		}
		if err != nil {
			return p.state, err
		}
	}
	p.timer.stop()
	if err := p.events.publish(ctx); err != nil {
		return p.state, err
	}
	// Requests that arrived at the very end are answered (commands refused) before returning.
	p.closing, p.idle = true, true
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return p.state, err
	}
	return p.state, nil
}

// next waits for a merchant's request, a Stripe event or the current status's deadline, and
// handles the first that comes.
func (p *payment) next(ctx workflow.Context) error {
	at, expire := p.deadline()
	p.timer.set(ctx, at)
	p.idle = true
	if err := workflow.Await(ctx, func() bool { return len(p.commands) > 0 || len(p.stripeEvents) > 0 || p.timer.fired }); err != nil {
		return err
	}
	p.idle = false
	// A request or an event that arrived with the deadline goes first: a capture at the
	// last moment is still a capture.
	switch {
	case len(p.commands) > 0:
		cmd := p.commands[0]
		p.commands = p.commands[1:]
		return p.execute(ctx, cmd)
	case len(p.stripeEvents) > 0:
		ev := p.stripeEvents[0]
		p.stripeEvents = p.stripeEvents[1:]
		return p.applyStripeEvent(ctx, ev)
	default:
		return expire(ctx)
	}
}

// deadline is when the current status expires, and what happens then: an authorization is
// released before the card network's window closes; a payment still waiting for the
// customer's authentication fails.
func (p *payment) deadline() (time.Time, func(workflow.Context) error) {
	if p.state.Status == schemas.PaymentRequiresCapture {
		return p.statusSince.Add(p.policy.AuthorizationWindow), p.expireAuthorization
	}
	return p.statusSince.Add(p.policy.ActionTimeout), p.expireAction
}

// authorize creates and confirms the PaymentIntent and records the outcome.
func (p *payment) authorize(ctx workflow.Context) error {
	key := p.idempotencyKey(stepCreatePaymentIntent)
	for {
		stripeCtx := workflow.WithLocalActivityOptions(ctx, stripeOptions(p.policy.StripeRetryBudget))
		pi, err := activities.ExecCreatePaymentIntent(stripeCtx, schemas.CreatePaymentIntentRequest{
			IdempotencyKey: key,
			PaymentID:      p.in.PaymentID, MerchantID: p.in.MerchantID, WorkflowID: p.workflowID,
			Amount: p.in.Amount, PaymentMethod: p.in.PaymentMethod,
			CaptureMethod: string(p.in.CaptureMethod), Description: p.in.Description, Metadata: p.in.Metadata,
			Customer: p.in.StripeCustomerID,
		})
		if err == nil {
			return p.applyPaymentIntent(ctx, pi, "")
		}
		if failure, refused := refusal(err); refused {
			p.logger.Info("Payment refused by Stripe", "Code", failure.Code, "DeclineCode", failure.DeclineCode)
			p.state.StripePaymentIntentID = failure.PaymentIntentID
			return p.fail(ctx, failure)
		}
		decision, err := p.park(ctx, attentionFor(ctx, stepCreatePaymentIntent, err, p.policy.StripeRetryBudget))
		if err != nil {
			return err
		}
		// Whatever the operator decided, first learn whether an earlier attempt created a
		// PaymentIntent after all: it is then followed (or canceled), never doubled.
		existing, err := p.findPaymentIntent(ctx)
		switch {
		case errors.Is(err, errOperatorCancel):
			decision.Action = schemas.DecisionCancel
		case err != nil:
			return err
		}
		if existing.ID != "" {
			p.state.StripePaymentIntentID = existing.ID
		}
		if decision.Action == schemas.DecisionCancel {
			return p.cancelByOperator(ctx)
		}
		if existing.ID != "" {
			return p.applyPaymentIntent(ctx, existing, "")
		}
		// No PaymentIntent exists: a new key, so that an idempotency error stays behind.
		key = p.idempotencyKey(stepCreatePaymentIntent) + "/retry-" + strconv.Itoa(p.gate.parkings)
	}
}

// applyPaymentIntent moves the payment to the state Stripe's PaymentIntent is in. A final
// payment, and a status the payment already has, change nothing: this is what makes
// duplicate and reordered Stripe events harmless. cancelReason overrides Stripe's own reason
// for a canceled PaymentIntent.
func (p *payment) applyPaymentIntent(ctx workflow.Context, pi schemas.PaymentIntent, cancelReason string) error {
	prev := p.state.Status
	if prev.Terminal() {
		return nil
	}
	if pi.LatestCharge != "" {
		p.chargeID = pi.LatestCharge
	}
	switch pi.Status {
	case schemas.IntentSucceeded:
		events := []string{schemas.EventPaymentSucceeded}
		if prev == schemas.PaymentRequiresCapture {
			events = []string{schemas.EventPaymentCaptured, schemas.EventPaymentSucceeded}
		}
		return p.change(ctx, events, func(s *schemas.Payment) {
			s.Status = schemas.PaymentSucceeded
			s.StripePaymentIntentID = pi.ID
			s.AmountCaptured, s.AmountCapturable = pi.AmountReceived, 0
			s.NextAction = nil
		})
	case schemas.IntentRequiresCapture:
		if prev == schemas.PaymentRequiresCapture {
			return nil
		}
		return p.change(ctx, []string{schemas.EventPaymentAuthorized}, func(s *schemas.Payment) {
			s.Status = schemas.PaymentRequiresCapture
			s.StripePaymentIntentID = pi.ID
			s.AmountCapturable = pi.AmountCapturable
			s.NextAction = nil
		})
	case schemas.IntentRequiresAction:
		if prev == schemas.PaymentRequiresAction {
			return nil
		}
		return p.change(ctx, []string{schemas.EventPaymentRequiresAction}, func(s *schemas.Payment) {
			s.Status = schemas.PaymentRequiresAction
			s.StripePaymentIntentID = pi.ID
			s.NextAction = pi.NextAction
		})
	case schemas.IntentCanceled:
		reason := cancelReason
		if reason == "" {
			reason = pi.CancellationReason
		}
		if reason == "" {
			reason = "requested_by_customer"
		}
		return p.change(ctx, []string{schemas.EventPaymentCanceled}, func(s *schemas.Payment) {
			s.Status = schemas.PaymentCanceled
			s.StripePaymentIntentID = pi.ID
			s.CancellationReason = reason
			s.AmountCapturable = 0
			s.NextAction = nil
		})
	case schemas.IntentRequiresPaymentMethod:
		if pi.LastPaymentError != nil { // the customer's authentication or the card failed
			p.state.StripePaymentIntentID = pi.ID
			return p.fail(ctx, *pi.LastPaymentError)
		}
	}
	if p.state.StripePaymentIntentID != pi.ID { // processing: Stripe's outcome comes later
		return p.change(ctx, nil, func(s *schemas.Payment) { s.StripePaymentIntentID = pi.ID })
	}
	return nil
}

func (p *payment) fail(ctx workflow.Context, f schemas.StripeFailure) error {
	return p.change(ctx, []string{schemas.EventPaymentFailed}, func(s *schemas.Payment) {
		s.Status = schemas.PaymentFailed
		s.Failure = &schemas.PaymentFailure{Type: f.Type, Code: f.Code, DeclineCode: f.DeclineCode, Message: f.Message}
		s.AmountCapturable = 0
		s.NextAction = nil
	})
}

// applyStripeEvent follows a Stripe event about the payment's PaymentIntent. It reads the
// PaymentIntent rather than trusting the event, so an event delivered late or twice cannot
// move the payment to an older state.
func (p *payment) applyStripeEvent(ctx workflow.Context, ev schemas.StripeEventSignal) error {
	if p.seenEvents[ev.EventID] {
		return nil
	}
	p.seenEvents[ev.EventID] = true
	if ev.ObjectID != p.state.StripePaymentIntentID {
		p.logger.Warn("Stripe event about another object ignored", "EventID", ev.EventID, "ObjectID", ev.ObjectID)
		return nil
	}
	pi, err := p.retrievePaymentIntent(ctx)
	if err != nil {
		return err
	}
	return p.applyPaymentIntent(ctx, pi, "")
}

// execute runs a merchant's capture or cancel. Its outcome goes to the waiting update; the
// returned error is the workflow's own.
func (p *payment) execute(ctx workflow.Context, cmd *command) error {
	var err error
	switch {
	case cmd.capture != nil:
		cmd.err, err = p.capture(ctx, *cmd.capture)
	case cmd.cancel != nil:
		reason := cmd.cancel.Reason
		if reason == "" {
			reason = "requested_by_customer"
		}
		cmd.err, err = p.cancel(ctx, reason, reason)
	}
	cmd.done, cmd.result = true, p.state
	return err
}

// capture captures the authorization; refused is the answer for the merchant.
func (p *payment) capture(ctx workflow.Context, req schemas.CaptureRequest) (refused, err error) {
	if err := p.checkCapture(req); err != nil { // the state may have changed since validation
		return err, nil
	}
	var pi schemas.PaymentIntent
	err = p.stripe(stepCapturePaymentIntent).run(ctx, func(ctx workflow.Context, _ int) (err error) {
		pi, err = activities.ExecCapturePaymentIntent(ctx, schemas.CapturePaymentIntentRequest{
			IdempotencyKey: p.idempotencyKey(stepCapturePaymentIntent), ID: p.state.StripePaymentIntentID,
			AmountToCapture: req.AmountToCapture})
		return err
	})
	if _, isRefusal := refusal(err); isRefusal {
		// Stripe found the PaymentIntent in another state (canceled or expired meanwhile).
		return unexpectedState("capture", p.state.Status), p.resync(ctx)
	}
	if err != nil {
		return nil, err
	}
	return nil, p.applyPaymentIntent(ctx, pi, "")
}

// cancel cancels the PaymentIntent and records the payment canceled with reason (or, if the
// PaymentIntent turns out to have succeeded, follows it). refused is for the merchant.
func (p *payment) cancel(ctx workflow.Context, stripeReason, reason string) (refused, err error) {
	if !cancelable(p.state.Status) {
		return unexpectedState("cancel", p.state.Status), nil
	}
	pi, err := p.cancelPaymentIntent(ctx, stripeReason)
	if _, isRefusal := refusal(err); isRefusal {
		return unexpectedState("cancel", p.state.Status), p.resync(ctx)
	}
	if err != nil {
		return nil, err
	}
	return nil, p.applyPaymentIntent(ctx, pi, reason)
}

// cancelByOperator ends a parked payment on an operator's decision.
func (p *payment) cancelByOperator(ctx workflow.Context) error {
	if p.state.StripePaymentIntentID == "" { // nothing exists at Stripe
		return p.change(ctx, []string{schemas.EventPaymentCanceled}, func(s *schemas.Payment) {
			s.Status = schemas.PaymentCanceled
			s.CancellationReason = schemas.CancelByOperator
		})
	}
	_, err := p.cancel(ctx, "abandoned", schemas.CancelByOperator)
	return err
}

// expireAuthorization releases an authorization that was not captured in time.
func (p *payment) expireAuthorization(ctx workflow.Context) error {
	p.logger.Info("Authorization not captured in time; releasing it", "Window", p.policy.AuthorizationWindow)
	_, err := p.cancel(ctx, "abandoned", schemas.CancelAuthorizationExpired)
	return err
}

// expireAction gives up on a customer who did not authenticate in time: the PaymentIntent
// is canceled, so it can no longer succeed, and the payment fails.
func (p *payment) expireAction(ctx workflow.Context) error {
	p.logger.Info("Customer did not authenticate in time; canceling", "Timeout", p.policy.ActionTimeout)
	pi, err := p.cancelPaymentIntent(ctx, "abandoned")
	if _, isRefusal := refusal(err); isRefusal {
		return p.resync(ctx) // it succeeded (or failed) meanwhile, and a webhook is late
	}
	if err != nil {
		return err
	}
	if pi.Status != schemas.IntentCanceled {
		return p.applyPaymentIntent(ctx, pi, "")
	}
	return p.fail(ctx, schemas.StripeFailure{Type: "invalid_request_error", Code: codeAuthenticationTimeout,
		Message: fmt.Sprintf("The customer did not complete authentication within %s.", p.policy.ActionTimeout)})
}

// resync reads the PaymentIntent and follows it, after Stripe refused a request because the
// PaymentIntent was not in the state the workflow thought.
func (p *payment) resync(ctx workflow.Context) error {
	pi, err := p.retrievePaymentIntent(ctx)
	if err != nil {
		return err
	}
	return p.applyPaymentIntent(ctx, pi, "")
}

func (p *payment) retrievePaymentIntent(ctx workflow.Context) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := p.stripe(stepRetrievePaymentIntent).run(ctx, func(ctx workflow.Context, _ int) (err error) {
		pi, err = activities.ExecRetrievePaymentIntent(ctx, schemas.RetrievePaymentIntentRequest{ID: p.state.StripePaymentIntentID})
		return err
	})
	return pi, err
}

func (p *payment) findPaymentIntent(ctx workflow.Context) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := p.stripe(stepFindPaymentIntent).run(ctx, func(ctx workflow.Context, _ int) (err error) {
		pi, err = activities.ExecFindPaymentIntent(ctx, schemas.FindPaymentIntentRequest{PaymentID: p.in.PaymentID,
			CreatedSince: workflow.GetInfo(ctx).WorkflowStartTime.Add(-clockSkewMargin)})
		return err
	})
	return pi, err
}

// cancelPaymentIntent cancels at Stripe. Each reason has its own idempotency key, so that a
// cancel for another reason is a new request (Stripe then answers that it is canceled
// already) rather than an idempotency error. An operator's cancel decision while this step
// is parked means the same as a retry.
func (p *payment) cancelPaymentIntent(ctx workflow.Context, reason string) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	for {
		err := p.stripe(stepCancelPaymentIntent).run(ctx, func(ctx workflow.Context, _ int) (err error) {
			pi, err = activities.ExecCancelPaymentIntent(ctx, schemas.CancelPaymentIntentRequest{
				IdempotencyKey: p.idempotencyKey(stepCancelPaymentIntent) + "/" + reason, ID: p.state.StripePaymentIntentID, Reason: reason})
			return err
		})
		if !errors.Is(err, errOperatorCancel) {
			return pi, err
		}
	}
}

// stripe is a Stripe step of the payment: Stripe's refusals go back to the caller; a failure
// that retries cannot fix parks the payment (needs_attention) until an operator decides.
func (p *payment) stripe(step string) stripeStep {
	return stripeStep{name: step, options: stripeOptions(p.policy.StripeRetryBudget), refusalsReturn: true,
		park: func(ctx workflow.Context, attention *schemas.Attention) (bool, error) {
			d, err := p.park(ctx, attention)
			return d.Action == schemas.DecisionRetry, err
		}}
}

// park records why the payment needs an operator, answers a waiting create (the client sees
// the payment processing), and waits for the operator's decision.
func (p *payment) park(ctx workflow.Context, attention *schemas.Attention) (schemas.OperatorDecision, error) {
	return p.gate.park(ctx, attention, p.in.PaymentID, func(ctx workflow.Context) error { return p.change(ctx, nil, func(*schemas.Payment) {}) },
		func(waiting bool) {
			p.idle = waiting
			if waiting {
				p.answerable = true
			}
		})
}

// change applies one state change: a new version, the search attributes operators filter
// on, the read model (before anyone is told), and the events, queued for Kafka.
func (p *payment) change(ctx workflow.Context, eventTypes []string, mutate func(*schemas.Payment)) error {
	before := p.state.Status
	mutate(&p.state)
	p.version++
	p.changedAt = workflow.Now(ctx)
	if p.state.Status != before {
		p.statusSince = p.changedAt
	}
	status := string(p.state.Status)
	if p.gate.attention != nil {
		status = schemas.SearchStatusNeedsAttention
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		schemas.SearchPaymentStatus.ValueSet(status),
		schemas.SearchStripePaymentIntentID.ValueSet(p.state.StripePaymentIntentID),
	); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	err := activities.ExecRecordPayment(workflow.WithLocalActivityOptions(ctx, dbWrite), schemas.RecordPaymentRequest{
		Payment: p.state, IdempotencyKey: p.in.IdempotencyKey, RequestHash: p.in.RequestHash,
		WorkflowID: p.workflowID, Attention: p.gate.attention, StripeChargeID: p.chargeID, Version: p.version, At: p.changedAt,
	})
	if err != nil {
		return fmt.Errorf("record payment version %d: %w", p.version, err)
	}
	return p.events.add(p.in.PaymentID, p.version, p.changedAt, p.in.MerchantID, p.state, eventTypes...)
}

func (p *payment) idempotencyKey(step string) string { return p.workflowID + "/" + step }

func cancelable(s schemas.PaymentStatus) bool {
	return s == schemas.PaymentProcessing || s == schemas.PaymentRequiresAction || s == schemas.PaymentRequiresCapture
}

func unexpectedState(action string, s schemas.PaymentStatus) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("This payment's status is %s; it cannot be %s.", s, pastTense[action]), schemas.ErrTypePaymentUnexpectedState, nil)
}

var pastTense = map[string]string{"capture": "captured", "cancel": "canceled"}
