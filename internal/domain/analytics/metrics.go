package analytics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics mirror what Apply adds to analytics_minutes, for dashboards and alerts. They count
// what this process applied since it started (Prometheus' rate and increase absorb restarts;
// sum over the consumer's replicas for a total). analytics_minutes stays the record: the
// counters are float64, exact only up to 2^53 minor units per series.
//
// Cardinality: the merchant label makes one series per merchant, currency and outcome, which
// is fine for thousands of merchants and not for millions. Should that day come, drop the
// label here and serve per-merchant figures from analytics_minutes only. The histogram, which
// costs a series per bucket, has no merchant label.
type metrics struct {
	payments         *prometheus.CounterVec
	volume           *prometheus.CounterVec
	refunded         *prometheus.CounterVec
	secondsToSuccess *prometheus.HistogramVec
	lag              prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_analytics_payments_total",
			Help: "Payments that reached an outcome (succeeded or failed), by merchant and currency.",
		}, []string{"merchant", "currency", "outcome"}),
		volume: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_analytics_volume_minor_total",
			Help: "Minor units captured by succeeded payments, by merchant and currency.",
		}, []string{"merchant", "currency"}),
		refunded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_analytics_refunded_minor_total",
			Help: "Minor units returned by succeeded refunds, by merchant and currency.",
		}, []string{"merchant", "currency"}),
		secondsToSuccess: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "durapay_analytics_seconds_to_success",
			Help: "Seconds from a payment's creation to its success, by currency.",
			// From an automatic capture (seconds) to a manual one at the end of its
			// authorization window (days).
			Buckets: []float64{1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600},
		}, []string{"currency"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "durapay_analytics_lag_seconds",
			Help: "Seconds between the last applied event's publication to Kafka (its message " +
				"timestamp, in milliseconds) and its application. It holds still while nothing " +
				"is applied: watch the consumer group's lag too.",
		}),
	}
}

func (m *metrics) observe(d delta, lag time.Duration) {
	cur := d.currency.String()
	if d.succeeded > 0 {
		m.payments.WithLabelValues(d.merchant, cur, "succeeded").Add(float64(d.succeeded))
		m.volume.WithLabelValues(d.merchant, cur).Add(float64(d.volume))
		m.secondsToSuccess.WithLabelValues(cur).Observe(float64(d.successSeconds))
	}
	if d.failed > 0 {
		m.payments.WithLabelValues(d.merchant, cur, "failed").Add(float64(d.failed))
	}
	if d.refunds > 0 {
		m.refunded.WithLabelValues(d.merchant, cur).Add(float64(d.refunded))
	}
	m.lag.Set(lag.Seconds())
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.payments, m.volume, m.refunded, m.secondsToSuccess, m.lag}
}

// Describe implements prometheus.Collector: register the Store with the process's registry
// (never the global default in tests) to export its metrics.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s.metrics.collectors() {
		c.Collect(ch)
	}
}
