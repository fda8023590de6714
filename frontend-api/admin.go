package main

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/audit"
	"github.com/durapay/durapay/internal/payments"
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
		s.audit(r, "payment.operator_"+action, rec.ID, outcome, map[string]string{"reason": body.Reason})
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
