package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// The payment's update handlers. Validators refuse what the current state does not allow,
// so a refused request leaves no trace in the history; accepted capture and cancel requests
// are queued and run one at a time by the main loop, which owns every call to Stripe.

func (p *payment) validateCreate(_ workflow.Context, req schemas.CreatePaymentRequest) error {
	return p.create.validate(req.RequestHash)
}

// answerCreate answers every create update, the first and its retries, once the payment's
// first outcome is recorded.
func (p *payment) answerCreate(ctx workflow.Context, _ schemas.CreatePaymentRequest) (schemas.CreatePaymentResult, error) {
	replayed, err := p.create.await(ctx, func() bool { return p.answerable })
	if err != nil {
		return schemas.CreatePaymentResult{}, err
	}
	return schemas.CreatePaymentResult{Payment: p.state, Replayed: replayed}, nil
}

func (p *payment) validateCapture(_ workflow.Context, req schemas.CaptureRequest) error {
	if err := p.acceptingRequests("capture"); err != nil {
		return err
	}
	return p.checkCapture(req)
}

// checkCapture holds both at validation and when the capture runs.
func (p *payment) checkCapture(req schemas.CaptureRequest) error {
	if p.state.Status != schemas.PaymentRequiresCapture {
		return unexpectedState("capture", p.state.Status)
	}
	if req.AmountToCapture < 0 || req.AmountToCapture > p.state.AmountCapturable {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("amount_to_capture must be between 1 and the authorized amount, %d.", p.state.AmountCapturable),
			schemas.ErrTypeCaptureAmountInvalid, nil)
	}
	return nil
}

func (p *payment) requestCapture(ctx workflow.Context, req schemas.CaptureRequest) (schemas.Payment, error) {
	return p.enqueue(ctx, &command{capture: &req}, "capture")
}

func (p *payment) validateCancel(_ workflow.Context, _ schemas.CancelRequest) error {
	if err := p.acceptingRequests("cancel"); err != nil {
		return err
	}
	if !cancelable(p.state.Status) {
		return unexpectedState("cancel", p.state.Status)
	}
	return nil
}

func (p *payment) requestCancel(ctx workflow.Context, req schemas.CancelRequest) (schemas.Payment, error) {
	return p.enqueue(ctx, &command{cancel: &req}, "cancel")
}

// acceptingRequests refuses merchants' requests to a final payment, and to a parked one: the
// operator decides first.
func (p *payment) acceptingRequests(action string) error {
	if p.closing || p.state.Status.Terminal() {
		return unexpectedState(action, p.state.Status)
	}
	if p.gate.attention != nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("This payment is under review by Durapay's operators; it cannot be %s now.", pastTense[action]),
			schemas.ErrTypePaymentUnexpectedState, nil)
	}
	return nil
}

// enqueue hands a command to the main loop and waits for its outcome.
func (p *payment) enqueue(ctx workflow.Context, cmd *command, action string) (schemas.Payment, error) {
	p.commands = append(p.commands, cmd)
	if err := workflow.Await(ctx, func() bool { return cmd.done || p.closing }); err != nil {
		return schemas.Payment{}, err
	}
	if !cmd.done { // the payment became final before the command's turn
		return p.state, unexpectedState(action, p.state.Status)
	}
	return cmd.result, cmd.err
}

// decide hands an operator's decision to the parked payment and answers once the payment
// has acted on it: with the step's outcome, or parked again.
func (p *payment) decide(ctx workflow.Context, d schemas.OperatorDecision) (schemas.Payment, error) {
	if err := p.gate.decided(ctx, d); err != nil {
		return schemas.Payment{}, err
	}
	if err := workflow.Await(ctx, func() bool { return p.idle }); err != nil {
		return schemas.Payment{}, err
	}
	return p.state, nil
}
