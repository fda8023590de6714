package analytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/durapay/durapay/internal/domain/analytics"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

const consumer = "analytics"

// base is a minute's start; events are placed at offsets from it.
var base = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func paymentEvent(t *testing.T, typ string, p schemas.Payment, at time.Time) schemas.Event {
	t.Helper()
	if p.Merchant == "" {
		p.Merchant = "mer_a"
	}
	if p.Created == 0 {
		p.Created = base.Unix()
	}
	p.Object = schemas.ObjectPayment
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return schemas.Event{ID: schemas.EventID(p.ID, typ), Type: typ, Created: at.Unix(), Merchant: p.Merchant,
		SchemaVersion: schemas.PaymentEventSchemaVersion, Data: data}
}

func refundEvent(t *testing.T, r schemas.Refund, at time.Time) schemas.Event {
	t.Helper()
	if r.Merchant == "" {
		r.Merchant = "mer_a"
	}
	r.Object, r.Status = schemas.ObjectRefund, schemas.RefundSucceeded
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return schemas.Event{ID: schemas.EventID(r.ID, schemas.EventRefundSucceeded), Type: schemas.EventRefundSucceeded,
		Created: at.Unix(), Merchant: r.Merchant, SchemaVersion: schemas.RefundEventSchemaVersion, Data: data}
}

func apply(t *testing.T, s *analytics.Store, ev schemas.Event, want bool) {
	t.Helper()
	applied, err := s.Apply(context.Background(), consumer, ev, time.Time{})
	if err != nil {
		t.Fatalf("apply %s %s: %v", ev.Type, ev.ID, err)
	}
	if applied != want {
		t.Fatalf("apply %s %s: applied = %v, want %v", ev.Type, ev.ID, applied, want)
	}
}

func report(t *testing.T, s *analytics.Store, merchant, currency string) analytics.Report {
	t.Helper()
	r, err := s.Minutes(context.Background(), merchant, currency, base.Add(-time.Hour), base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rowCount(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestApplyCountsOutcomesByMinuteAndCurrency(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)

	// Minute 10:00, usd: two successes (one partly captured) and a failure; eur: one success.
	apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_1", Amount: 1000, AmountCaptured: 1000,
		Currency: "usd", Created: base.Unix() - 10}, base.Add(5*time.Second)), true)
	apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_2", Amount: 3000, AmountCaptured: 2500,
		Currency: "usd", Created: base.Unix() - 60}, base.Add(59*time.Second)), true)
	apply(t, s, paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_3", Amount: 700, Currency: "usd"},
		base.Add(30*time.Second)), true)
	// No amount captured given: the amount is the volume. Created after the event (clock
	// skew): zero seconds, not negative.
	apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_4", Amount: 900,
		Currency: "eur", Created: base.Unix() + 100}, base.Add(time.Second)), true)
	// Minute 10:01, usd: a refund only (nothing to divide by); then minute 10:02: a failure only.
	apply(t, s, refundEvent(t, schemas.Refund{ID: "re_1", Payment: "pay_1", Amount: 400, Currency: "usd"},
		base.Add(61*time.Second)), true)
	apply(t, s, paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_5", Amount: 100, Currency: "usd"},
		base.Add(2*time.Minute)), true)
	// Not counted, and not recorded.
	for _, typ := range []string{schemas.EventPaymentRequiresAction, schemas.EventPaymentAuthorized, schemas.EventPaymentCaptured,
		schemas.EventPaymentCanceled, schemas.EventRefundCreated, schemas.EventRefundFailed, "merchant.activated"} {
		apply(t, s, paymentEvent(t, typ, schemas.Payment{ID: "pay_6", Amount: 100, Currency: "usd"}, base), false)
	}
	if n := rowCount(t, pool, "consumer_inbox"); n != 6 {
		t.Errorf("%d inbox rows, want 6 (ignored types are not recorded)", n)
	}

	want := analytics.Report{
		From: base.Add(-time.Hour), To: base.Add(time.Hour),
		Minutes: []analytics.Minute{
			{Minute: base, Currency: "eur", Volume: 900, Count: 1, SuccessRate: 1, AvgSecondsToSuccess: 0},
			{Minute: base, Currency: "usd", Volume: 3500, Count: 2, Failed: 1, SuccessRate: 2.0 / 3,
				AvgSecondsToSuccess: (15.0 + 119) / 2},
			{Minute: base.Add(time.Minute), Currency: "usd", RefundsSucceeded: 1, RefundedAmount: 400},
			{Minute: base.Add(2 * time.Minute), Currency: "usd", Failed: 1},
		},
		Totals: []analytics.Summary{
			{Currency: "eur", Volume: 900, Count: 1, SuccessRate: 1},
			{Currency: "usd", Volume: 3500, Count: 2, Failed: 2, RefundsSucceeded: 1, RefundedAmount: 400,
				SuccessRate: 0.5, RefundRate: 400.0 / 3500, AvgSecondsToSuccess: 67},
		},
	}
	if diff := cmp.Diff(want, report(t, s, "mer_a", "")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	// One currency only, named in any case.
	got := report(t, s, "mer_a", "EUR")
	if len(got.Minutes) != 1 || got.Minutes[0].Currency != "eur" || len(got.Totals) != 1 || got.Totals[0].Currency != "eur" {
		t.Errorf("eur only: %+v", got)
	}
}

func TestDuplicateEventCountedOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)
	ev := paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_1", Amount: 1000, Currency: "usd"}, base)
	apply(t, s, ev, true)
	apply(t, s, ev, false)
	// A republished event carries the same ID, whatever else about the message differs.
	ev.Created += 3600
	apply(t, s, ev, false)

	r := report(t, s, "mer_a", "usd")
	if len(r.Minutes) != 1 || r.Minutes[0].Count != 1 || r.Minutes[0].Volume != 1000 {
		t.Fatalf("minutes after a redelivery: %+v", r.Minutes)
	}
}

func TestConcurrentDeliveriesCountOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	ev := paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_1", Amount: 1000, Currency: "usd"}, base)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Apply(context.Background(), consumer, ev, time.Time{})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if applied != 1 {
		t.Errorf("applied by %d of 8 deliveries, want 1", applied)
	}
	r := report(t, s, "mer_a", "")
	if len(r.Minutes) != 1 || r.Minutes[0].Count != 1 || r.Minutes[0].Volume != 1000 {
		t.Errorf("minutes: %+v", r.Minutes)
	}
	if got := metricValues(t, reg)[`durapay_analytics_payments_total{currency="usd",merchant="mer_a",outcome="succeeded"}`]; got != 1 {
		t.Errorf("payments counter %v, want 1", got)
	}
}

func TestMerchantsAreIsolated(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)
	apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_a", Merchant: "mer_a", Amount: 100, Currency: "usd"}, base), true)
	apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_b", Merchant: "mer_b", Amount: 200, Currency: "usd"}, base), true)
	apply(t, s, paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_b2", Merchant: "mer_b", Amount: 200, Currency: "usd"}, base), true)

	a, b := report(t, s, "mer_a", ""), report(t, s, "mer_b", "")
	if len(a.Minutes) != 1 || a.Minutes[0].Volume != 100 || a.Minutes[0].Failed != 0 || a.Minutes[0].SuccessRate != 1 {
		t.Errorf("mer_a: %+v", a.Minutes)
	}
	if len(b.Minutes) != 1 || b.Minutes[0].Volume != 200 || b.Minutes[0].Failed != 1 || b.Minutes[0].SuccessRate != 0.5 {
		t.Errorf("mer_b: %+v", b.Minutes)
	}
	if c := report(t, s, "mer_c", ""); len(c.Minutes) != 0 || len(c.Totals) != 0 {
		t.Errorf("mer_c sees %+v", c)
	}
}

func TestMinutesRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)

	for _, tc := range []struct {
		name               string
		merchant, currency string
		from, to           time.Time
	}{
		{"to before from", "mer_a", "", base, base.Add(-time.Minute)},
		{"longer than 31 days", "mer_a", "", base, base.Add(analytics.MaxRange + time.Second)},
		{"no from", "mer_a", "", time.Time{}, base},
		{"no merchant", "", "", base, base.Add(time.Hour)},
		{"unknown currency", "mer_a", "xyz", base, base.Add(time.Hour)},
	} {
		if _, err := s.Minutes(ctx, tc.merchant, tc.currency, tc.from, tc.to); !errors.Is(err, analytics.ErrBadRange) {
			t.Errorf("%s: %v, want ErrBadRange", tc.name, err)
		}
	}
	if _, err := s.Minutes(ctx, "mer_a", "", base, base.Add(analytics.MaxRange)); err != nil {
		t.Errorf("31 days: %v", err)
	}

	// from is inclusive, to exclusive.
	for i := range 3 {
		apply(t, s, paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: fmt.Sprint("pay_", i), Amount: 100, Currency: "usd"},
			base.Add(time.Duration(i)*time.Minute)), true)
	}
	r, err := s.Minutes(ctx, "mer_a", "", base.Add(time.Minute), base.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Minutes) != 1 || !r.Minutes[0].Minute.Equal(base.Add(time.Minute)) || r.Truncated {
		t.Errorf("[10:01, 10:02): %+v", r)
	}
	if r, _ := s.Minutes(ctx, "mer_a", "", base, base); len(r.Minutes) != 0 || len(r.Totals) != 0 {
		t.Errorf("an empty range: %+v", r)
	}

	// More minutes than MaxMinutes: the first ones, flagged, with totals over all of them.
	if _, err := pool.Exec(ctx, `INSERT INTO analytics_minutes (merchant_id, currency, minute, payments_succeeded, volume)
		SELECT 'mer_big', 'usd', $1::timestamptz + make_interval(mins => i), 1, 10 FROM generate_series(0, $2) AS i`,
		base, analytics.MaxMinutes); err != nil {
		t.Fatal(err)
	}
	r, err = s.Minutes(ctx, "mer_big", "", base, base.Add(analytics.MaxRange))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Minutes) != analytics.MaxMinutes || !r.Minutes[analytics.MaxMinutes-1].Minute.Equal(base.Add((analytics.MaxMinutes-1)*time.Minute)) {
		t.Errorf("truncated %v, %d minutes", r.Truncated, len(r.Minutes))
	}
	if len(r.Totals) != 1 || r.Totals[0].Count != analytics.MaxMinutes+1 || r.Totals[0].Volume != 10*(analytics.MaxMinutes+1) {
		t.Errorf("totals %+v", r.Totals)
	}
	for i := 1; i < len(r.Minutes); i++ {
		if !r.Minutes[i].Minute.After(r.Minutes[i-1].Minute) {
			t.Fatalf("minutes out of order at %d", i)
		}
	}
}

func TestBadEventsWriteNothing(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)
	good := func() schemas.Event {
		return paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_1", Amount: 100, Currency: "usd"}, base)
	}
	withData := func(typ string, v any) schemas.Event {
		ev := good()
		ev.Type = typ
		ev.Data, _ = json.Marshal(v)
		return ev
	}
	for _, tc := range []struct {
		name string
		ev   schemas.Event
	}{
		{"bad JSON", func() schemas.Event { ev := good(); ev.Data = []byte(`{"amount":`); return ev }()},
		{"data of the wrong shape", func() schemas.Event { ev := good(); ev.Data = []byte(`[1,2]`); return ev }()},
		{"no currency", withData(schemas.EventPaymentSucceeded, map[string]any{"merchant": "mer_a", "amount": 100, "created": base.Unix()})},
		{"unknown currency", withData(schemas.EventPaymentFailed, map[string]any{"merchant": "mer_a", "currency": "zzz"})},
		{"no amount", withData(schemas.EventPaymentSucceeded, map[string]any{"merchant": "mer_a", "currency": "usd", "created": base.Unix()})},
		{"no payment creation time", withData(schemas.EventPaymentSucceeded, map[string]any{"merchant": "mer_a", "currency": "usd", "amount": 100})},
		{"refund without amount", withData(schemas.EventRefundSucceeded, map[string]any{"merchant": "mer_a", "currency": "usd"})},
		{"data about another merchant", withData(schemas.EventPaymentFailed, map[string]any{"merchant": "mer_b", "currency": "usd"})},
		{"no event ID", func() schemas.Event { ev := good(); ev.ID = ""; return ev }()},
		{"no merchant", func() schemas.Event { ev := good(); ev.Merchant = ""; return ev }()},
		{"no time", func() schemas.Event { ev := good(); ev.Created = 0; return ev }()},
		{"unknown schema version", func() schemas.Event { ev := good(); ev.SchemaVersion = 2; return ev }()},
	} {
		applied, err := s.Apply(context.Background(), consumer, tc.ev, time.Time{})
		if !errors.Is(err, analytics.ErrBadEvent) || applied {
			t.Errorf("%s: applied %v, %v; want ErrBadEvent", tc.name, applied, err)
		}
	}
	if n, m := rowCount(t, pool, "consumer_inbox"), rowCount(t, pool, "analytics_minutes"); n != 0 || m != 0 {
		t.Errorf("bad events wrote %d inbox rows and %d minutes", n, m)
	}
	// The good one, with the same ID, is still counted: nothing was recorded for it.
	apply(t, s, good(), true)
}

func TestMetricsMoveOnlyForAppliedEvents(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	s := analytics.NewStore(pool)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	now := time.Now()

	succeeded := paymentEvent(t, schemas.EventPaymentSucceeded, schemas.Payment{ID: "pay_1", Amount: 1000, AmountCaptured: 800,
		Currency: "usd", Created: now.Unix() - 90}, now.Add(-30*time.Second))
	failed := paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_2", Amount: 500, Currency: "usd"}, now)
	refunded := refundEvent(t, schemas.Refund{ID: "re_1", Payment: "pay_1", Amount: 300, Currency: "usd"}, now)
	for _, ev := range []schemas.Event{succeeded, failed, refunded} {
		apply(t, s, ev, true)
	}
	want := map[string]float64{
		`durapay_analytics_payments_total{currency="usd",merchant="mer_a",outcome="succeeded"}`: 1,
		`durapay_analytics_payments_total{currency="usd",merchant="mer_a",outcome="failed"}`:    1,
		`durapay_analytics_volume_minor_total{currency="usd",merchant="mer_a"}`:                 800,
		`durapay_analytics_refunded_minor_total{currency="usd",merchant="mer_a"}`:               300,
		`durapay_analytics_seconds_to_success_count{currency="usd"}`:                            1,
		`durapay_analytics_seconds_to_success_sum{currency="usd"}`:                              60,
	}
	check := func(when string) {
		t.Helper()
		got := metricValues(t, reg)
		lag := got["durapay_analytics_lag_seconds"]
		delete(got, "durapay_analytics_lag_seconds")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: metrics (-want +got):\n%s", when, diff)
		}
		// The last applied event (the refund) happened "now", to the second.
		if lag < 0 || lag > 5 {
			t.Errorf("%s: lag %v seconds", when, lag)
		}
	}
	check("after three events")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := promlint.NewWithMetricFamilies(families).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %+v", err, problems)
	}

	// Redeliveries, ignored types and bad events move nothing.
	for _, ev := range []schemas.Event{succeeded, failed, refunded,
		paymentEvent(t, schemas.EventPaymentCanceled, schemas.Payment{ID: "pay_3", Amount: 500, Currency: "usd"}, now)} {
		apply(t, s, ev, false)
	}
	bad := failed
	bad.ID, bad.Data = "evt_bad", []byte(`{`)
	if _, err := s.Apply(context.Background(), consumer, bad, time.Time{}); !errors.Is(err, analytics.ErrBadEvent) {
		t.Fatalf("bad event: %v", err)
	}
	check("after redeliveries")

	// An applied event sets the lag from its own time.
	late := paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_4", Amount: 500, Currency: "usd"}, now.Add(-time.Hour))
	apply(t, s, late, true)
	if lag := metricValues(t, reg)["durapay_analytics_lag_seconds"]; lag < 3600 || lag > 3610 {
		t.Errorf("lag %v seconds after an hour-old event", lag)
	}
	// With the Kafka message's timestamp, the lag counts from publication, in milliseconds.
	published := paymentEvent(t, schemas.EventPaymentFailed, schemas.Payment{ID: "pay_5", Amount: 500, Currency: "usd"}, now)
	if _, err := s.Apply(context.Background(), consumer, published, time.Now().Add(-1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if lag := metricValues(t, reg)["durapay_analytics_lag_seconds"]; lag < 1.5 || lag > 60 {
		t.Errorf("lag %v seconds after an event published 1.5 s ago", lag)
	}
}

// metricValues gathers reg (prometheus/testutil would need a module go.mod does not list) into name{label="value",...} -> value; a histogram appears as its
// _count and _sum.
func metricValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			suffix := ""
			if len(labels) > 0 {
				suffix = "{" + strings.Join(labels, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[f.GetName()+suffix] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[f.GetName()+suffix] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[f.GetName()+"_count"+suffix] = float64(m.GetHistogram().GetSampleCount())
				out[f.GetName()+"_sum"+suffix] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}
