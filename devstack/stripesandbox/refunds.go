package stripesandbox

import (
	"fmt"
	"time"
)

type refund struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction *string           `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	FailureReason      *string           `json:"failure_reason"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      string            `json:"payment_intent"`
	Reason             *string           `json:"reason"`
	Status             string            `json:"status"`
}

var refundReasons = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true}

// refundFailDelay is how long a refund of pm_card_refundFail stays succeeded before it
// fails, as Stripe's test card does asynchronously.
const refundFailDelay = 2 * time.Second

func (s *Server) createRefund(req *apiRequest) response {
	p := req.params
	if e := p.unknown("payment_intent", "charge", "amount", "reason", "metadata", "expand"); e != nil {
		return fail(e)
	}
	var ch *charge
	switch {
	case p.str("charge") != "":
		c, found := s.st.Charges[p.str("charge")]
		if !found {
			return fail(noSuch("charge", "charge", p.str("charge")))
		}
		ch = c
	case p.str("payment_intent") != "":
		pi, found := s.st.PaymentIntents[p.str("payment_intent")]
		if !found {
			return fail(noSuch("payment_intent", "payment_intent", p.str("payment_intent")))
		}
		if pi.Status != "succeeded" {
			return fail(unexpectedState("payment_intent_unexpected_state",
				fmt.Sprintf("This PaymentIntent (%s) does not have a successful charge to refund (status %s).", pi.ID, pi.Status), pi))
		}
		ch = s.st.Charges[*pi.LatestCharge]
	default:
		return fail(missingParam("payment_intent"))
	}
	reason := p.str("reason")
	if reason != "" && !refundReasons[reason] {
		return fail(badParam("reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"))
	}
	refundable := ch.Amount - ch.AmountRefunded
	if refundable == 0 {
		return fail(&apiError{status: 400, Type: "invalid_request_error", Code: "charge_already_refunded",
			Message: fmt.Sprintf("Charge %s has already been refunded.", ch.ID)})
	}
	amount, present, e := p.int("amount")
	if e != nil {
		return fail(e)
	}
	if !present {
		amount = refundable
	}
	if amount < 1 || amount > refundable {
		return fail(&apiError{status: 400, Type: "invalid_request_error", Code: "amount_too_large", Param: "amount",
			Message: fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, refundable)})
	}
	re := &refund{ID: newID("re"), Object: "refund", Amount: amount, Charge: ch.ID, Created: req.now.Unix(),
		Currency: ch.Currency, Metadata: p.strMap("metadata"), PaymentIntent: ch.PaymentIntent, Status: "succeeded"}
	if reason != "" {
		re.Reason = &reason
	}
	txn := s.addBalanceTransaction(req, "refund", re.ID, -amount, ch.Currency)
	re.BalanceTransaction = &txn.ID
	ch.AmountRefunded += amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	s.st.Refunds[re.ID] = re
	s.st.RefundOrder = append(s.st.RefundOrder, re.ID)
	s.emit(req, "refund.created", re)
	s.emit(req, "charge.refunded", ch)
	if testCards[ch.PaymentMethod].refundFails {
		time.AfterFunc(refundFailDelay, func() { s.failRefund(re.ID) })
	}
	return ok(re)
}

// failRefund turns a succeeded refund into a failed one and returns the money to the
// balance, as Stripe does when the card network rejects a refund after the fact.
func (s *Server) failRefund(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	re := s.st.Refunds[id]
	if re == nil || re.Status != "succeeded" {
		return
	}
	req := &apiRequest{id: newID("req"), now: s.cfg.Now()}
	reason := "expired_or_canceled_card"
	re.Status = "failed"
	re.FailureReason = &reason
	ch := s.st.Charges[re.Charge]
	ch.AmountRefunded -= re.Amount
	ch.Refunded = false
	s.addBalanceTransaction(req, "refund_failure", re.ID, re.Amount, re.Currency)
	s.emit(req, "refund.updated", re)
	s.emit(req, "charge.refund.updated", re)
}

func (s *Server) retrieveRefund(req *apiRequest) response {
	re, found := s.st.Refunds[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("refund", "id", req.r.PathValue("id")))
	}
	return ok(re)
}

func (s *Server) listRefunds(req *apiRequest) response {
	if e := req.params.unknown("limit", "starting_after", "ending_before", "payment_intent", "charge", "created", "expand"); e != nil {
		return fail(e)
	}
	pi, ch := req.params.str("payment_intent"), req.params.str("charge")
	created, e := parseRange(req.params, "created")
	if e != nil {
		return fail(e)
	}
	return listOf(req, "/v1/refunds", s.st.RefundOrder, func(id string) (any, bool) {
		re := s.st.Refunds[id]
		keep := (pi == "" || re.PaymentIntent == pi) && (ch == "" || re.Charge == ch) && created.contains(re.Created)
		return re, keep
	})
}
