package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/gorilla/mux"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

var refundIDPattern = regexp.MustCompile(`^rfd_[a-z2-7]{24}$`)

// Stripe's refund reasons.
var refundReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

// createRefundBody is POST /v1/refunds.
type createRefundBody struct {
	Payment string `json:"payment"`
	// Amount defaults to all that remains of the payment.
	Amount   *int64            `json:"amount"`
	Reason   string            `json:"reason"`
	Metadata map[string]string `json:"metadata"`
}

func (b createRefundBody) validate() error {
	switch {
	case b.Payment == "":
		return newError(codeParameterMissing, "payment", "Missing required parameter: payment (the ID of the payment to refund).")
	case b.Amount != nil && *b.Amount <= 0:
		return newError(codeAmountInvalid, "amount", "amount must be a positive integer of the currency's minor units.")
	case b.Reason != "" && !refundReasons[b.Reason]:
		return newError(codeParameterInvalid, "reason", "reason must be one of duplicate, fraudulent, requested_by_customer.")
	}
	return validateMetadata(b.Metadata)
}

// createRefund is POST /v1/refunds: the refund answered in one round trip, once Stripe has
// it (status pending or succeeded). The Idempotency-Key is required, as for payments: a
// retry gets the saved answer, and refunds are never doubled by a client's retries.
func (s *server) createRefund(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	merchantID := merchantFrom(ctx)
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body createRefundBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	in := schemas.RefundInput{
		RefundID: schemas.RefundID(merchantID, key), MerchantID: merchantID, PaymentID: body.Payment, IdempotencyKey: key,
		Reason: body.Reason, Metadata: body.Metadata,
		Policy: schemas.RefundPolicy{FailureWindow: s.cfg.RefundFailureWindow, StripeRetryBudget: s.cfg.StripeRetryBudget},
	}
	if body.Amount != nil {
		in.Amount = *body.Amount
	}
	in.RequestHash = fingerprint("refund", in.PaymentID, in.Amount, in.Reason, in.Metadata)
	return s.idempotently(w, r, in.RequestHash, func(r *http.Request) (status int, answer any, err error) {
		ctx := r.Context()
		defer func() {
			outcome := audit.Success
			if err != nil {
				outcome = audit.Refused
			}
			s.audit(r, "refund.create", in.RefundID, outcome, map[string]string{"payment": in.PaymentID, "amount": fmt.Sprint(in.Amount)})
		}()
		// A refund recorded under this key is the answer, whatever became of its workflow
		// (removed by Temporal's retention) and of Stripe's memory of the key (24 hours).
		if status, answer, err := s.recordedRefund(ctx, merchantID, in); !errors.Is(err, pg.ErrNotFound) {
			return status, answer, err
		}
		rec, err := s.findPayment(ctx, merchantID, body.Payment)
		if err != nil {
			if ae := (*apiError)(nil); errors.As(err, &ae) && ae.code == codeResourceMissing {
				ae.param = "payment"
			}
			return 0, nil, err
		}
		if !rec.Status.Captured() {
			return 0, nil, notCaptured(fmt.Sprintf("This payment's status is %s: only captured payments can be refunded.", rec.Status))
		}
		waitCtx, cancel := context.WithTimeout(ctx, s.cfg.CreateTimeout)
		defer cancel()
		res, err := s.workflows.CreateRefund(waitCtx, in)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil && res.Refund.Status == schemas.RefundFailed:
			return 0, nil, newError(codeRefundFailed, "", "Stripe refused the refund: "+res.Refund.FailureReason+".")
		case err == nil:
			return http.StatusCreated, res.Refund, nil
		case errors.As(err, &appErr) && appErr.Type() == schemas.ErrTypePaymentNotCaptured:
			return 0, nil, notCaptured(appErr.Message())
		case errors.As(err, &appErr) && appErr.Type() == schemas.ErrTypeRefundExceedsRemaining:
			return 0, nil, newError(codeAmountTooLarge, "amount",
				fmt.Sprintf("The refund exceeds what remains refundable of the payment (%d of %d).", rec.AmountCaptured-rec.AmountRefunded, rec.AmountCaptured))
		case errors.As(err, &appErr) && appErr.Type() == schemas.ErrTypeIdempotencyKeyReused:
			return 0, nil, reusedKey()
		case errors.Is(err, errWorkflowClosed):
			if status, answer, err := s.recordedRefund(ctx, merchantID, in); !errors.Is(err, pg.ErrNotFound) {
				return status, answer, err
			}
			return 0, nil, newError(codeIdempotencyKeyUnavailable, "",
				"A refund with this Idempotency-Key was refused or stopped before it was recorded. Use a new Idempotency-Key.")
		case waitCtx.Err() != nil && ctx.Err() == nil:
			// Stripe is slow: the refund carries on, and the client reads it by its ID.
			return http.StatusAccepted, schemas.Refund{ID: in.RefundID, Object: schemas.ObjectRefund, Merchant: merchantID,
				Payment: in.PaymentID, Amount: in.Amount, Currency: rec.Currency, Status: schemas.RefundPending,
				Reason: in.Reason, Metadata: nonNil(in.Metadata), Created: time.Now().Unix()}, nil
		}
		return 0, nil, &apiError{code: codeServiceUnavailable, retryAfter: time.Second, cause: err,
			message: "The refund service is temporarily unavailable. Retry with the same Idempotency-Key."}
	})
}

// recordedRefund answers a create from the refund recorded under its key, or
// pg.ErrNotFound: a refund's ID derives from its key, so a retry finds it in Postgres
// whatever became of its workflow and saved answer, and can never make a second refund.
func (s *server) recordedRefund(ctx context.Context, merchantID string, in schemas.RefundInput) (int, any, error) {
	rec, err := refunds.Get(ctx, s.pool, merchantID, in.RefundID)
	switch {
	case err != nil:
		return 0, nil, err
	case rec.RequestHash != in.RequestHash:
		return 0, nil, reusedKey()
	}
	return http.StatusOK, rec.Refund, nil
}

func notCaptured(message string) error { return newError(codePaymentNotCaptured, "payment", message) }

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// getRefund is GET /v1/refunds/{id}.
func (s *server) getRefund(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	notFound := newError(codeResourceMissing, "id", "No such refund: '"+id+"'")
	if !refundIDPattern.MatchString(id) {
		return notFound
	}
	rec, err := refunds.Get(r.Context(), s.pool, merchantFrom(r.Context()), id)
	if errors.Is(err, pg.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec.Refund)
	return nil
}

// listPaymentRefunds is GET /v1/payments/{id}/refunds, oldest first.
func (s *server) listPaymentRefunds(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := s.findPayment(ctx, merchantFrom(ctx), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	list, err := refunds.ForPayment(ctx, s.pool, rec.Merchant, rec.ID)
	if err != nil {
		return err
	}
	data := make([]schemas.Refund, len(list))
	for i, rf := range list {
		data[i] = rf.Refund
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}
