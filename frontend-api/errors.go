package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/schemas"
)

// Stable error codes, the machine-readable part of every error answer. Clients branch on
// them: never rename one.
const (
	codeInvalidJSON               = "invalid_json"
	codeParameterUnknown          = "parameter_unknown"
	codeParameterMissing          = "parameter_missing"
	codeParameterInvalid          = "parameter_invalid"
	codeAmountInvalid             = "amount_invalid"
	codeAmountTooLarge            = "amount_too_large"
	codeCurrencyInvalid           = "currency_invalid"
	codeCurrencyUnsupported       = "currency_unsupported"
	codePaymentMethodInvalid      = "payment_method_invalid"
	codeMetadataInvalid           = "metadata_invalid"
	codeIdempotencyKeyMissing     = "idempotency_key_missing"
	codeIdempotencyKeyInvalid     = "idempotency_key_invalid"
	codeIdempotencyKeyReused      = "idempotency_key_reused"
	codeIdempotencyKeyUnavailable = "idempotency_key_unavailable"
	codeUnsupportedMediaType      = "unsupported_media_type"
	codeRequestTooLarge           = "request_too_large"
	codeAuthenticationRequired    = "authentication_required"
	codeAPIKeyInvalid             = "api_key_invalid"
	codeResourceMissing           = "resource_missing"
	codePermissionDenied          = "permission_denied"
	codeIdempotencyKeyInUse       = "idempotency_key_in_use"
	codePaymentUnexpectedState    = "payment_unexpected_state"
	codeWebhookSignatureInvalid   = "webhook_signature_invalid"
	codeProviderUnavailable       = "provider_unavailable"
	codePaymentNotCaptured        = "payment_not_captured"
	codeRefundFailed              = "refund_failed"
	codeRateLimited               = "rate_limited"
	codeTokenInvalid              = "token_invalid"
	codeMerchantNotReviewable     = "merchant_not_reviewable"
	codeInviteInvalid             = "invite_invalid"
	codeMethodNotAllowed          = "method_not_allowed"
	codeServiceUnavailable        = "service_unavailable"
	codeWebhookURLInvalid         = "webhook_url_invalid"
	codeWebhookURLForbidden       = "webhook_url_forbidden"
	codeWebhookEndpointDisabled   = "webhook_endpoint_disabled"
	codeWebhookDeliveryPending    = "webhook_delivery_pending"
	codeKeyLinkInvalid            = "key_link_invalid"
	codeRefundUnexpectedState     = "refund_unexpected_state"
	codeFourEyesRequired          = "four_eyes_required"
	codePhoneCodeInvalid          = "phone_code_invalid"
	codeAPIKeyLimitReached        = "api_key_limit_reached"
	codeAPIKeyAlreadyRolled       = "api_key_already_rolled"
	codeInternal                  = "internal_error"
)

// errorClass is an error code's HTTP status and Stripe-style error type.
type errorClass struct {
	status  int
	errType string
}

// errorTable is the one place that maps error codes to HTTP. Payment failures reported by
// Stripe carry Stripe's own codes (card_declined, ...) and are classed by their type instead
// (see paymentFailureError).
var errorTable = map[string]errorClass{
	codeInvalidJSON:               {http.StatusBadRequest, "invalid_request_error"},
	codeParameterUnknown:          {http.StatusBadRequest, "invalid_request_error"},
	codeParameterMissing:          {http.StatusBadRequest, "invalid_request_error"},
	codeParameterInvalid:          {http.StatusBadRequest, "invalid_request_error"},
	codeAmountInvalid:             {http.StatusBadRequest, "invalid_request_error"},
	codeAmountTooLarge:            {http.StatusBadRequest, "invalid_request_error"},
	codeCurrencyInvalid:           {http.StatusBadRequest, "invalid_request_error"},
	codeCurrencyUnsupported:       {http.StatusBadRequest, "invalid_request_error"},
	codePaymentMethodInvalid:      {http.StatusBadRequest, "invalid_request_error"},
	codeMetadataInvalid:           {http.StatusBadRequest, "invalid_request_error"},
	codeIdempotencyKeyMissing:     {http.StatusBadRequest, "invalid_request_error"},
	codeIdempotencyKeyInvalid:     {http.StatusBadRequest, "invalid_request_error"},
	codeIdempotencyKeyReused:      {http.StatusUnprocessableEntity, "idempotency_error"},
	codeIdempotencyKeyUnavailable: {http.StatusConflict, "idempotency_error"},
	codeUnsupportedMediaType:      {http.StatusUnsupportedMediaType, "invalid_request_error"},
	codeRequestTooLarge:           {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	codeAuthenticationRequired:    {http.StatusUnauthorized, "authentication_error"},
	codeAPIKeyInvalid:             {http.StatusUnauthorized, "authentication_error"},
	codeResourceMissing:           {http.StatusNotFound, "invalid_request_error"},
	codePermissionDenied:          {http.StatusForbidden, "invalid_request_error"},
	codeIdempotencyKeyInUse:       {http.StatusConflict, "idempotency_error"},
	codePaymentUnexpectedState:    {http.StatusConflict, "invalid_request_error"},
	codeWebhookSignatureInvalid:   {http.StatusBadRequest, "invalid_request_error"},
	codeProviderUnavailable:       {http.StatusServiceUnavailable, "api_error"},
	codePaymentNotCaptured:        {http.StatusConflict, "invalid_request_error"},
	codeRefundFailed:              {http.StatusBadRequest, "invalid_request_error"},
	codeRateLimited:               {http.StatusTooManyRequests, "rate_limit_error"},
	codeTokenInvalid:              {http.StatusUnauthorized, "authentication_error"},
	codeMerchantNotReviewable:     {http.StatusConflict, "invalid_request_error"},
	codeInviteInvalid:             {http.StatusForbidden, "authentication_error"},
	codeMethodNotAllowed:          {http.StatusMethodNotAllowed, "invalid_request_error"},
	codeServiceUnavailable:        {http.StatusServiceUnavailable, "api_error"},
	codeWebhookURLInvalid:         {http.StatusBadRequest, "invalid_request_error"},
	codeWebhookURLForbidden:       {http.StatusBadRequest, "invalid_request_error"},
	codeWebhookEndpointDisabled:   {http.StatusConflict, "invalid_request_error"},
	codeWebhookDeliveryPending:    {http.StatusConflict, "invalid_request_error"},
	codeKeyLinkInvalid:            {http.StatusNotFound, "invalid_request_error"},
	codeRefundUnexpectedState:     {http.StatusConflict, "invalid_request_error"},
	codeFourEyesRequired:          {http.StatusForbidden, "invalid_request_error"},
	codePhoneCodeInvalid:          {http.StatusBadRequest, "invalid_request_error"},
	codeAPIKeyLimitReached:        {http.StatusConflict, "invalid_request_error"},
	codeAPIKeyAlreadyRolled:       {http.StatusConflict, "invalid_request_error"},
	codeInternal:                  {http.StatusInternalServerError, "api_error"},
}

// workflowErrors maps the error types that workflows answer API callers with (through an
// update; see schemas/errors.go) to API codes: the one place they become answers, for every
// handler. message, when set, replaces the workflow's own, which is then not meant for clients.
var workflowErrors = map[string]struct{ code, param, message string }{
	schemas.ErrTypeIdempotencyKeyReused:   {codeIdempotencyKeyReused, "", reusedKeyMessage},
	schemas.ErrTypePaymentUnexpectedState: {codePaymentUnexpectedState, "", ""},
	schemas.ErrTypeCaptureAmountInvalid:   {codeAmountTooLarge, "amount_to_capture", ""},
	schemas.ErrTypeInvalidDecision:        {codeParameterInvalid, "action", ""},
	schemas.ErrTypePaymentNotCaptured:     {codePaymentNotCaptured, "payment", ""},
	schemas.ErrTypeRefundExceedsRemaining: {codeAmountTooLarge, "amount", ""},
	schemas.ErrTypeRefundUnexpectedState:  {codeRefundUnexpectedState, "", ""},
	schemas.ErrTypeMerchantNotReviewable:  {codeMerchantNotReviewable, "", ""},
}

const reusedKeyMessage = "This Idempotency-Key was already used with a different request. Use a new key for a new request."

// workflowRefusal is the API's answer to a workflow's refusal of a request, or nil when err
// is no refusal the table knows (the workflow unreachable, say).
func workflowRefusal(err error) *apiError {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return nil
	}
	e, known := workflowErrors[appErr.Type()]
	if !known {
		return nil
	}
	return newError(e.code, e.param, cmp.Or(e.message, appErr.Message()))
}

// unavailable answers a request that a dependency (Temporal, Postgres, Redis, the identity
// provider) failed: 503, retry after a second. message says what is unavailable and how to
// retry; cause is logged, never sent.
func unavailable(message string, cause error) *apiError {
	return &apiError{code: codeServiceUnavailable, message: message, retryAfter: time.Second, cause: cause}
}

// retrySameKey ends the message of a create or an action that is unavailable.
const retrySameKey = " Retry with the same Idempotency-Key."

// apiError is an error a handler returns to be answered as JSON.
type apiError struct {
	code    string
	param   string
	message string
	// class overrides the table, for failures whose code is Stripe's.
	class *errorClass
	// declineCode and payment accompany a failed payment.
	declineCode string
	payment     *schemas.Payment
	retryAfter  time.Duration
	// cause is logged, never sent.
	cause error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.message + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(code, param, message string) *apiError {
	return &apiError{code: code, param: param, message: message}
}

// paymentFailureError answers a failed payment as Stripe would: 402 for card errors, 400 for
// invalid requests, with the payment attached so the client still learns its ID.
func paymentFailureError(p schemas.Payment) *apiError {
	f := p.Failure
	class := errorClass{http.StatusBadRequest, f.Type}
	if f.Type == "card_error" {
		class.status = http.StatusPaymentRequired
	}
	return &apiError{code: f.Code, message: f.Message, declineCode: f.DeclineCode, class: &class, payment: &p}
}

// errorBody is the JSON answer: {"error":{"type","code","decline_code","message","param"}}.
type errorBody struct {
	Error struct {
		Type        string           `json:"type"`
		Code        string           `json:"code"`
		DeclineCode string           `json:"decline_code,omitempty"`
		Message     string           `json:"message"`
		Param       string           `json:"param,omitempty"`
		RequestID   string           `json:"request_id,omitempty"`
		Payment     *schemas.Payment `json:"payment,omitempty"`
	} `json:"error"`
}

// writeError answers err and logs it once.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body, retryAfter := renderError(r, err)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	writeJSON(w, status, body)
}

// renderError turns err into its HTTP status and body, and logs it. An error that is not
// an *apiError is an internal one: the client gets a generic message, never the error's text.
func renderError(r *http.Request, err error) (int, errorBody, time.Duration) {
	ae, class, body := answerOf(r, err)
	entry := loggerFrom(r.Context()).WithFields(logrus.Fields{"error_code": ae.code, "status": class.status})
	if ae.cause != nil {
		entry = entry.WithError(ae.cause)
	}
	if class.status >= 500 {
		entry.Error("request failed")
	} else {
		entry.Info("request refused")
	}
	return class.status, body, ae.retryAfter
}

// answerOf is err's apiError, its class and the body that answers it.
func answerOf(r *http.Request, err error) (*apiError, errorClass, errorBody) {
	ae, class := classify(err)
	var body errorBody
	body.Error.Type, body.Error.Code, body.Error.Message, body.Error.Param = class.errType, ae.code, ae.message, ae.param
	body.Error.DeclineCode, body.Error.Payment = ae.declineCode, ae.payment
	body.Error.RequestID = requestIDFrom(r.Context())
	return ae, class, body
}

// classify finds err's apiError (an internal error for anything else) and its class.
func classify(err error) (*apiError, errorClass) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: codeInternal, message: "An internal error occurred. Retry the request with the same Idempotency-Key.", cause: err}
	}
	class, known := errorTable[ae.code]
	if ae.class != nil {
		class, known = *ae.class, true
	}
	if !known {
		class = errorTable[codeInternal]
	}
	return ae, class
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
