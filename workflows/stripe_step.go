package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// The skeleton payments, refunds and onboardings share around Stripe: a step that its
// retries cannot complete (the retry budget spent, an idempotency error, Stripe refusing
// Durapay's key) does not fail the workflow, which would strand money or a merchant half
// way; it waits for an operator, who runs it again or gives up. Payments and refunds wait at
// an operatorGate; onboardings for a review decision.

// stripeStep is one Stripe call of a workflow, and what its failure leads to.
type stripeStep struct {
	name    string
	options workflow.LocalActivityOptions
	// refusalsReturn makes Stripe's refusals (a decline, an invalid request) answers for
	// the caller, as for payments and refunds, rather than reasons to wait.
	refusalsReturn bool
	// parks says whether a failure waits for an operator at all: the version flag of a
	// workflow that gained the behaviour (nil: always).
	parks func(workflow.Context) bool
	// park records why the workflow waits, waits for an operator, and says whether to run
	// the call again (false: the operator gave up, errOperatorCancel).
	park func(ctx workflow.Context, attention *schemas.Attention) (again bool, err error)
}

// errOperatorCancel ends a step when the operator of a parked workflow decided to give up.
var errOperatorCancel = errors.New("an operator decided to cancel")

// run makes the call (retries counts the operator's retries so far, for calls that may take a
// fresh idempotency key on one) until it succeeds, is refused, or the operator gives up.
func (s stripeStep) run(ctx workflow.Context, call func(ctx workflow.Context, retries int) error) error {
	for retries := 0; ; retries++ {
		err := call(workflow.WithLocalActivityOptions(ctx, s.options), retries)
		if _, refused := refusal(err); err == nil || temporal.IsCanceledError(err) || (refused && s.refusalsReturn) ||
			(s.parks != nil && !s.parks(ctx)) {
			return err
		}
		again, err := s.park(ctx, attentionFor(ctx, s.name, err, s.options.ScheduleToCloseTimeout))
		if err != nil {
			return err
		}
		if !again {
			return errOperatorCancel
		}
	}
}

// stripeOptions is stripeCall with a retry budget.
func stripeOptions(budget time.Duration) workflow.LocalActivityOptions {
	opts := stripeCall
	opts.ScheduleToCloseTimeout = budget
	return opts
}

// operatorGate holds a payment or a refund while a step waits for an operator: why
// (attention), and the operator's decision once made, from the OperatorDecision update (the
// admin API, the CLI) or signal (the Temporal UI).
type operatorGate struct {
	attention *schemas.Attention
	decision  *schemas.OperatorDecision
	// parkings counts the waits; operator retries of a create name their keys by it.
	parkings int
	// name is what waits ("payment", "refund"), for messages.
	name string
	// notWaiting is the error type of a decision sent while nothing waits: stored in
	// histories, never changed.
	notWaiting string
	logger     log.Logger
}

// listen registers the decision's update (handler answers with the workflow's state once it
// acted) and signal.
func (g *operatorGate) listen(ctx workflow.Context, handler any) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, schemas.UpdateOperatorDecision, handler,
		workflow.UpdateHandlerOptions{Validator: g.validate}); err != nil {
		return fmt.Errorf("register update %s: %w", schemas.UpdateOperatorDecision, err)
	}
	receiveValid(ctx, schemas.SignalOperatorDecision, g.validate, g.logger, func(d schemas.OperatorDecision) { g.decision = &d })
	return nil
}

// receiveValid takes signal's payloads for the workflow's life, and hands on those validate
// accepts: a decision sent as a signal (the Temporal UI's way) is held to its update's
// validator. The rest are logged and dropped.
func receiveValid[T any](ctx workflow.Context, signal string, validate func(workflow.Context, T) error, logger log.Logger, accept func(T)) {
	ch := workflow.GetSignalChannel(ctx, signal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var v T
			ch.Receive(ctx, &v)
			if err := validate(ctx, v); err != nil {
				logger.Warn("Signal ignored", "Signal", signal, "Error", err)
				continue
			}
			accept(v)
		}
	})
}

func (g *operatorGate) validate(_ workflow.Context, d schemas.OperatorDecision) error {
	if d.Action != schemas.DecisionRetry && d.Action != schemas.DecisionCancel {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("action must be %q or %q", schemas.DecisionRetry, schemas.DecisionCancel), schemas.ErrTypeInvalidDecision, nil)
	}
	if g.attention == nil || g.decision != nil {
		return temporal.NewNonRetryableApplicationError("This "+g.name+" is not waiting for an operator's decision.", g.notWaiting, nil)
	}
	return nil
}

// decided waits until the decision handed over by an update has been taken up.
func (g *operatorGate) decided(ctx workflow.Context, d schemas.OperatorDecision) error {
	g.decision = &d
	return workflow.Await(ctx, func() bool { return g.decision == nil })
}

// park records why the workflow waits (record sees g.attention), waits for the decision on
// resource (the payment's or refund's ID),
// records it (audited under the identity the operator declared: a decision sent from the
// Temporal UI or CLI reaches no API that could audit it) and the attention cleared.
// waiting(true) runs once the wait starts, waiting(false) once it ends.
func (g *operatorGate) park(ctx workflow.Context, attention *schemas.Attention, resource string,
	record func(workflow.Context) error, waiting func(bool)) (schemas.OperatorDecision, error) {
	g.parkings++
	g.attention = attention
	g.logger.Warn("Waiting for an operator", "Step", attention.Step, "ErrorType", attention.ErrorType, "Error", attention.Message)
	if err := record(ctx); err != nil {
		return schemas.OperatorDecision{}, err
	}
	waiting(true)
	if err := workflow.Await(ctx, func() bool { return g.decision != nil }); err != nil {
		return schemas.OperatorDecision{}, err
	}
	d := *g.decision
	g.attention, g.decision = nil, nil
	waiting(false)
	g.logger.Info("Operator decided", "Action", d.Action, "Operator", d.Operator, "Reason", d.Reason)
	if workflow.GetVersion(ctx, changeDecisionsAudited, workflow.DefaultVersion, 1) >= 1 {
		if err := auditDecision(ctx, d.Operator, g.name+".operator_"+d.Action, resource, d.Reason); err != nil {
			return schemas.OperatorDecision{}, err
		}
	}
	return d, record(ctx)
}

// auditDecision records an operator's decision as the workflow applies it. The operator is
// who the decision says it is: the API authenticated it, the Temporal UI and CLI did not.
func auditDecision(ctx workflow.Context, operator, action, resource, reason string) error {
	info := workflow.GetInfo(ctx).WorkflowExecution
	return activities.ExecRecordAudit(workflow.WithLocalActivityOptions(ctx, dbWrite), schemas.AuditRecord{
		At: workflow.Now(ctx), Actor: operator, Action: action, Resource: resource, Outcome: schemas.AuditSuccess,
		Remote: "workflow " + info.ID, Details: map[string]string{"reason": reason, "identity": "declared"}})
}

// refusal reports Stripe refusing a request (a decline, an invalid request): an answer
// retries cannot change.
func refusal(err error) (schemas.StripeFailure, bool) {
	failure, errType, ok := activities.StripeFailureOf(err)
	return failure, ok && (errType == schemas.ErrTypeStripeCard || errType == schemas.ErrTypeStripeInvalidRequest)
}

// attentionFor says why a step waits for an operator: its failure's type and message, and
// whether its retry budget (of the given length) ran out.
func attentionFor(ctx workflow.Context, step string, cause error, budget time.Duration) *schemas.Attention {
	errType, retriesSpent := classifyCause(cause)
	message := cause.Error()
	if retriesSpent {
		message = fmt.Sprintf("retried for %s without success; last error: %s", budget, message)
	}
	return &schemas.Attention{Step: step, ErrorType: errType, Message: message, Since: workflow.Now(ctx).Unix()}
}

// classifyCause names a step's failure, and says whether the step failed because its retry
// budget ran out (a retryable error came back) rather than by a non-retryable error.
func classifyCause(err error) (errType string, retriesSpent bool) {
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		return appErr.Type(), !appErr.NonRetryable()
	case errors.As(err, &timeoutErr):
		return "Timeout", true
	default:
		return "Unknown", false
	}
}
