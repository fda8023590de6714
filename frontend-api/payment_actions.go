package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// capturePaymentBody is POST /v1/payments/{id}/capture.
type capturePaymentBody struct {
	// AmountToCapture is at most the authorized amount; absent captures all of it.
	AmountToCapture *int64 `json:"amount_to_capture"`
}

// cancelPaymentBody is POST /v1/payments/{id}/cancel.
type cancelPaymentBody struct {
	CancellationReason string `json:"cancellation_reason"`
}

// Stripe's cancellation reasons, which a merchant may give.
var cancellationReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true, "abandoned": true}

// capturePayment captures an authorized (requires_capture) payment: all of it, or
// amount_to_capture, releasing the rest.
func (s *server) capturePayment(w http.ResponseWriter, r *http.Request) error {
	var body capturePaymentBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	req := schemas.CaptureRequest{}
	if body.AmountToCapture != nil {
		if *body.AmountToCapture <= 0 {
			return newError(codeAmountInvalid, "amount_to_capture", "amount_to_capture must be a positive integer of the currency's minor units.")
		}
		req.AmountToCapture = *body.AmountToCapture
	}
	return s.updatePayment(w, r, schemas.UpdateCapturePayment, req, "captured")
}

// cancelPayment cancels a payment that has not succeeded (requires_capture,
// requires_action, processing), releasing any authorization.
func (s *server) cancelPayment(w http.ResponseWriter, r *http.Request) error {
	var body cancelPaymentBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	if body.CancellationReason != "" && !cancellationReasons[body.CancellationReason] {
		return newError(codeParameterInvalid, "cancellation_reason",
			"cancellation_reason must be one of duplicate, fraudulent, requested_by_customer, abandoned.")
	}
	return s.updatePayment(w, r, schemas.UpdateCancelPayment, schemas.CancelRequest{Reason: body.CancellationReason}, "canceled")
}

// updatePayment sends a merchant's request to the payment's workflow, idempotently.
func (s *server) updatePayment(w http.ResponseWriter, r *http.Request, update string, arg any, pastTense string) error {
	ctx := r.Context()
	id, merchantID := mux.Vars(r)["id"], merchantFrom(ctx)
	return s.idempotently(w, r, fingerprint(update, id, arg), func(r *http.Request) (int, any, error) {
		ctx := r.Context()
		rec, err := s.findPayment(ctx, merchantID, id)
		if err != nil {
			return 0, nil, err
		}
		p, err := s.sendUpdate(ctx, rec, update, arg, pastTense)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, p, nil
	})
}

// findPayment reads the merchant's payment; another merchant's is as missing as none.
func (s *server) findPayment(ctx context.Context, merchantID, id string) (payments.Record, error) {
	notFound := newError(codeResourceMissing, "id", "No such payment: '"+id+"'")
	if !paymentIDPattern.MatchString(id) {
		return payments.Record{}, notFound
	}
	var rec payments.Record
	var err error
	if merchantID == "" { // staff see every merchant's payments
		rec, err = payments.GetAny(ctx, s.pool, id)
	} else {
		rec, err = payments.Get(ctx, s.pool, merchantID, id)
	}
	if errors.Is(err, pg.ErrNotFound) {
		return payments.Record{}, notFound
	}
	return rec, err
}

// sendUpdate delivers an update to the payment's workflow and maps its refusals to answers.
func (s *server) sendUpdate(ctx context.Context, rec payments.Record, update string, arg any, pastTense string) (schemas.Payment, error) {
	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.CreateTimeout)
	defer cancel()
	p, err := s.workflows.Update(waitCtx, rec.Merchant, rec.ID, update, arg)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, errWorkflowClosed):
		// The workflow ended: the payment is final, as the read model says.
		return schemas.Payment{}, newError(codePaymentUnexpectedState, "",
			fmt.Sprintf("This payment's status is %s; it cannot be %s.", rec.Status, pastTense))
	case workflowRefusal(err) != nil:
		return schemas.Payment{}, workflowRefusal(err)
	}
	return schemas.Payment{}, unavailable("The payment service is temporarily unavailable."+retrySameKey, err)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be left out.
func (s *server) decodeOptionalJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return s.decodeJSON(w, r, dst)
}
