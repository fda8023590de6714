package notify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Unconfirmed is a claimed email or text whose outcome is unknown: the notifier stopped
// (or lost the provider's answer) between claiming it and learning whether it was sent.
// It is never resent by itself; an operator finds out and resolves it.
type Unconfirmed struct {
	EventID   string `json:"event"`
	Channel   string `json:"channel"`
	Recipient string `json:"recipient_hash"` // hex SHA-256 of the address: the address itself is not kept
	Merchant  string `json:"merchant"`
	EventType string `json:"event_type"`
	Template  string `json:"template"`
	Attempts  int    `json:"attempts"`
	Since     int64  `json:"since"` // when it was claimed, Unix seconds
}

// UnconfirmedGrace is how long a claim may stay open while its send is under way (the
// providers' timeouts are seconds): older, it is counted and listed as unconfirmed.
const UnconfirmedGrace = 5 * time.Minute

// ListUnconfirmed returns the claims open since before olderThan, oldest first. Younger
// claims are most likely being sent right now.
func ListUnconfirmed(ctx context.Context, q pg.Querier, olderThan time.Time, limit int) ([]Unconfirmed, error) {
	rows, err := q.Query(ctx, `
		SELECT event_id, channel, recipient_hash, merchant_id, event_type, template, attempts, updated_at
		FROM notification_sends WHERE status = 'sending' AND updated_at < $1
		ORDER BY updated_at LIMIT $2`, olderThan, limit)
	if err != nil {
		return nil, fmt.Errorf("list unconfirmed sends: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Unconfirmed, error) {
		var u Unconfirmed
		var hash []byte
		var since time.Time
		err := row.Scan(&u.EventID, &u.Channel, &hash, &u.Merchant, &u.EventType, &u.Template, &u.Attempts, &since)
		u.Recipient, u.Since = hex.EncodeToString(hash), since.Unix()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("list unconfirmed sends: %w", err)
	}
	return out, nil
}

// What an operator established about an unconfirmed send.
const (
	// ResolvedSent: the provider's own records show it was sent.
	ResolvedSent = sendSent
	// ResolvedFailed: it was not sent, and will not be (it is stale, say).
	ResolvedFailed = sendFailed
	// ResolvedRetryable: it was not sent; the next delivery of its event (a replayed dead
	// letter, say) sends it.
	ResolvedRetryable = sendRetryable
)

// ErrNotUnconfirmed: no open claim has that key (never claimed, or resolved already).
var ErrNotUnconfirmed = errors.New("no unconfirmed send with that event, channel and recipient")

// Resolve closes an open claim with what the operator established, and notes who did.
func Resolve(ctx context.Context, q pg.Querier, eventID, channel, recipientHex, outcome, operator string) error {
	if outcome != ResolvedSent && outcome != ResolvedFailed && outcome != ResolvedRetryable {
		return fmt.Errorf("resolve a send as %q: want %s, %s or %s", outcome, ResolvedSent, ResolvedFailed, ResolvedRetryable)
	}
	hash, err := hex.DecodeString(recipientHex)
	if err != nil || len(hash) != 32 {
		return ErrNotUnconfirmed
	}
	tag, err := q.Exec(ctx, `
		UPDATE notification_sends SET status = $4, error = $5, updated_at = now()
		WHERE event_id = $1 AND channel = $2 AND recipient_hash = $3 AND status = 'sending'`,
		eventID, channel, hash, outcome, "unconfirmed; resolved as "+outcome+" by "+operator)
	if err != nil {
		return fmt.Errorf("resolve the %s of %s: %w", channel, eventID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotUnconfirmed
	}
	return nil
}

// UnconfirmedCollector exports durapay_notifications_unconfirmed: the claims open for more
// than UnconfirmedGrace, read from Postgres at each scrape, to alert on. (The unconfirmed outcome of
// durapay_notifications_total cannot count the claims a killed notifier left.)
type UnconfirmedCollector struct {
	q    pg.Querier
	desc *prometheus.Desc
}

// NewUnconfirmedCollector counts through q.
func NewUnconfirmedCollector(q pg.Querier) *UnconfirmedCollector {
	return &UnconfirmedCollector{q: q, desc: prometheus.NewDesc("durapay_notifications_unconfirmed",
		"Emails and texts claimed but never confirmed sent or refused (status sending, older than a few minutes): an operator resolves them.",
		nil, nil)}
}

func (c *UnconfirmedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *UnconfirmedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int64
	if err := c.q.QueryRow(ctx, `SELECT count(*) FROM notification_sends WHERE status = 'sending' AND updated_at < $1`,
		time.Now().Add(-UnconfirmedGrace)).Scan(&n); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
