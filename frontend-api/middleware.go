package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	principalKey
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func loggerFrom(ctx context.Context) *logrus.Entry {
	if l, ok := ctx.Value(loggerKey).(*logrus.Entry); ok {
		return l
	}
	return logrus.NewEntry(logrus.StandardLogger())
}

// principalFrom is who sent the request; routes behind authenticate always have one.
func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey).(principal)
	return p
}

// merchantFrom is the authenticated merchant of a merchant route.
func merchantFrom(ctx context.Context) string { return principalFrom(ctx).MerchantID }

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// withRequestID names the request (see requestID), returns the name in Request-Id, and
// gives the request a logger tagged with it.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r)
		w.Header().Set("Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, loggerKey, s.log.WithField("request_id", id))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestID is the client's X-Request-Id when well-formed, or a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); clientRequestID.MatchString(id) {
		return id
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// routeName is the matched route's template (/v1/payments/{id}), never the raw path, so
// that logs and metrics do not explode with IDs.
func routeName(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if tpl, err := route.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return "unmatched"
}

// observe logs every request once, as JSON, and records its duration.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// The router fills in the route and the merchant as the request goes down; this
		// holder lets the outer middleware read them on the way back up.
		info := &requestInfo{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		elapsed := time.Since(start)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.requestDuration.WithLabelValues(info.route, r.Method, strconv.Itoa(rec.status)).Observe(elapsed.Seconds())
		loggerFrom(r.Context()).WithFields(logrus.Fields{
			"method": r.Method, "route": info.route, "status": rec.status, "bytes": rec.bytes,
			"duration_ms": float64(elapsed.Microseconds()) / 1000, "principal": info.principal, "remote": r.RemoteAddr,
		}).Info("request")
	})
}

type requestInfoKey struct{}

type requestInfo struct {
	route     string
	principal string
}

func infoFrom(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// recoverPanics turns a handler's panic into a logged 500 instead of a dropped connection.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// metrics are frontend-api's Prometheus collectors.
type metrics struct {
	requestDuration   *prometheus.HistogramVec
	rateLimited       *prometheus.CounterVec
	rateLimiterErrors *prometheus.CounterVec
	auditFailures     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "durapay_http_request_duration_seconds",
			Help:    "HTTP requests by route template, method and status.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_http_rate_limited_total", Help: "Requests refused by a rate limit, by class: read and write per key, auth per source address over its budget of failed authentications.",
		}, []string{"class"}),
		rateLimiterErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_http_rate_limiter_errors_total", Help: "Requests a rate limiter could not judge (Redis down), by class.",
		}, []string{"class"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "durapay_audit_write_failures_total", Help: "Audit log entries that could not be written.",
		}),
	}
	reg.MustRegister(m.requestDuration, m.rateLimited, m.rateLimiterErrors, m.auditFailures)
	return m
}
