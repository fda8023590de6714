package notify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Statuses of a send (notification_sends).
const (
	sendSending   = "sending"
	sendRetryable = "retryable"
	sendSent      = "sent"
	sendCapped    = "capped"
	sendFailed    = "failed"
)

// sendKey identifies one notification: at most one is sent per (event, channel, recipient).
type sendKey struct {
	eventID   string
	channel   string
	recipient [32]byte // SHA-256 of the normalised address: a dedupe key, not a copy of it
}

func newSendKey(eventID, channel, recipient string) sendKey {
	return sendKey{eventID: eventID, channel: channel, recipient: sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(recipient))))}
}

// sends is the notifier's record of what it sent: the claim on a notification is written
// (and committed) before the provider is called, so no redelivery can send it again.
type sends struct{ q pg.Querier }

// claim takes the notification for sending. It is refused when the notification was sent,
// capped or failed, and when an earlier claim is still open: that attempt stopped between
// claiming and learning the provider's answer, and whether the provider sent it cannot be
// known, so it is not sent again (at most once). A notification the provider refused
// (retryable) is claimed again.
func (s sends) claim(ctx context.Context, k sendKey, merchantID, eventType, template string) (bool, error) {
	tag, err := s.q.Exec(ctx, `
		INSERT INTO notification_sends (event_id, channel, recipient_hash, merchant_id, event_type, template, status)
		VALUES ($1, $2, $3, $4, $5, $6, 'sending')
		ON CONFLICT (event_id, channel, recipient_hash) DO UPDATE SET status = 'sending',
			attempts = notification_sends.attempts + 1, updated_at = now()
		WHERE notification_sends.status = 'retryable'`,
		k.eventID, k.channel, k.recipient[:], merchantID, eventType, template)
	if err != nil {
		return false, fmt.Errorf("claim %s %s of %s: %w", k.channel, template, k.eventID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// settle records the outcome of a claimed notification.
func (s sends) settle(ctx context.Context, k sendKey, status, providerID, errText string) error {
	_, err := s.q.Exec(ctx, `UPDATE notification_sends SET status = $4, provider_id = nullif($5, ''), error = nullif($6, ''), updated_at = now()
		WHERE event_id = $1 AND channel = $2 AND recipient_hash = $3 AND status = 'sending'`,
		k.eventID, k.channel, k.recipient[:], status, providerID, errText)
	if err != nil {
		return fmt.Errorf("record %s of %s %s: %w", status, k.channel, k.eventID, err)
	}
	return nil
}

// PruneSends deletes up to limit notification claims made before before. A claim whose
// outcome is unknown (sending) stays, for an operator to resolve.
func PruneSends(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		DELETE FROM notification_sends WHERE (event_id, channel, recipient_hash) IN (
			SELECT event_id, channel, recipient_hash FROM notification_sends
			WHERE created_at < $1 AND status <> 'sending' LIMIT $2)`, before, limit)
	return tag.RowsAffected(), err
}
