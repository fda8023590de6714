package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// adminPayment is a payment as operators see it: the merchant's view, where its workflow
// lives, and why it waits for them (if it does).
type adminPayment struct {
	schemas.Payment
	WorkflowID string             `json:"workflow_id"`
	Attention  *schemas.Attention `json:"attention,omitempty"`
}

// operatorDecisionBody is POST /v1/admin/payments/{id}/retry and .../cancel.
type operatorDecisionBody struct {
	Reason string `json:"reason"`
}

const maxReasonLength = 500

func (s *server) adminGetPayment(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.findPayment(r.Context(), "", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminPayment(rec))
	return nil
}

// adminRetryPayment tells a payment parked in needs_attention to run its failed step again.
func (s *server) adminRetryPayment(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, schemas.DecisionRetry)
}

// adminCancelPayment tells a parked payment to give up: its PaymentIntent is canceled (an
// authorization released) unless it turns out to have succeeded.
func (s *server) adminCancelPayment(w http.ResponseWriter, r *http.Request) error {
	return s.decide(w, r, schemas.DecisionCancel)
}

func (s *server) decide(w http.ResponseWriter, r *http.Request, action string) error {
	ctx := r.Context()
	var body operatorDecisionBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Reason) > maxReasonLength {
		return newError(codeParameterInvalid, "reason", "reason must be at most 500 characters.")
	}
	who := principalFrom(ctx)
	decision := schemas.OperatorDecision{Action: action, Operator: who.operator(), Reason: body.Reason}
	id := mux.Vars(r)["id"]
	return s.idempotently(w, r, fingerprint(action, id, body), func(r *http.Request) (int, any, error) {
		ctx := r.Context()
		rec, err := s.findPayment(ctx, "", id)
		if err != nil {
			return 0, nil, err
		}
		p, err := s.sendUpdate(ctx, rec, schemas.UpdateOperatorDecision, decision, "decided on")
		outcome := audit.Success
		if err != nil {
			outcome = audit.Refused
		}
		// The request, under the caller's authenticated identity; the payment's workflow audits
		// the decision as it applies it (payment.operator_<action>).
		s.audit(r, "payment.operator_"+action+".requested", rec.ID, outcome, map[string]string{"reason": body.Reason})
		if err != nil {
			return 0, nil, err
		}
		rec.Payment, rec.Attention = p, nil
		if after, err := s.findPayment(ctx, "", id); err == nil { // parked again?
			rec.Attention = after.Attention
		}
		return http.StatusOK, toAdminPayment(rec), nil
	})
}

func toAdminPayment(rec payments.Record) adminPayment {
	return adminPayment{Payment: rec.Payment, WorkflowID: rec.WorkflowID, Attention: rec.Attention}
}

// adminRefund is a refund as operators see it: the merchant's view, where its workflow
// lives, and why it waits for them (if it does).
type adminRefund struct {
	schemas.Refund
	WorkflowID string             `json:"workflow_id"`
	Attention  *schemas.Attention `json:"attention,omitempty"`
}

func toAdminRefund(rec refunds.Record) adminRefund {
	return adminRefund{Refund: rec.Refund, WorkflowID: rec.WorkflowID, Attention: rec.Attention}
}

// findAnyRefund reads any merchant's refund, for staff.
func (s *server) findAnyRefund(ctx context.Context, id string) (refunds.Record, error) {
	notFound := newError(codeResourceMissing, "id", "No such refund: '"+id+"'")
	if !refundIDPattern.MatchString(id) {
		return refunds.Record{}, notFound
	}
	rec, err := refunds.GetAny(ctx, s.pool, id)
	if errors.Is(err, pg.ErrNotFound) {
		return refunds.Record{}, notFound
	}
	return rec, err
}

func (s *server) adminGetRefund(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.findAnyRefund(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAdminRefund(rec))
	return nil
}

// adminRetryRefund tells a refund parked in needs_attention to run its failed step again
// (after making sure Stripe has not made the refund meanwhile).
func (s *server) adminRetryRefund(w http.ResponseWriter, r *http.Request) error {
	return s.decideRefund(w, r, schemas.DecisionRetry)
}

// adminCancelRefund tells a parked refund to give up: it fails, and its amount is
// refundable again, unless Stripe made it after all.
func (s *server) adminCancelRefund(w http.ResponseWriter, r *http.Request) error {
	return s.decideRefund(w, r, schemas.DecisionCancel)
}

func (s *server) decideRefund(w http.ResponseWriter, r *http.Request, action string) error {
	var body operatorDecisionBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Reason) > maxReasonLength {
		return newError(codeParameterInvalid, "reason", "reason must be at most 500 characters.")
	}
	decision := schemas.OperatorDecision{Action: action, Operator: principalFrom(r.Context()).operator(), Reason: body.Reason}
	id := mux.Vars(r)["id"]
	return s.idempotently(w, r, fingerprint("refund", action, id, body), func(r *http.Request) (int, any, error) {
		ctx := r.Context()
		rec, err := s.findAnyRefund(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		waitCtx, cancel := context.WithTimeout(ctx, s.cfg.CreateTimeout)
		defer cancel()
		_, err = s.workflows.UpdateRefund(waitCtx, rec.Merchant, rec.ID, schemas.UpdateOperatorDecision, decision)
		outcome := audit.Success
		if err != nil {
			outcome = audit.Refused
		}
		s.audit(r, "refund.operator_"+action+".requested", rec.ID, outcome, map[string]string{"reason": body.Reason})
		switch {
		case errors.Is(err, errWorkflowClosed):
			return 0, nil, newError(codeRefundUnexpectedState, "", "This refund is not waiting for an operator's decision.")
		case workflowRefusal(err) != nil:
			return 0, nil, workflowRefusal(err)
		case err != nil:
			return 0, nil, unavailable("The refund service is temporarily unavailable."+retrySameKey, err)
		}
		if rec, err = s.findAnyRefund(ctx, id); err != nil { // parked again?
			return 0, nil, err
		}
		return http.StatusOK, toAdminRefund(rec), nil
	})
}
