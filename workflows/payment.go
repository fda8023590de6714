package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// Steps name the external writes of a payment. With the workflow ID they form the
// idempotency key of each Stripe request: stable across attempts, runs and workers.
const stepCreatePaymentIntent = "create_payment_intent"

// PaymentWorkflow carries one payment from the merchant's request to its outcome.
//
// It is started by Update-With-Start: the CreatePayment update waits until the first outcome
// (succeeded, failed, ...) is known and recorded in Postgres, and answers with the payment, so
// the merchant's HTTP request gets its answer in one round trip. Events are published after
// the answer.
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
	workflowID string
	logger     log.Logger

	state schemas.Payment
	// version counts state changes; it orders read-model writes and names events.
	version   int64
	changedAt time.Time
	// answerable is set once the state the create update answers with is recorded.
	answerable bool
	// firstUpdateID is the create update that started the payment; later ones are replays.
	firstUpdateID string
	// unpublished holds events of recorded changes, in order, until Kafka has them.
	unpublished []schemas.Event
}

func newPayment(ctx workflow.Context, in schemas.PaymentInput) (*payment, error) {
	info := workflow.GetInfo(ctx)
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	p := &payment{
		in:         in,
		workflowID: info.WorkflowExecution.ID,
		logger:     log.With(workflow.GetLogger(ctx), "PaymentID", in.PaymentID, "MerchantID", in.MerchantID),
		state: schemas.Payment{
			ID: in.PaymentID, Object: schemas.ObjectPayment, Merchant: in.MerchantID, Amount: in.Amount,
			Currency: in.Currency, Status: schemas.PaymentProcessing, CaptureMethod: in.CaptureMethod,
			PaymentMethod: in.PaymentMethod, Description: in.Description, Metadata: metadata,
			Created: info.WorkflowStartTime.Unix(),
		},
	}
	if err := workflow.SetQueryHandler(ctx, schemas.QueryPayment, func() (schemas.Payment, error) {
		return p.state, nil
	}); err != nil {
		return nil, fmt.Errorf("register query %s: %w", schemas.QueryPayment, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, schemas.UpdateCreatePayment, p.answerCreate,
		workflow.UpdateHandlerOptions{Validator: p.validateCreate}); err != nil {
		return nil, fmt.Errorf("register update %s: %w", schemas.UpdateCreatePayment, err)
	}
	return p, nil
}

func (p *payment) run(ctx workflow.Context) (schemas.Payment, error) {
	if err := p.authorize(ctx); err != nil {
		return p.state, err
	}
	p.answerable = true
	if err := p.publish(ctx); err != nil {
		return p.state, err
	}
	// An update that arrived at the very end must still get its answer.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return p.state, err
	}
	return p.state, nil
}

// validateCreate rejects a create whose request differs from the one that started the
// payment: the client reused an Idempotency-Key. Rejected updates leave no trace in history.
func (p *payment) validateCreate(_ workflow.Context, req schemas.CreatePaymentRequest) error {
	if req.RequestHash != p.in.RequestHash {
		return temporal.NewNonRetryableApplicationError(
			"this Idempotency-Key was already used with a different request", schemas.ErrTypeIdempotencyKeyReused, nil)
	}
	return nil
}

// answerCreate answers every create update, the first and its retries, once the payment's
// first outcome is recorded.
func (p *payment) answerCreate(ctx workflow.Context, _ schemas.CreatePaymentRequest) (schemas.CreatePaymentResult, error) {
	updateID := workflow.GetCurrentUpdateInfo(ctx).ID
	if p.firstUpdateID == "" {
		p.firstUpdateID = updateID
	}
	if err := workflow.Await(ctx, func() bool { return p.answerable }); err != nil {
		return schemas.CreatePaymentResult{}, err
	}
	return schemas.CreatePaymentResult{Payment: p.state, Replayed: updateID != p.firstUpdateID}, nil
}

// authorize creates and confirms the PaymentIntent and records the outcome.
func (p *payment) authorize(ctx workflow.Context) error {
	pi, err := activities.ExecCreatePaymentIntent(workflow.WithLocalActivityOptions(ctx, stripeCall),
		activities.CreatePaymentIntentRequest{
			IdempotencyKey: p.idempotencyKey(stepCreatePaymentIntent),
			PaymentID:      p.in.PaymentID, MerchantID: p.in.MerchantID, WorkflowID: p.workflowID,
			Amount: p.in.Amount, Currency: p.in.Currency, PaymentMethod: p.in.PaymentMethod,
			CaptureMethod: string(p.in.CaptureMethod), Description: p.in.Description, Metadata: p.in.Metadata,
		})
	if err != nil {
		failure, errType, refused := activities.StripeFailureOf(err)
		if !refused || (errType != activities.ErrTypeStripeCard && errType != activities.ErrTypeStripeInvalidRequest) {
			return fmt.Errorf("create PaymentIntent: %w", err)
		}
		p.logger.Info("Payment refused by Stripe", "Code", failure.Code, "DeclineCode", failure.DeclineCode)
		return p.change(ctx, schemas.EventPaymentFailed, func(s *schemas.Payment) {
			s.Status = schemas.PaymentFailed
			s.StripePaymentIntentID = failure.PaymentIntentID
			s.Failure = &schemas.PaymentFailure{Type: failure.Type, Code: failure.Code, DeclineCode: failure.DeclineCode, Message: failure.Message}
		})
	}
	return p.applyPaymentIntent(ctx, pi)
}

// applyPaymentIntent moves the payment to the state Stripe's PaymentIntent is in.
func (p *payment) applyPaymentIntent(ctx workflow.Context, pi activities.PaymentIntent) error {
	switch pi.Status {
	case "succeeded":
		return p.change(ctx, schemas.EventPaymentSucceeded, func(s *schemas.Payment) {
			s.Status = schemas.PaymentSucceeded
			s.StripePaymentIntentID = pi.ID
			s.AmountCaptured = pi.AmountReceived
			s.NextAction = nil
		})
	case "requires_capture":
		return p.change(ctx, "", func(s *schemas.Payment) {
			s.Status = schemas.PaymentRequiresCapture
			s.StripePaymentIntentID = pi.ID
			s.AmountCapturable = pi.AmountCapturable
		})
	case "requires_action":
		return p.change(ctx, "", func(s *schemas.Payment) {
			s.Status = schemas.PaymentRequiresAction
			s.StripePaymentIntentID = pi.ID
			s.NextAction = pi.NextAction
		})
	default:
		return p.change(ctx, "", func(s *schemas.Payment) { s.StripePaymentIntentID = pi.ID })
	}
}

// change applies one state change: a new version, the search attributes operators filter
// on, the read model (before anyone is told), and an event queued for Kafka.
func (p *payment) change(ctx workflow.Context, eventType string, mutate func(*schemas.Payment)) error {
	mutate(&p.state)
	p.version++
	p.changedAt = workflow.Now(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		schemas.SearchPaymentStatus.ValueSet(string(p.state.Status)),
		schemas.SearchStripePaymentIntentID.ValueSet(p.state.StripePaymentIntentID),
	); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	err := activities.ExecRecordPayment(workflow.WithLocalActivityOptions(ctx, dbWrite), activities.RecordPaymentRequest{
		Payment: p.state, IdempotencyKey: p.in.IdempotencyKey, RequestHash: p.in.RequestHash,
		WorkflowID: p.workflowID, Version: p.version, At: p.changedAt,
	})
	if err != nil {
		return fmt.Errorf("record payment version %d: %w", p.version, err)
	}
	if eventType != "" {
		// encoding/json writes map keys in sorted order, so the bytes are the same on replay.
		data, err := json.Marshal(p.state) //workflowcheck:ignore
		if err != nil {
			return fmt.Errorf("encode payment for %s: %w", eventType, err)
		}
		p.unpublished = append(p.unpublished, schemas.Event{
			ID:   schemas.EventID(p.in.PaymentID, eventType, strconv.FormatInt(p.version, 10)),
			Type: eventType, Created: p.changedAt.Unix(), Merchant: p.in.MerchantID,
			SchemaVersion: schemas.PaymentEventSchemaVersion, Data: data,
		})
	}
	return nil
}

// publish sends the queued events in order.
func (p *payment) publish(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, eventPublish)
	for len(p.unpublished) > 0 {
		ev := p.unpublished[0]
		err := activities.ExecPublishEvent(actx, activities.PublishEventRequest{Topic: schemas.TopicPayments, Key: p.in.PaymentID, Event: ev})
		if err != nil {
			return fmt.Errorf("publish %s: %w", ev.Type, err)
		}
		p.unpublished = p.unpublished[1:]
	}
	return nil
}

func (p *payment) idempotencyKey(step string) string { return p.workflowID + "/" + step }
