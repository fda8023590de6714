package main

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/schemas"
)

// paymentWorkflows is what the handlers need from Temporal. frontend-api knows workflows
// only by the names and types in schemas/.
type paymentWorkflows interface {
	// Create starts the payment's workflow, or reaches the running one, and waits for its
	// answer. updateID names this request: the workflow tells the first from retries by it.
	Create(ctx context.Context, in schemas.PaymentInput, updateID string) (schemas.CreatePaymentResult, error)
	// Get asks a running payment workflow for its state.
	Get(ctx context.Context, merchantID, paymentID string) (schemas.Payment, error)
	// CreateRefund starts the refund's workflow, or reaches the running one, and waits for
	// its answer.
	CreateRefund(ctx context.Context, in schemas.RefundInput) (schemas.CreateRefundResult, error)
	// StartOnboarding starts a merchant's onboarding (or reaches it) and waits for its first
	// state.
	StartOnboarding(ctx context.Context, in schemas.OnboardingInput) (schemas.OnboardingState, error)
	// CreateCustomer runs the customer's workflow (or finds it) and returns the customer.
	CreateCustomer(ctx context.Context, in schemas.CustomerInput) (schemas.Customer, error)
	// ReviewMerchant sends an operator's decision on a merchant.
	ReviewMerchant(ctx context.Context, merchantID string, d schemas.ReviewDecision) (schemas.OnboardingState, error)
	// ListPayments runs a visibility query: one page of payment workflows and the next
	// page's token.
	ListPayments(ctx context.Context, query string, pageSize int, token []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error)
	// StartWebhookDelivery starts a delivery's workflow, once.
	StartWebhookDelivery(ctx context.Context, deliveryID string, policy schemas.WebhookRetryPolicy) error
	// Update sends one of the payment's updates (capture, cancel, operator decision) and
	// waits for its answer: the payment after it, or errWorkflowClosed.
	Update(ctx context.Context, merchantID, paymentID, name string, arg any) (schemas.Payment, error)
	// UpdateRefund sends one of the refund's updates (an operator's decision) and waits for
	// its answer: the refund after it, or errWorkflowClosed.
	UpdateRefund(ctx context.Context, merchantID, refundID, name string, arg any) (schemas.Refund, error)
}

var (
	// errWorkflowClosed: the payment's workflow has finished, so its answer is in Postgres.
	errWorkflowClosed = errors.New("payment workflow already closed")
	errNoWorkflow     = errors.New("no such payment workflow")
)

type temporalPayments struct {
	client    client.Client
	taskQueue string
}

// Create sends the CreatePayment update with Update-With-Start on workflow ID
// payment/<merchant>/<payment>: USE_EXISTING makes a retry reach the same workflow, and
// REJECT_DUPLICATE keeps a finished payment from ever being started again.
func (t temporalPayments) Create(ctx context.Context, in schemas.PaymentInput, updateID string) (schemas.CreatePaymentResult, error) {
	var res schemas.CreatePaymentResult
	err := t.updateWithStart(ctx, client.StartWorkflowOptions{
		ID: schemas.PaymentWorkflowID(in.MerchantID, in.PaymentID),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			schemas.SearchMerchantID.ValueSet(in.MerchantID),
			schemas.SearchAmountMinor.ValueSet(in.Amount.Minor),
			schemas.SearchCurrency.ValueSet(in.Currency.String()),
			schemas.SearchPaymentStatus.ValueSet(string(schemas.PaymentProcessing)),
		),
	}, schemas.PaymentWorkflowName, in, schemas.UpdateCreatePayment, updateID, schemas.CreatePaymentRequest{RequestHash: in.RequestHash}, &res)
	return res, err
}

func (t temporalPayments) CreateRefund(ctx context.Context, in schemas.RefundInput) (schemas.CreateRefundResult, error) {
	var res schemas.CreateRefundResult
	err := t.updateWithStart(ctx, client.StartWorkflowOptions{ID: schemas.RefundWorkflowID(in.MerchantID, in.RefundID)},
		schemas.RefundWorkflowName, in, schemas.UpdateCreateRefund, "", schemas.CreateRefundRequest{RequestHash: in.RequestHash}, &res)
	return res, err
}

func (t temporalPayments) StartOnboarding(ctx context.Context, in schemas.OnboardingInput) (schemas.OnboardingState, error) {
	var st schemas.OnboardingState
	err := t.updateWithStart(ctx, client.StartWorkflowOptions{ID: schemas.OnboardingWorkflowID(in.MerchantID)},
		schemas.OnboardingWorkflowName, in, schemas.UpdateOnboardingStarted, "", nil, &st)
	return st, err
}

func (t temporalPayments) CreateCustomer(ctx context.Context, in schemas.CustomerInput) (schemas.Customer, error) {
	run, err := t.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: schemas.CustomerWorkflowID(in.MerchantID, in.CustomerID), TaskQueue: t.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A finished creation may run again: the activity finds the customer and returns it.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, schemas.CustomerWorkflowName, in)
	if err != nil {
		return schemas.Customer{}, fmt.Errorf("start customer %s: %w", in.CustomerID, err)
	}
	var c schemas.Customer
	if err := run.Get(ctx, &c); err != nil {
		return schemas.Customer{}, fmt.Errorf("customer %s: %w", in.CustomerID, err)
	}
	return c, nil
}

func (t temporalPayments) StartWebhookDelivery(ctx context.Context, deliveryID string, policy schemas.WebhookRetryPolicy) error {
	return webhooks.StartDelivery(ctx, t.client, deliveryID, policy)
}

func (t temporalPayments) ReviewMerchant(ctx context.Context, merchantID string, d schemas.ReviewDecision) (schemas.OnboardingState, error) {
	handle, err := t.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: schemas.OnboardingWorkflowID(merchantID),
		UpdateName: schemas.UpdateReviewMerchant, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return schemas.OnboardingState{}, errWorkflowClosed
	}
	if err != nil {
		return schemas.OnboardingState{}, fmt.Errorf("review %s: %w", merchantID, err)
	}
	var st schemas.OnboardingState
	if err := handle.Get(ctx, &st); err != nil {
		return schemas.OnboardingState{}, fmt.Errorf("review %s: %w", merchantID, err)
	}
	return st, nil
}

// updateWithStart sends an update with Update-With-Start: USE_EXISTING makes a retry reach
// the same workflow, and REJECT_DUPLICATE keeps a finished one from ever being started
// again (errWorkflowClosed).
func (t temporalPayments) updateWithStart(ctx context.Context, opts client.StartWorkflowOptions, workflowName string, input any,
	updateName, updateID string, arg, result any) error {
	opts.TaskQueue = t.taskQueue
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	handle, err := t.client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: t.client.NewWithStartWorkflowOperation(opts, workflowName, input),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: updateID, UpdateName: updateName, Args: args(arg), WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return errWorkflowClosed
		}
		return fmt.Errorf("update-with-start %s: %w", opts.ID, err)
	}
	if err := handle.Get(ctx, result); err != nil {
		return fmt.Errorf("%s %s: %w", updateName, opts.ID, err)
	}
	return nil
}

func (t temporalPayments) Update(ctx context.Context, merchantID, paymentID, name string, arg any) (schemas.Payment, error) {
	var p schemas.Payment
	return p, t.update(ctx, schemas.PaymentWorkflowID(merchantID, paymentID), name, arg, &p)
}

func (t temporalPayments) UpdateRefund(ctx context.Context, merchantID, refundID, name string, arg any) (schemas.Refund, error) {
	var r schemas.Refund
	return r, t.update(ctx, schemas.RefundWorkflowID(merchantID, refundID), name, arg, &r)
}

// update sends an update to a running workflow and waits for its answer, or
// errWorkflowClosed.
func (t temporalPayments) update(ctx context.Context, workflowID, name string, arg, result any) error {
	handle, err := t.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return errWorkflowClosed
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, workflowID, err)
	}
	if err := handle.Get(ctx, result); err != nil {
		return fmt.Errorf("%s %s: %w", name, workflowID, err)
	}
	return nil
}

func (t temporalPayments) ListPayments(ctx context.Context, query string, pageSize int, token []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	resp, err := t.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: query, PageSize: int32(pageSize), NextPageToken: token})
	if err != nil {
		return nil, nil, fmt.Errorf("list workflows %q: %w", query, err)
	}
	return resp.Executions, resp.NextPageToken, nil
}

func (t temporalPayments) Get(ctx context.Context, merchantID, paymentID string) (schemas.Payment, error) {
	v, err := t.client.QueryWorkflow(ctx, schemas.PaymentWorkflowID(merchantID, paymentID), "", schemas.QueryPayment)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return schemas.Payment{}, errNoWorkflow
	}
	if err != nil {
		return schemas.Payment{}, fmt.Errorf("query payment %s: %w", paymentID, err)
	}
	var p schemas.Payment
	if err := v.Get(&p); err != nil {
		return schemas.Payment{}, fmt.Errorf("decode payment %s: %w", paymentID, err)
	}
	return p, nil
}

// args is an update's arguments: none for a nil argument.
func args(arg any) []any {
	if arg == nil {
		return nil
	}
	return []any{arg}
}
