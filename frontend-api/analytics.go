package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/durapay/durapay/internal/domain/analytics"
)

// defaultAnalyticsWindow is the range of an analytics query that names none.
const defaultAnalyticsWindow = time.Hour

// merchantAnalytics is GET /v1/analytics/minutes: the merchant's live figures per currency
// and minute (see internal/domain/analytics for what is counted).
func (s *server) merchantAnalytics(w http.ResponseWriter, r *http.Request) error {
	return s.analyticsMinutes(w, r, merchantFrom(r.Context()))
}

// financeAnalytics is GET /v1/finance/analytics/minutes?merchant=mer_...: the same, for
// Durapay's finance people.
func (s *server) financeAnalytics(w http.ResponseWriter, r *http.Request) error {
	merchantID := r.URL.Query().Get("merchant")
	if merchantID == "" {
		return newError(codeParameterMissing, "merchant", "Missing required parameter: merchant.")
	}
	return s.analyticsMinutes(w, r, merchantID)
}

// analyticsMinutes answers ?currency=&from=&to= (RFC 3339 or YYYY-MM-DD; the last hour by
// default, at most 31 days).
func (s *server) analyticsMinutes(w http.ResponseWriter, r *http.Request, merchantID string) error {
	q := r.URL.Query()
	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	from := to.Add(-defaultAnalyticsWindow)
	if err := timeParam(q, "from", &from); err != nil {
		return err
	}
	if err := timeParam(q, "to", &to); err != nil {
		return err
	}
	report, err := s.analytics.Minutes(r.Context(), merchantID, q.Get("currency"), from, to)
	if errors.Is(err, analytics.ErrBadRange) {
		return &apiError{code: codeParameterInvalid, message: err.Error(), cause: err}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}
