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

// Steps of a refund; with the workflow ID they form the Stripe idempotency keys.
const (
	stepCreateRefund   = "create_refund"
	stepFindRefund     = "find_refund"
	stepRetrieveRefund = "retrieve_refund"
)

// retryLater is how long a refund waits before it reads Stripe again after a read failed
// beyond its retry budget.
const retryLater = time.Minute

// RefundWorkflow carries one refund from the merchant's request to its outcome.
//
// Started by Update-With-Start, it first reserves the amount against the payment under the
// payment row's lock (internal/domain/refunds: concurrent refunds can never exceed the capture),
// then asks Stripe, records the refund and its ledger transaction, and answers the create.
// It then listens for Stripe's events about the refund during the failure window: a refund
// that Stripe reports failed is reversed in the ledger and becomes refundable again.
func RefundWorkflow(ctx workflow.Context, in schemas.RefundInput) (schemas.Refund, error) {
	r, err := newRefund(ctx, in)
	if err != nil {
		return schemas.Refund{}, err
	}
	return r.run(ctx)
}

type refund struct {
	in         schemas.RefundInput
	workflowID string
	logger     log.Logger

	state           schemas.Refund
	paymentIntentID string
	// findAtStripeFirst makes the first create look for the refund at Stripe (see run).
	findAtStripeFirst bool
	version           int64
	// refusal is why the refund was refused before it existed; answered to the create.
	refusal    error
	answerable bool
	create     createUpdate
	// events go to the payments topic under the payment's ID: a consumer sees a payment's
	// refunds in order with the payment's own events.
	events outbox

	stripeEvents []schemas.StripeEventSignal
	seenEvents   map[string]bool

	// gate holds the refund while its Stripe create waits for an operator; creating is set
	// while the create runs, so that a decision's update answers once it is acted on.
	gate     operatorGate
	creating bool
}

func newRefund(ctx workflow.Context, in schemas.RefundInput) (*refund, error) {
	r := &refund{
		in:         in,
		create:     createUpdate{requestHash: in.RequestHash},
		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		logger:     log.With(workflow.GetLogger(ctx), "RefundID", in.RefundID, "PaymentID", in.PaymentID, "MerchantID", in.MerchantID),
		seenEvents: map[string]bool{},
		events:     outbox{topic: schemas.TopicPayments, key: in.PaymentID, schemaVersion: schemas.RefundEventSchemaVersion},
	}
	if r.in.Policy.FailureWindow <= 0 {
		r.in.Policy.FailureWindow = schemas.DefaultRefundFailureWindow
	}
	if r.in.Policy.StripeRetryBudget <= 0 || r.in.Policy.StripeRetryBudget > schemas.MaxStripeRetryBudget {
		r.in.Policy.StripeRetryBudget = schemas.DefaultStripeRetryBudget
	}
	if err := workflow.SetQueryHandler(ctx, schemas.QueryRefund, func() (schemas.Refund, error) { return r.state, nil }); err != nil {
		return nil, fmt.Errorf("register query %s: %w", schemas.QueryRefund, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, schemas.UpdateCreateRefund, r.answerCreate,
		workflow.UpdateHandlerOptions{Validator: r.validateCreate}); err != nil {
		return nil, fmt.Errorf("register update %s: %w", schemas.UpdateCreateRefund, err)
	}
	bufferStripeEvents(ctx, &r.stripeEvents)
	r.gate = operatorGate{name: "refund", notWaiting: schemas.ErrTypeRefundUnexpectedState, logger: r.logger}
	if err := r.gate.listen(ctx, r.decide); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *refund) validateCreate(_ workflow.Context, req schemas.CreateRefundRequest) error {
	return r.create.validate(req.RequestHash)
}

func (r *refund) answerCreate(ctx workflow.Context, _ schemas.CreateRefundRequest) (schemas.CreateRefundResult, error) {
	replayed, err := r.create.await(ctx, func() bool { return r.answerable })
	if err != nil {
		return schemas.CreateRefundResult{}, err
	}
	return schemas.CreateRefundResult{Refund: r.state, Replayed: replayed}, r.refusal
}

func (r *refund) run(ctx workflow.Context) (schemas.Refund, error) {
	reserved, err := activities.ExecReserveRefund(workflow.WithLocalActivityOptions(ctx, dbWrite), schemas.ReserveRefundRequest{
		Input: r.in, WorkflowID: r.workflowID, At: workflow.Now(ctx)})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		r.logger.Info("Refund refused", "Reason", appErr.Type())
		r.refusal, r.answerable = appErr, true
		return schemas.Refund{}, r.finish(ctx)
	}
	if err != nil {
		return schemas.Refund{}, err
	}
	r.state, r.paymentIntentID = reserved.Refund, reserved.PaymentIntentID
	// A reservation older than this run was made by an earlier one (deleted from Temporal by
	// its retention, then started again), whose Stripe refund may exist while Stripe has
	// forgotten its idempotency key: look for it before creating one.
	r.findAtStripeFirst = reserved.Refund.Created < workflow.GetInfo(ctx).WorkflowStartTime.Unix()

	r.creating = true
	re, failure, err := r.createAtStripe(ctx)
	r.creating = false
	switch {
	case err != nil:
		return r.state, err
	case failure != "":
		err = r.record(ctx, schemas.RecordRefundRequest{Status: schemas.RefundFailed, FailureReason: failure}, schemas.EventRefundFailed)
	default:
		err = r.follow(ctx, re, schemas.EventRefundCreated)
	}
	if err != nil {
		return r.state, err
	}
	r.answerable = true

	var window deadline
	window.set(ctx, workflow.Now(ctx).Add(r.in.Policy.FailureWindow))
	defer window.stop()
	for r.state.Status != schemas.RefundFailed {
		if err := r.events.publish(ctx); err != nil {
			return r.state, err
		}
		if err := workflow.Await(ctx, func() bool { return len(r.stripeEvents) > 0 || window.fired }); err != nil {
			return r.state, err
		}
		if len(r.stripeEvents) == 0 {
			break
		}
		ev := r.stripeEvents[0]
		r.stripeEvents = r.stripeEvents[1:]
		if err := r.applyStripeEvent(ctx, ev); err != nil {
			return r.state, err
		}
	}
	return r.state, r.finish(ctx)
}

// finish publishes what is left and waits for the handlers, before the workflow returns.
func (r *refund) finish(ctx workflow.Context) error {
	if err := r.events.publish(ctx); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// failureCanceledByOperator is the failure reason of a refund an operator gave up on.
const failureCanceledByOperator = "canceled_by_operator"

// createAtStripe creates the Stripe refund, and returns it or why the refund failed
// (Stripe's refusal, or an operator's cancel). A call that its retries cannot complete (the
// retry budget spent, an idempotency error, Stripe refusing Durapay's key) parks the refund
// for an operator, as a payment's does: a retry first looks for a refund an earlier attempt
// made (the PaymentIntent's refunds, listed: consistent, unlike search) and follows it, or
// creates one under a new key; a cancel fails the refund (its amount refundable again)
// unless Stripe made it after all. A refund is never doubled.
func (r *refund) createAtStripe(ctx workflow.Context) (re schemas.StripeRefund, failure string, err error) {
	base := r.workflowID + "/" + stepCreateRefund
	key := base
	for attempt := 1; ; attempt++ {
		re, err = activities.ExecCreateRefund(workflow.WithLocalActivityOptions(ctx, stripeOptions(r.in.Policy.StripeRetryBudget)),
			schemas.CreateStripeRefundRequest{IdempotencyKey: key, PaymentIntentID: r.paymentIntentID, Amount: r.state.Amount,
				Reason: r.in.Reason, Metadata: r.in.Metadata, RefundID: r.in.RefundID, WorkflowID: r.workflowID,
				FindExisting: r.findAtStripeFirst})
		if err == nil {
			return re, "", nil
		}
		if f, refused := refusal(err); refused {
			r.logger.Warn("Stripe refused the refund", "Code", f.Code, "Message", f.Message)
			return re, f.Code, nil
		}
		if temporal.IsCanceledError(err) {
			return re, "", err
		}
		if workflow.GetVersion(ctx, changeRefundParks, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			// Refunds that started before parking: look, then try again at once.
			r.logger.Error("Stripe refund still failing after its retry budget; looking for it before trying again", "Attempt", attempt, "Error", err)
			found, findErr := activities.ExecFindRefund(workflow.WithLocalActivityOptions(ctx, stripeOptions(r.in.Policy.StripeRetryBudget)),
				schemas.FindRefundRequest{PaymentIntentID: r.paymentIntentID, RefundID: r.in.RefundID})
			if findErr == nil && found.ID != "" {
				return found, "", nil
			}
			if findErr == nil {
				key = base + "/retry-" + strconv.Itoa(attempt)
			}
			continue
		}
		decision, err := r.park(ctx, attentionFor(ctx, stepCreateRefund, err, r.in.Policy.StripeRetryBudget))
		if err != nil {
			return re, "", err
		}
		var found schemas.StripeRefund
		err = r.stripe(stepFindRefund).run(ctx, func(ctx workflow.Context, _ int) (err error) {
			found, err = activities.ExecFindRefund(ctx, schemas.FindRefundRequest{PaymentIntentID: r.paymentIntentID, RefundID: r.in.RefundID})
			return err
		})
		switch {
		case errors.Is(err, errOperatorCancel):
			decision.Action = schemas.DecisionCancel
		case err != nil:
			return re, "", err
		}
		if found.ID != "" {
			return found, "", nil
		}
		if decision.Action == schemas.DecisionCancel {
			return re, failureCanceledByOperator, nil
		}
		key = base + "/retry-" + strconv.Itoa(r.gate.parkings) // an idempotency error stays behind
	}
}

// stripe is a Stripe step of the refund: Stripe's refusals go back to the caller; a failure
// that retries cannot fix parks the refund until an operator decides.
func (r *refund) stripe(step string) stripeStep {
	return stripeStep{name: step, options: stripeOptions(r.in.Policy.StripeRetryBudget), refusalsReturn: true,
		park: func(ctx workflow.Context, attention *schemas.Attention) (bool, error) {
			d, err := r.park(ctx, attention)
			return d.Action == schemas.DecisionRetry, err
		}}
}

// park records why the refund needs an operator, answers a waiting create (the client sees
// the refund pending), and waits for the operator's decision.
func (r *refund) park(ctx workflow.Context, attention *schemas.Attention) (schemas.OperatorDecision, error) {
	return r.gate.park(ctx, attention, r.in.RefundID, r.recordAttention, func(waiting bool) {
		if waiting {
			r.answerable = true
		}
	})
}

// recordAttention writes why the refund waits (or that it no longer does) where operators
// look: the refund's row, and the RefundStatus search attribute (needs_attention).
func (r *refund) recordAttention(ctx workflow.Context) error {
	if err := r.upsertStatus(ctx); err != nil {
		return err
	}
	return activities.ExecRecordRefundAttention(workflow.WithLocalActivityOptions(ctx, dbWrite),
		schemas.RecordRefundAttentionRequest{RefundID: r.in.RefundID, Attention: r.gate.attention})
}

// upsertStatus keeps the RefundStatus search attribute of a refund that was ever parked
// (only those carry it: the others' histories have no such command).
func (r *refund) upsertStatus(ctx workflow.Context) error {
	status := string(r.state.Status)
	if r.gate.attention != nil {
		status = schemas.SearchStatusNeedsAttention
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, schemas.SearchRefundStatus.ValueSet(status)); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	return nil
}

// decide hands an operator's decision to the parked refund and answers once the refund
// acted on it: created, failed, or parked again.
func (r *refund) decide(ctx workflow.Context, d schemas.OperatorDecision) (schemas.Refund, error) {
	if err := r.gate.decided(ctx, d); err != nil {
		return schemas.Refund{}, err
	}
	if err := workflow.Await(ctx, func() bool { return !r.creating || r.gate.attention != nil }); err != nil {
		return schemas.Refund{}, err
	}
	return r.state, nil
}

// follow records the Stripe refund's state; an event names what the change means.
func (r *refund) follow(ctx workflow.Context, re schemas.StripeRefund, created string) error {
	switch re.Status {
	case schemas.StripeRefundFailed, schemas.StripeRefundCanceled:
		reason := re.FailureReason
		if reason == "" {
			reason = string(re.Status)
		}
		events := []string{schemas.EventRefundFailed}
		if created != "" && r.state.StripeRefundID == "" {
			// Stripe accepted it and it failed since: post it, then reverse it.
			if err := r.record(ctx, schemas.RecordRefundRequest{Status: schemas.RefundPending, StripeRefundID: re.ID}, created); err != nil {
				return err
			}
		}
		return r.record(ctx, schemas.RecordRefundRequest{Status: schemas.RefundFailed, StripeRefundID: re.ID, FailureReason: reason}, events...)
	case schemas.StripeRefundSucceeded:
		if r.state.Status == schemas.RefundSucceeded {
			return nil
		}
		events := []string{schemas.EventRefundSucceeded}
		if created != "" {
			events = []string{created, schemas.EventRefundSucceeded}
		}
		return r.record(ctx, schemas.RecordRefundRequest{Status: schemas.RefundSucceeded, StripeRefundID: re.ID}, events...)
	default: // pending, requires_action: Stripe has it and the ledger posts it
		if created == "" {
			return nil
		}
		return r.record(ctx, schemas.RecordRefundRequest{Status: schemas.RefundPending, StripeRefundID: re.ID}, created)
	}
}

// applyStripeEvent follows a Stripe event about the refund by reading the refund itself.
func (r *refund) applyStripeEvent(ctx workflow.Context, ev schemas.StripeEventSignal) error {
	if r.seenEvents[ev.EventID] || ev.ObjectID != r.state.StripeRefundID {
		return nil
	}
	re, err := activities.ExecRetrieveRefund(workflow.WithLocalActivityOptions(ctx, stripeOptions(r.in.Policy.StripeRetryBudget)),
		schemas.RetrieveRefundRequest{ID: r.state.StripeRefundID})
	if err != nil && !temporal.IsCanceledError(err) {
		r.logger.Error("Could not read the refund from Stripe; trying again later", "EventID", ev.EventID, "Error", err)
		r.stripeEvents = append(r.stripeEvents, ev)
		return workflow.Sleep(ctx, retryLater)
	}
	if err != nil {
		return err
	}
	r.seenEvents[ev.EventID] = true
	return r.follow(ctx, re, "")
}

// record writes the refund's new state (and ledger) and queues its events.
func (r *refund) record(ctx workflow.Context, req schemas.RecordRefundRequest, eventTypes ...string) error {
	req.RefundID, req.At = r.in.RefundID, workflow.Now(ctx)
	state, err := activities.ExecRecordRefund(workflow.WithLocalActivityOptions(ctx, dbWrite), req)
	if err != nil {
		return fmt.Errorf("record refund %s: %w", req.Status, err)
	}
	r.state = state
	r.version++
	if r.gate.parkings > 0 {
		if err := r.upsertStatus(ctx); err != nil {
			return err
		}
	}
	return r.events.add(r.in.RefundID, r.version, req.At, r.in.MerchantID, r.state, eventTypes...)
}
