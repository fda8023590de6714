package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/gorilla/mux"

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
// it (status pending or succeeded). The Idempotency-Key is required, as for payments
// (createOnce): refunds are never doubled by a client's retries.
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
	var currency string // the payment's, once found
	err = createOnce(s, w, r, creation[schemas.Refund]{
		key: key, requestHash: in.RequestHash, service: "The refund service",
		recorded: func(ctx context.Context) (schemas.Refund, string, error) {
			rec, err := refunds.Get(ctx, s.pool, merchantID, in.RefundID)
			return rec.Refund, rec.RequestHash, err
		},
		inFlight: func(rf schemas.Refund) bool { return rf.Status == schemas.RefundPending && rf.StripeRefundID == "" },
		start: func(ctx context.Context) (schemas.Refund, bool, error) {
			rec, err := s.findPayment(ctx, merchantID, body.Payment)
			if err != nil {
				if ae := (*apiError)(nil); errors.As(err, &ae) && ae.code == codeResourceMissing {
					ae.param = "payment"
				}
				return schemas.Refund{}, false, err
			}
			if !rec.Status.Captured() {
				return schemas.Refund{}, false, notCaptured(fmt.Sprintf("This payment's status is %s: only captured payments can be refunded.", rec.Status))
			}
			currency = rec.Currency
			res, err := s.workflows.CreateRefund(ctx, in)
			return res.Refund, res.Replayed, err
		},
		answer: func(w http.ResponseWriter, rf schemas.Refund, replayed bool) error {
			if rf.Status == schemas.RefundFailed && !replayed {
				return newError(codeRefundFailed, "", "Stripe refused the refund: "+rf.FailureReason+".")
			}
			writeCreated(w, rf, replayed) // a replay shows the refund as it is now
			return nil
		},
		pending: func() schemas.Refund {
			return schemas.Refund{ID: in.RefundID, Object: schemas.ObjectRefund, Merchant: merchantID, Payment: in.PaymentID,
				Amount: in.Amount, Currency: currency, Status: schemas.RefundPending, Reason: in.Reason,
				Metadata: nonNil(in.Metadata), Created: time.Now().Unix()}
		},
	})
	outcome := audit.Success
	if err != nil {
		outcome = audit.Refused
	}
	s.audit(r, "refund.create", in.RefundID, outcome, map[string]string{"payment": in.PaymentID, "amount": fmt.Sprint(in.Amount)})
	return err
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
