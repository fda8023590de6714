package stripesandbox

import (
	"fmt"
	"regexp"
	"strings"
)

type paymentIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCapturable   int64             `json:"amount_capturable"`
	AmountReceived     int64             `json:"amount_received"`
	CanceledAt         *int64            `json:"canceled_at"`
	CancellationReason *string           `json:"cancellation_reason"`
	CaptureMethod      string            `json:"capture_method"`
	ClientSecret       string            `json:"client_secret"`
	ConfirmationMethod string            `json:"confirmation_method"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           *string           `json:"customer"`
	Description        *string           `json:"description"`
	LastPaymentError   *apiError         `json:"last_payment_error"`
	LatestCharge       *string           `json:"latest_charge"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	NextAction         map[string]any    `json:"next_action"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Status             string            `json:"status"`
}

type charge struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	Amount             int64   `json:"amount"`
	AmountCaptured     int64   `json:"amount_captured"`
	AmountRefunded     int64   `json:"amount_refunded"`
	BalanceTransaction *string `json:"balance_transaction"`
	Captured           bool    `json:"captured"`
	Created            int64   `json:"created"`
	Currency           string  `json:"currency"`
	FailureCode        *string `json:"failure_code"`
	FailureMessage     *string `json:"failure_message"`
	Paid               bool    `json:"paid"`
	PaymentIntent      string  `json:"payment_intent"`
	PaymentMethod      string  `json:"payment_method"`
	Refunded           bool    `json:"refunded"`
	Status             string  `json:"status"`
}

// Parameters the sandbox accepts on each PaymentIntent call: Stripe's own names, limited to
// those the sandbox understands, so a request it would silently misread is refused instead.
var (
	piCreateParams  = []string{"amount", "currency", "payment_method", "confirm", "capture_method", "metadata", "description", "customer", "return_url", "automatic_payment_methods", "payment_method_types", "off_session", "expand", "statement_descriptor", "statement_descriptor_suffix", "receipt_email", "error_on_requires_action", "use_stripe_sdk"}
	piConfirmParams = []string{"payment_method", "return_url", "off_session", "expand", "error_on_requires_action", "use_stripe_sdk", "receipt_email"}
	piCaptureParams = []string{"amount_to_capture", "metadata", "expand", "statement_descriptor", "statement_descriptor_suffix"}
	piCancelParams  = []string{"cancellation_reason", "expand"}
	cancelReasons   = map[string]bool{"duplicate": true, "fraudulent": true, "requested_by_customer": true, "abandoned": true}
)

// piCancelable lists the statuses Stripe lets a PaymentIntent be canceled from.
var piCancelable = map[string]bool{"requires_payment_method": true, "requires_capture": true, "requires_confirmation": true, "requires_action": true, "processing": true}

const maxAmount = 99_999_999

var currencyCode = regexp.MustCompile(`^[a-z]{3}$`)

func (s *Server) createPaymentIntent(req *apiRequest) response {
	p := req.params
	if e := p.unknown(piCreateParams...); e != nil {
		return fail(e)
	}
	amount, present, e := p.int("amount")
	switch {
	case e != nil:
		return fail(e)
	case !present:
		return fail(missingParam("amount"))
	case amount < 1:
		return fail(badParam("amount", "This value must be greater than or equal to 1."))
	case amount > maxAmount:
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "amount_too_large", Param: "amount",
			Message: "Amount must be no more than 99999999."})
	}
	currency := p.str("currency")
	if currency == "" {
		return fail(missingParam("currency"))
	}
	if !currencyCode.MatchString(currency) {
		return fail(badParam("currency", "Invalid currency: "+currency))
	}
	if currency == "usd" && amount < 50 {
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "amount_too_small", Param: "amount",
			Message: "Amount must be at least $0.50 usd"})
	}
	captureMethod := p.str("capture_method")
	switch captureMethod {
	case "":
		captureMethod = "automatic"
	case "automatic", "automatic_async", "manual":
	default:
		return fail(badParam("capture_method", "Invalid capture_method: must be one of automatic, automatic_async, or manual"))
	}
	confirm, e := p.bool("confirm")
	if e != nil {
		return fail(e)
	}
	pi := &paymentIntent{
		ID: newID("pi"), Object: "payment_intent", Amount: amount, Currency: currency,
		CaptureMethod: captureMethod, ConfirmationMethod: "automatic", Created: req.now.Unix(),
		Metadata: p.strMap("metadata"), PaymentMethodTypes: []string{"card"}, Status: "requires_payment_method",
	}
	pi.ClientSecret = pi.ID + "_secret_" + strings.TrimPrefix(newID("x"), "x_")
	if d := p.str("description"); d != "" {
		pi.Description = &d
	}
	if c := p.str("customer"); c != "" {
		if _, found := s.st.Customers[c]; !found {
			return fail(noSuch("customer", "customer", c))
		}
		pi.Customer = &c
	}
	if pm := p.str("payment_method"); pm != "" {
		if _, known := testCards[pm]; !known {
			return fail(noSuch("PaymentMethod", "payment_method", pm))
		}
		pi.PaymentMethod = &pm
		pi.Status = "requires_confirmation"
	}
	if confirm && pi.PaymentMethod == nil {
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "payment_intent_unexpected_state", Param: "payment_method",
			Message: "You cannot confirm this PaymentIntent because it's missing a payment method."})
	}
	s.st.PaymentIntents[pi.ID] = pi
	s.st.PaymentIntentOrder = append(s.st.PaymentIntentOrder, pi.ID)
	s.emit(req, "payment_intent.created", pi)
	if confirm {
		return s.confirm(req, pi, p.str("return_url"))
	}
	return ok(pi)
}

func (s *Server) confirmPaymentIntent(req *apiRequest) response {
	p := req.params
	if e := p.unknown(piConfirmParams...); e != nil {
		return fail(e)
	}
	pi, found := s.st.PaymentIntents[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("payment_intent", "intent", req.r.PathValue("id")))
	}
	if pm := p.str("payment_method"); pm != "" {
		if _, known := testCards[pm]; !known {
			return fail(noSuch("PaymentMethod", "payment_method", pm))
		}
		pi.PaymentMethod = &pm
	}
	if pi.Status != "requires_payment_method" && pi.Status != "requires_confirmation" {
		return fail(unexpectedState("payment_intent_unexpected_state",
			fmt.Sprintf("This PaymentIntent's status is %s, but it must be requires_payment_method or requires_confirmation to be confirmed.", pi.Status), pi))
	}
	if pi.PaymentMethod == nil {
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "payment_intent_unexpected_state", Param: "payment_method",
			Message: "You cannot confirm this PaymentIntent because it's missing a payment method."})
	}
	return s.confirm(req, pi, p.str("return_url"))
}

// confirm attempts the payment with the PaymentIntent's test card.
func (s *Server) confirm(req *apiRequest, pi *paymentIntent, returnURL string) response {
	card := testCards[*pi.PaymentMethod]
	pi.LastPaymentError = nil
	switch {
	case card.decline != nil:
		return s.decline(req, pi, card.decline)
	case card.authenticate:
		pi.Status = "requires_action"
		if returnURL != "" {
			pi.NextAction = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
				"return_url": returnURL, "url": req.base + "/_sandbox/authenticate/" + pi.ID}}
		} else {
			pi.NextAction = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{
				"type": "three_d_secure_redirect", "stripe_js": req.base + "/_sandbox/authenticate/" + pi.ID}}
		}
		s.emit(req, "payment_intent.requires_action", pi)
		return ok(pi)
	default:
		s.authorize(req, pi)
		return ok(pi)
	}
}

// authorize creates the successful charge: held for a manual capture, captured otherwise.
func (s *Server) authorize(req *apiRequest, pi *paymentIntent) {
	ch := &charge{ID: newID("ch"), Object: "charge", Amount: pi.Amount, Created: req.now.Unix(), Currency: pi.Currency,
		Paid: true, PaymentIntent: pi.ID, PaymentMethod: *pi.PaymentMethod, Status: "succeeded"}
	s.st.Charges[ch.ID] = ch
	pi.LatestCharge = &ch.ID
	pi.NextAction = nil
	if pi.CaptureMethod == "manual" {
		pi.Status = "requires_capture"
		pi.AmountCapturable = pi.Amount
		s.emit(req, "charge.succeeded", ch)
		s.emit(req, "payment_intent.amount_capturable_updated", pi)
		return
	}
	s.capture(req, pi, ch, pi.Amount)
	s.emit(req, "charge.succeeded", ch)
	s.emit(req, "payment_intent.succeeded", pi)
}

// capture moves amount of the charge into the balance; an uncaptured rest is released.
func (s *Server) capture(req *apiRequest, pi *paymentIntent, ch *charge, amount int64) {
	ch.Captured = true
	ch.AmountCaptured = amount
	if rest := ch.Amount - amount; rest > 0 {
		ch.AmountRefunded = rest // Stripe reports the released remainder as refunded
	}
	txn := s.addBalanceTransaction(req, "charge", ch.ID, amount, pi.Currency)
	ch.BalanceTransaction = &txn.ID
	pi.Status = "succeeded"
	pi.AmountReceived = amount
	pi.AmountCapturable = 0
}

func (s *Server) decline(req *apiRequest, pi *paymentIntent, d *cardDecline) response {
	ch := &charge{ID: newID("ch"), Object: "charge", Amount: pi.Amount, Created: req.now.Unix(), Currency: pi.Currency,
		PaymentIntent: pi.ID, PaymentMethod: *pi.PaymentMethod, Status: "failed", FailureCode: &d.code, FailureMessage: &d.message}
	s.st.Charges[ch.ID] = ch
	pi.LatestCharge = &ch.ID
	pi.Status = "requires_payment_method"
	pi.NextAction = nil
	pi.LastPaymentError = &apiError{Type: "card_error", Code: d.code, DeclineCode: d.declineCode, Message: d.message, Charge: ch.ID}
	s.emit(req, "charge.failed", ch)
	s.emit(req, "payment_intent.payment_failed", pi)
	return fail(&apiError{status: 402, Type: "card_error", Code: d.code, DeclineCode: d.declineCode, Message: d.message,
		Param: "payment_method", Charge: ch.ID, PaymentIntent: pi})
}

// Authenticate completes (or fails) 3-D Secure for a PaymentIntent in requires_action, as the
// customer would in the challenge window, and emits the resulting events.
func (s *Server) Authenticate(piID string, succeed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, found := s.st.PaymentIntents[piID]
	if !found {
		return fmt.Errorf("no such payment_intent: %s", piID)
	}
	if pi.Status != "requires_action" {
		return fmt.Errorf("payment_intent %s has status %s, not requires_action", piID, pi.Status)
	}
	req := &apiRequest{id: newID("req"), now: s.cfg.Now()}
	if succeed {
		s.authorize(req, pi)
		return nil
	}
	pi.Status = "requires_payment_method"
	pi.NextAction = nil
	pi.LastPaymentError = &apiError{Type: "invalid_request_error", Code: "payment_intent_authentication_failure",
		Message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."}
	s.emit(req, "payment_intent.payment_failed", pi)
	return nil
}

func (s *Server) capturePaymentIntent(req *apiRequest) response {
	p := req.params
	if e := p.unknown(piCaptureParams...); e != nil {
		return fail(e)
	}
	pi, found := s.st.PaymentIntents[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("payment_intent", "intent", req.r.PathValue("id")))
	}
	if pi.Status != "requires_capture" {
		return fail(unexpectedState("payment_intent_unexpected_state",
			fmt.Sprintf("This PaymentIntent could not be captured because it has a status of %s. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.", pi.Status), pi))
	}
	amount, present, e := p.int("amount_to_capture")
	if e != nil {
		return fail(e)
	}
	if !present {
		amount = pi.AmountCapturable
	}
	if amount < 1 || amount > pi.AmountCapturable {
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "amount_too_large", Param: "amount_to_capture",
			Message: fmt.Sprintf("The amount to capture (%d) must be positive and no more than the capturable amount (%d).", amount, pi.AmountCapturable)})
	}
	for k, v := range p.strMap("metadata") {
		pi.Metadata[k] = v
	}
	ch := s.st.Charges[*pi.LatestCharge]
	s.capture(req, pi, ch, amount)
	s.emit(req, "charge.captured", ch)
	s.emit(req, "payment_intent.succeeded", pi)
	return ok(pi)
}

func (s *Server) cancelPaymentIntent(req *apiRequest) response {
	p := req.params
	if e := p.unknown(piCancelParams...); e != nil {
		return fail(e)
	}
	pi, found := s.st.PaymentIntents[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("payment_intent", "intent", req.r.PathValue("id")))
	}
	reason := p.str("cancellation_reason")
	if reason != "" && !cancelReasons[reason] {
		return fail(badParam("cancellation_reason", "Invalid cancellation_reason: "+reason))
	}
	if !piCancelable[pi.Status] {
		return fail(unexpectedState("payment_intent_unexpected_state",
			fmt.Sprintf("You cannot cancel this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.", pi.Status), pi))
	}
	if pi.Status == "requires_capture" {
		ch := s.st.Charges[*pi.LatestCharge]
		ch.AmountRefunded = ch.Amount // the authorization is released
		ch.Refunded = true
	}
	now := req.now.Unix()
	pi.Status = "canceled"
	pi.CanceledAt = &now
	pi.AmountCapturable = 0
	pi.NextAction = nil
	if reason != "" {
		pi.CancellationReason = &reason
	}
	s.emit(req, "payment_intent.canceled", pi)
	return ok(pi)
}

func (s *Server) retrievePaymentIntent(req *apiRequest) response {
	pi, found := s.st.PaymentIntents[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("payment_intent", "intent", req.r.PathValue("id")))
	}
	return ok(pi)
}

func (s *Server) retrieveCharge(req *apiRequest) response {
	ch, found := s.st.Charges[req.r.PathValue("id")]
	if !found {
		return fail(noSuch("charge", "charge", req.r.PathValue("id")))
	}
	return ok(ch)
}

func (s *Server) listPaymentIntents(req *apiRequest) response {
	if e := req.params.unknown("limit", "starting_after", "ending_before", "customer", "created", "expand"); e != nil {
		return fail(e)
	}
	customer := req.params.str("customer")
	created, e := parseRange(req.params, "created")
	if e != nil {
		return fail(e)
	}
	return listOf(req, "/v1/payment_intents", s.st.PaymentIntentOrder, func(id string) (any, bool) {
		pi := s.st.PaymentIntents[id]
		if customer != "" && (pi.Customer == nil || *pi.Customer != customer) {
			return nil, false
		}
		return pi, created.contains(pi.Created)
	})
}

// searchClause matches one clause of Stripe's search query language that the sandbox
// supports: metadata['key']:'value', status:'value', currency:'value', customer:'value'.
var searchClause = regexp.MustCompile(`^\s*(metadata\['([^']+)'\]|status|currency|customer)\s*:\s*'([^']*)'\s*$`)

func (s *Server) searchPaymentIntents(req *apiRequest) response {
	if e := req.params.unknown("query", "limit", "page", "expand"); e != nil {
		return fail(e)
	}
	query := req.params.str("query")
	if query == "" {
		return fail(missingParam("query"))
	}
	type clause struct{ field, key, value string }
	var clauses []clause
	for _, part := range strings.Split(query, " AND ") {
		m := searchClause.FindStringSubmatch(part)
		if m == nil {
			return fail(badParam("query", "The sandbox supports queries of metadata['key']:'value', status, currency and customer clauses joined by AND; got: "+part))
		}
		field := m[1]
		if strings.HasPrefix(field, "metadata") {
			field = "metadata"
		}
		clauses = append(clauses, clause{field: field, key: m[2], value: m[3]})
	}
	indexed := req.now.Add(-s.searchLag).Unix()
	resp := listOf(req, "/v1/payment_intents/search", s.st.PaymentIntentOrder, func(id string) (any, bool) {
		pi := s.st.PaymentIntents[id]
		if s.searchLag > 0 && pi.Created > indexed {
			return nil, false // not in Stripe's search index yet
		}
		for _, c := range clauses {
			var got string
			switch c.field {
			case "metadata":
				got = pi.Metadata[c.key]
			case "status":
				got = pi.Status
			case "currency":
				got = pi.Currency
			case "customer":
				if pi.Customer != nil {
					got = *pi.Customer
				}
			}
			if got != c.value {
				return nil, false
			}
		}
		return pi, true
	})
	if l, isList := resp.body.(*list); isList {
		l.Object = "search_result"
	}
	return resp
}
