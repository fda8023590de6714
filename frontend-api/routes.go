package main

import (
	"net/http"

	"github.com/gorilla/mux"
)

// access says who may call a route.
type access int

const (
	public   access = iota // health checks
	merchant               // a merchant's secret API key
	operator               // a staff key with the operator or admin role
	finance                // a staff key with the finance or admin role
	signed                 // Stripe: authenticated by the webhook signature on the body
)

// route is one entry of the API's route table.
type route struct {
	method  string
	path    string
	access  access
	handler func(http.ResponseWriter, *http.Request) error
}

// routeTable lists every route of the API with who may call it. Tests walk it.
func (s *server) routeTable() []route {
	return []route{
		{http.MethodGet, "/healthz", public, s.healthz},
		{http.MethodGet, "/readyz", public, s.readyz},
		{http.MethodPost, "/v1/payments", merchant, s.createPayment},
		{http.MethodGet, "/v1/payments/{id}", merchant, s.getPayment},
		{http.MethodPost, "/v1/payments/{id}/capture", merchant, s.capturePayment},
		{http.MethodPost, "/v1/payments/{id}/cancel", merchant, s.cancelPayment},
		{http.MethodGet, "/v1/payments/{id}/refunds", merchant, s.listPaymentRefunds},
		{http.MethodPost, "/v1/refunds", merchant, s.createRefund},
		{http.MethodGet, "/v1/refunds/{id}", merchant, s.getRefund},
		{http.MethodPost, "/v1/webhooks/stripe", signed, s.stripeWebhook},
		{http.MethodGet, "/v1/admin/payments/{id}", operator, s.adminGetPayment},
		{http.MethodPost, "/v1/admin/payments/{id}/retry", operator, s.adminRetryPayment},
		{http.MethodPost, "/v1/admin/payments/{id}/cancel", operator, s.adminCancelPayment},
		{http.MethodGet, "/v1/finance/payments", finance, s.searchPayments},
		{http.MethodGet, "/v1/finance/payments/{id}/timeline", finance, s.paymentTimeline},
		{http.MethodGet, "/v1/finance/balances", finance, s.balances},
		{http.MethodGet, "/v1/finance/ledger/transactions", finance, s.ledgerTransactions},
		{http.MethodGet, "/v1/finance/reports", finance, s.listReports},
		{http.MethodGet, "/v1/finance/reconciliation", finance, s.reconciliations},
	}
}

// routes builds the HTTP handler: request ID, access log and metrics, panic recovery, then
// the router, which authenticates per route.
func (s *server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = s.handle(func(http.ResponseWriter, *http.Request) error {
		return newError(codeResourceMissing, "", "Unrecognized request URL.")
	})
	r.MethodNotAllowedHandler = s.handle(func(http.ResponseWriter, *http.Request) error {
		return newError(codeMethodNotAllowed, "", "This method is not allowed on this URL.")
	})
	r.Use(nameRoute)
	for _, rt := range s.routeTable() {
		var h http.Handler = s.handle(rt.handler)
		if rt.access != public && rt.access != signed {
			h = s.authenticate(rt.access, h)
		}
		r.Handle(rt.path, h).Methods(rt.method)
	}
	return s.withRequestID(s.observe(s.recoverPanics(r)))
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
