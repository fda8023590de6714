package webhooks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// MaxEndpoints bounds a merchant's endpoints: each event fans out to all of them.
const MaxEndpoints = 16

// Errors the API answers with 4xx.
var (
	ErrNotFound     = errors.New("no such webhook object")
	ErrTooMany      = fmt.Errorf("a merchant has at most %d webhook endpoints", MaxEndpoints)
	ErrDisabled     = errors.New("the webhook endpoint is disabled")
	ErrNotCompleted = errors.New("the delivery is still being attempted")
)

// Endpoint statuses.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

func secretPurpose(endpointID string) string { return "webhook endpoint secret " + endpointID }

func newID(prefix string) string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// RedeliveryID names the redelivery of a delivery that a request with an Idempotency-Key
// asks for: the same request retried finds the same redelivery. Without a key, a new one.
func RedeliveryID(deliveryID, idempotencyKey string) string {
	if idempotencyKey == "" {
		return newID("whd_")
	}
	sum := sha256.Sum256([]byte(deliveryID + "\x00" + idempotencyKey))
	return "whd_" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:15]))
}

// Store keeps endpoints (secrets sealed with the data keys), deliveries and their attempts.
type Store struct {
	q    *pgxpool.Pool
	keys *keyring.Keyring
}

// NewStore wires the store to Postgres and the data keys that seal endpoint secrets.
func NewStore(pool *pgxpool.Pool, keys *keyring.Keyring) *Store { return &Store{q: pool, keys: keys} }

// CreateEndpoint registers an endpoint with a fresh secret, returned in the endpoint once.
// The URL must have passed Policy.CheckURL.
func (s *Store) CreateEndpoint(ctx context.Context, merchantID, url, description string, events []string) (schemas.WebhookEndpoint, error) {
	secret, err := NewSecret()
	if err != nil {
		return schemas.WebhookEndpoint{}, err
	}
	id := newID("we_")
	sealed, err := envelope.Seal(s.keys, secret, secretPurpose(id))
	if err != nil {
		return schemas.WebhookEndpoint{}, err
	}
	// Creations for one merchant take turns (a lock per merchant for the transaction), so
	// that two racing at the limit cannot both pass the count.
	var created time.Time
	err = pgx.BeginFunc(ctx, s.q, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || $1, 0))`, merchantID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			INSERT INTO webhook_endpoints (id, merchant_id, url, description, enabled_events, secret)
			SELECT $1, $2, $3, $4, $5, $6
			WHERE (SELECT count(*) FROM webhook_endpoints WHERE merchant_id = $2 AND status = 'enabled') < $7
			RETURNING created_at`, id, merchantID, url, description, events, sealed, MaxEndpoints).Scan(&created)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return schemas.WebhookEndpoint{}, ErrTooMany
	}
	if err != nil {
		return schemas.WebhookEndpoint{}, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return schemas.WebhookEndpoint{ID: id, Object: "webhook_endpoint", URL: url, Description: description,
		EnabledEvents: events, Status: StatusEnabled, Secret: secret, Created: created.Unix()}, nil
}

const endpointColumns = `id, url, description, enabled_events, status, previous_expires_at, created_at`

func scanEndpoint(row pgx.Row) (schemas.WebhookEndpoint, error) {
	e := schemas.WebhookEndpoint{Object: "webhook_endpoint"}
	var prevExpires *time.Time
	var created time.Time
	err := row.Scan(&e.ID, &e.URL, &e.Description, &e.EnabledEvents, &e.Status, &prevExpires, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("read webhook endpoint: %w", err)
	}
	e.Created = created.Unix()
	if prevExpires != nil && prevExpires.After(time.Now()) {
		e.PreviousSecretExpires = prevExpires.Unix()
	}
	return e, nil
}

// Endpoint reads one of the merchant's endpoints; another merchant's is as missing as none.
func (s *Store) Endpoint(ctx context.Context, merchantID, id string) (schemas.WebhookEndpoint, error) {
	return scanEndpoint(s.q.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2`, id, merchantID))
}

// Endpoints lists the merchant's endpoints, newest first.
func (s *Store) Endpoints(ctx context.Context, merchantID string) ([]schemas.WebhookEndpoint, error) {
	rows, err := s.q.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE merchant_id = $1 ORDER BY created_at DESC, id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	out := []schemas.WebhookEndpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Subscribed lists the merchant's enabled endpoints that want an event type.
func (s *Store) Subscribed(ctx context.Context, merchantID, eventType string) ([]schemas.WebhookEndpoint, error) {
	all, err := s.Endpoints(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(e schemas.WebhookEndpoint) bool {
		return e.Status != StatusEnabled ||
			!(slices.Contains(e.EnabledEvents, eventType) || slices.Contains(e.EnabledEvents, schemas.WebhookAllEvents))
	}), nil
}

// DisableEndpoint stops deliveries to an endpoint: pending ones fail at their next attempt.
func (s *Store) DisableEndpoint(ctx context.Context, merchantID, id string) (schemas.WebhookEndpoint, error) {
	return scanEndpoint(s.q.QueryRow(ctx, `
		UPDATE webhook_endpoints SET status = 'disabled', updated_at = now() WHERE id = $1 AND merchant_id = $2
		RETURNING `+endpointColumns, id, merchantID))
}

// RollSecret gives the endpoint a new secret; the current one keeps signing (as a second
// v1 signature) for overlap, so the merchant can deploy the new one without missing events.
func (s *Store) RollSecret(ctx context.Context, merchantID, id string, overlap time.Duration) (schemas.WebhookEndpoint, error) {
	secret, err := NewSecret()
	if err != nil {
		return schemas.WebhookEndpoint{}, err
	}
	sealed, err := envelope.Seal(s.keys, secret, secretPurpose(id))
	if err != nil {
		return schemas.WebhookEndpoint{}, err
	}
	e, err := scanEndpoint(s.q.QueryRow(ctx, `
		UPDATE webhook_endpoints
		SET previous_secret = secret, previous_expires_at = now() + $3::interval, secret = $4, updated_at = now()
		WHERE id = $1 AND merchant_id = $2 AND status = 'enabled'
		RETURNING `+endpointColumns, id, merchantID, overlap, sealed))
	if errors.Is(err, ErrNotFound) {
		if _, err := s.Endpoint(ctx, merchantID, id); err != nil {
			return e, err
		}
		return e, ErrDisabled
	}
	e.Secret = secret
	return e, err
}

// Target is what one delivery attempt needs.
type Target struct {
	DeliveryID     string
	EventID        string
	Status         string // the delivery's
	EndpointStatus string
	URL            string
	Payload        []byte
	// Secrets sign the payload: the current one, and the previous one during a rotation.
	Secrets []string
}

// Target reads a delivery with its endpoint and opens the endpoint's secrets.
func (s *Store) Target(ctx context.Context, deliveryID string, now time.Time) (Target, error) {
	t := Target{DeliveryID: deliveryID}
	var secret, previous []byte
	var prevExpires *time.Time
	var endpointID string
	err := s.q.QueryRow(ctx, `
		SELECT d.event_id, d.status, d.payload, e.id, e.status, e.url, e.secret, e.previous_secret, e.previous_expires_at
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`, deliveryID).
		Scan(&t.EventID, &t.Status, &t.Payload, &endpointID, &t.EndpointStatus, &t.URL, &secret, &previous, &prevExpires)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("delivery %s: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read delivery %s: %w", deliveryID, err)
	}
	var current string
	if err := envelope.Open(s.keys, secret, secretPurpose(endpointID), &current); err != nil {
		return t, err
	}
	t.Secrets = []string{current}
	if previous != nil && prevExpires != nil && prevExpires.After(now) {
		var prev string
		if err := envelope.Open(s.keys, previous, secretPurpose(endpointID), &prev); err != nil {
			return t, err
		}
		t.Secrets = append(t.Secrets, prev)
	}
	return t, nil
}

// CreateDelivery records the delivery of an event to an endpoint, once: a second call for
// the same pair returns the first delivery.
func (s *Store) CreateDelivery(ctx context.Context, merchantID, endpointID string, ev schemas.Event, payload []byte) (string, error) {
	var id string
	err := s.q.QueryRow(ctx, `
		INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (endpoint_id, event_id) WHERE redelivery_of IS NULL DO UPDATE SET event_id = EXCLUDED.event_id
		RETURNING id`, newID("whd_"), endpointID, merchantID, ev.ID, ev.Type, payload).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("record delivery of %s to %s: %w", ev.ID, endpointID, err)
	}
	return id, nil
}

// Redeliver records newID as a new delivery of a finished delivery's event to the same
// endpoint; recording the same newID again is a no-op (see RedeliveryID).
func (s *Store) Redeliver(ctx context.Context, merchantID, deliveryID, newID string) error {
	d, err := s.Delivery(ctx, merchantID, deliveryID)
	if err != nil {
		return err
	}
	if d.Status == DeliveryPending {
		return ErrNotCompleted
	}
	tag, err := s.q.Exec(ctx, `
		INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, redelivery_of)
		SELECT $1, d.endpoint_id, d.merchant_id, d.event_id, d.event_type, d.payload, d.id
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.id = $2 AND e.status = 'enabled'
		ON CONFLICT (id) DO NOTHING`, newID, deliveryID)
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", deliveryID, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.Delivery(ctx, merchantID, newID); err == nil {
			return nil // recorded by an earlier try of the same request
		}
		return ErrDisabled
	}
	return nil
}

const deliveryColumns = `id, endpoint_id, event_id, event_type, status, attempts, coalesce(last_status_code, 0),
	coalesce(last_error, ''), coalesce(redelivery_of, ''), created_at, completed_at`

func scanDelivery(row pgx.Row) (schemas.WebhookDelivery, error) {
	d := schemas.WebhookDelivery{Object: "webhook_delivery"}
	var created time.Time
	var completed *time.Time
	err := row.Scan(&d.ID, &d.Endpoint, &d.Event, &d.EventType, &d.Status, &d.Attempts, &d.LastStatusCode,
		&d.LastError, &d.RedeliveryOf, &created, &completed)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read webhook delivery: %w", err)
	}
	d.Created, d.LastError = created.Unix(), publicError(d.LastError)
	if completed != nil {
		d.Completed = completed.Unix()
	}
	return d, nil
}

// Delivery reads one of the merchant's deliveries with its attempts.
func (s *Store) Delivery(ctx context.Context, merchantID, id string) (schemas.WebhookDelivery, error) {
	d, err := scanDelivery(s.q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1 AND merchant_id = $2`, id, merchantID))
	if err != nil {
		return d, err
	}
	rows, err := s.q.Query(ctx, `SELECT attempt, at, duration_ms, coalesce(status_code, 0), coalesce(error, '')
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt`, id)
	if err != nil {
		return d, fmt.Errorf("read attempts of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a schemas.WebhookAttempt
		var at time.Time
		if err := rows.Scan(&a.Attempt, &at, &a.DurationMS, &a.StatusCode, &a.Error); err != nil {
			return d, fmt.Errorf("read attempts of %s: %w", id, err)
		}
		a.At, a.Error = at.Unix(), publicError(a.Error)
		d.AttemptLog = append(d.AttemptLog, a)
	}
	return d, rows.Err()
}

// Deliveries is an endpoint's delivery log, the newest limit entries first.
func (s *Store) Deliveries(ctx context.Context, merchantID, endpointID string, limit int) ([]schemas.WebhookDelivery, error) {
	rows, err := s.q.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE endpoint_id = $1 AND merchant_id = $2 ORDER BY created_at DESC, id LIMIT $3`, endpointID, merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", endpointID, err)
	}
	defer rows.Close()
	out := []schemas.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordAttempt logs an attempt and moves the delivery on; an attempt recorded twice (a
// retried write) is kept once. Its error is a class (Classify), the delivery's last_error too.
func (s *Store) RecordAttempt(ctx context.Context, a schemas.WebhookAttemptResult) error {
	status := DeliveryPending
	if a.Succeeded {
		status = DeliverySucceeded
	}
	_, err := s.q.Exec(ctx, `
		WITH logged AS (
			INSERT INTO webhook_attempts (delivery_id, attempt, duration_ms, status_code, error)
			VALUES ($1, $2, $3, nullif($4, 0), nullif($5, '')) ON CONFLICT DO NOTHING)
		UPDATE webhook_deliveries SET attempts = greatest(attempts, $2), last_status_code = nullif($4, 0),
			last_error = nullif($5, ''), status = $6,
			completed_at = CASE WHEN $6 = 'succeeded' THEN now() END
		WHERE id = $1 AND status = 'pending'`,
		a.DeliveryID, a.Attempt, a.DurationMS, a.StatusCode, a.Error, status)
	if err != nil {
		return fmt.Errorf("record attempt %d of %s: %w", a.Attempt, a.DeliveryID, err)
	}
	return nil
}

// FailDelivery ends a delivery that the endpoint never accepted. Its last_error stays the
// class of its last attempt, which says why; the workflow's reason is for the logs.
func (s *Store) FailDelivery(ctx context.Context, deliveryID string) error {
	_, err := s.q.Exec(ctx, `UPDATE webhook_deliveries SET status = 'failed', completed_at = now()
		WHERE id = $1 AND status = 'pending'`, deliveryID)
	if err != nil {
		return fmt.Errorf("fail delivery %s: %w", deliveryID, err)
	}
	return nil
}

// PruneDeliveries deletes up to limit deliveries completed before before, with their
// attempts. A delivery still being attempted stays, and so does one that a redelivery names
// (it goes after the redelivery).
func PruneDeliveries(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		WITH doomed AS (
			SELECT id FROM webhook_deliveries d
			WHERE completed_at < $1
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries r WHERE r.redelivery_of = d.id)
			LIMIT $2
		), attempts AS (
			DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM doomed)
		)
		DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM doomed)`, before, limit)
	return tag.RowsAffected(), err
}
