package main

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/merchants"
)

// access says who may call a route.
type access int

const (
	public          access = iota // health checks
	merchant                      // a merchant's secret API key
	operator                      // a staff key with the operator or admin role
	finance                       // a staff key with the finance or admin role
	admin                         // a staff key with the admin role
	signup                        // an operator, or a prospective merchant with an invitation
	merchantOrStaff               // a merchant (about itself), or staff
	signed                        // Stripe: authenticated by the webhook signature on the body
	keyLink                       // a merchant holding a single-use key link: its token is in the body
)

// secretOnly is the scope of merchant routes that no restricted key may use.
const secretOnly = "secret"

// route is one entry of the API's route table.
type route struct {
	method string
	path   string
	access access
	// scope is what a merchant's restricted key needs for a merchant route.
	scope   string
	handler func(http.ResponseWriter, *http.Request) error
}

// routeTable lists every route of the API with who may call it. Tests walk it.
func (s *server) routeTable() []route {
	return []route{
		{http.MethodGet, "/healthz", public, "", s.healthz},
		{http.MethodGet, "/readyz", public, "", s.readyz},
		{http.MethodPost, "/v1/payments", merchant, merchants.ScopePaymentsWrite, s.createPayment},
		{http.MethodGet, "/v1/payments/{id}", merchant, merchants.ScopePaymentsRead, s.getPayment},
		{http.MethodPost, "/v1/payments/{id}/capture", merchant, merchants.ScopePaymentsWrite, s.capturePayment},
		{http.MethodPost, "/v1/payments/{id}/cancel", merchant, merchants.ScopePaymentsWrite, s.cancelPayment},
		{http.MethodGet, "/v1/payments/{id}/refunds", merchant, merchants.ScopePaymentsRead, s.listPaymentRefunds},
		{http.MethodPost, "/v1/refunds", merchant, merchants.ScopeRefundsWrite, s.createRefund},
		{http.MethodGet, "/v1/refunds/{id}", merchant, merchants.ScopePaymentsRead, s.getRefund},
		{http.MethodPost, "/v1/customers", merchant, merchants.ScopeCustomersWrite, s.createCustomer},
		{http.MethodGet, "/v1/customers/{id}", merchant, merchants.ScopePaymentsRead, s.getCustomer},
		{http.MethodPost, "/v1/merchants", signup, "", s.createMerchant},
		{http.MethodGet, "/v1/merchants/{id}", merchantOrStaff, merchants.ScopePaymentsRead, s.getMerchant},
		{http.MethodGet, "/onboarding/return", public, "", s.onboardingPage("Thank you: your details are with Stripe. We will email you once your account is reviewed.")},
		{http.MethodGet, "/onboarding/refresh", public, "", s.onboardingPage("This link has expired: a fresh one is on its way to your email.")},
		{http.MethodGet, "/merchant/key", public, "", s.keyPage},
		{http.MethodPost, "/merchant/key", public, "", s.keyPage},
		{http.MethodPost, "/v1/key_reveals", keyLink, "", s.revealKey},
		{http.MethodGet, "/v1/api_keys", merchant, secretOnly, s.listAPIKeys},
		{http.MethodPost, "/v1/api_keys", merchant, secretOnly, s.createAPIKey},
		{http.MethodPost, "/v1/api_keys/{id}/roll", merchant, secretOnly, s.rollAPIKey},
		{http.MethodPost, "/v1/api_keys/{id}/revoke", merchant, secretOnly, s.revokeAPIKey},
		{http.MethodGet, "/v1/webhook_endpoints", merchant, secretOnly, s.listWebhookEndpoints},
		{http.MethodPost, "/v1/webhook_endpoints", merchant, secretOnly, s.createWebhookEndpoint},
		{http.MethodGet, "/v1/webhook_endpoints/{id}", merchant, secretOnly, s.getWebhookEndpoint},
		{http.MethodPost, "/v1/webhook_endpoints/{id}/disable", merchant, secretOnly, s.disableWebhookEndpoint},
		{http.MethodPost, "/v1/webhook_endpoints/{id}/roll_secret", merchant, secretOnly, s.rollWebhookSecret},
		{http.MethodGet, "/v1/webhook_endpoints/{id}/deliveries", merchant, secretOnly, s.listWebhookDeliveries},
		{http.MethodGet, "/v1/webhook_deliveries/{id}", merchant, secretOnly, s.getWebhookDelivery},
		{http.MethodPost, "/v1/webhook_deliveries/{id}/redeliver", merchant, secretOnly, s.redeliverWebhook},
		{http.MethodGet, "/v1/notification_preferences", merchant, secretOnly, s.getNotificationPreferences},
		{http.MethodPost, "/v1/contact_phone/verification", merchant, secretOnly, s.requestPhoneVerification},
		{http.MethodPost, "/v1/contact_phone/verification/confirm", merchant, secretOnly, s.confirmPhone},
		{http.MethodPost, "/v1/notification_preferences", merchant, secretOnly, s.setNotificationPreferences},
		{http.MethodGet, "/v1/analytics/minutes", merchant, merchants.ScopePaymentsRead, s.merchantAnalytics},
		{http.MethodPost, "/v1/webhooks/stripe", signed, "", s.stripeWebhook},
		{http.MethodGet, "/v1/admin/payments/{id}", operator, "", s.adminGetPayment},
		{http.MethodPost, "/v1/admin/payments/{id}/retry", operator, "", s.adminRetryPayment},
		{http.MethodPost, "/v1/admin/payments/{id}/cancel", operator, "", s.adminCancelPayment},
		{http.MethodGet, "/v1/admin/refunds/{id}", operator, "", s.adminGetRefund},
		{http.MethodPost, "/v1/admin/refunds/{id}/retry", operator, "", s.adminRetryRefund},
		{http.MethodPost, "/v1/admin/refunds/{id}/cancel", operator, "", s.adminCancelRefund},
		{http.MethodPost, "/v1/admin/merchants/{id}/approve", operator, "", s.approveMerchant},
		{http.MethodPost, "/v1/admin/merchants/{id}/reject", operator, "", s.rejectMerchant},
		{http.MethodPost, "/v1/admin/merchants/{id}/retry", operator, "", s.retryMerchantStep},
		{http.MethodPost, "/v1/admin/merchants/{id}/key_link", operator, "", s.requestKeyLink},
		{http.MethodGet, "/v1/admin/notifications/unconfirmed", operator, "", s.listUnconfirmedSends},
		{http.MethodPost, "/v1/admin/notifications/unconfirmed/resolve", operator, "", s.resolveUnconfirmedSend},
		{http.MethodPost, "/v1/admin/invites", admin, "", s.createInvite},
		{http.MethodGet, "/v1/admin/audit", admin, "", s.listAudit},
		{http.MethodGet, "/v1/admin/audit/anchors", admin, "", s.listAuditAnchors},
		{http.MethodGet, "/v1/admin/staff_keys", admin, "", s.listStaffKeys},
		{http.MethodPost, "/v1/admin/staff_keys", admin, "", s.issueStaffKey},
		{http.MethodPost, "/v1/admin/staff_keys/{id}/revoke", admin, "", s.revokeStaffKey},
		{http.MethodGet, "/v1/finance/payments", finance, "", s.searchPayments},
		{http.MethodGet, "/v1/finance/payments/{id}/timeline", finance, "", s.paymentTimeline},
		{http.MethodGet, "/v1/finance/balances", finance, "", s.balances},
		{http.MethodGet, "/v1/finance/ledger/transactions", finance, "", s.ledgerTransactions},
		{http.MethodGet, "/v1/finance/reports", finance, "", s.listReports},
		{http.MethodGet, "/v1/finance/reconciliation", finance, "", s.reconciliations},
		{http.MethodGet, "/v1/finance/analytics/minutes", finance, "", s.financeAnalytics},
	}
}

// routes builds the HTTP handler: the penalty box (credentials over their rate limit),
// request ID, access log and metrics, panic recovery, then the router, which authenticates
// and rate-limits per route.
func (s *server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = s.handle(func(http.ResponseWriter, *http.Request) error {
		return newError(codeResourceMissing, "", "Unrecognized request URL.")
	})
	r.MethodNotAllowedHandler = s.handle(func(http.ResponseWriter, *http.Request) error {
		return newError(codeMethodNotAllowed, "", "This method is not allowed on this URL.")
	})
	r.Use(nameRoute)
	if s.keyring != nil {
		r.PathPrefix("/codec/").Handler(s.codecServer())
	}
	for _, rt := range s.routeTable() {
		var h http.Handler = s.handle(rt.handler)
		if rt.access != public && rt.access != signed && rt.access != keyLink {
			// Authentication first (the limit is per key), then the limit; a credential over
			// its limit was turned away before either (penaltyBox).
			h = s.authenticate(rt, s.rateLimit(rt, h))
		}
		r.Handle(rt.path, h).Methods(rt.method)
	}
	return s.penaltyBox(s.withRequestID(s.observe(s.recoverPanics(r))))
}

// handle adapts a handler that returns an error; the error is answered in one place.
func (s *server) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// nameRoute records the matched route's template for the access log and metrics.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = routeName(r)
		next.ServeHTTP(w, r)
	})
}
