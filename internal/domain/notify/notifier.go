// Package notify turns Durapay's events into what people receive: emails (SES), text
// messages (SNS) and merchant webhooks (a WebhookDeliveryWorkflow per delivery).
//
// # Each notification at most once
//
// Kafka delivers at least once: a message comes again after a crash between acting on it
// and committing its offset, or after a rebalance. The dedupe is Postgres, not Redis: a
// notification is claimed in notification_sends, keyed by (event, channel, recipient), and
// the claim commits before the provider is called. A redelivered message finds the claim and
// sends nothing. Redis (which may lose writes on a failover) holds only what can be lost:
// the preferences cache and the daily caps.
//
// The price of at most once is one narrow window: a notifier killed after committing a claim
// and before the provider's answer leaves the claim open ("sending"), and whether the
// provider sent it is unknown, so it is never sent again. Such claims are counted
// (durapay_notifications_total{outcome="unconfirmed"}) and stay in notification_sends with
// status sending, for an operator to look into. A provider that
// answered with an error, or could not be reached, certainly sent nothing: that claim
// becomes retryable and the next attempt sends.
//
// Webhooks are deduplicated by their delivery: one row per (endpoint, event) and one
// workflow per delivery ID.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/notify/messages"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/schemas"
)

// Notifier handles the events of the payments and merchants topics.
type Notifier struct {
	sends     sends
	caps      caps
	prefs     *PreferenceStore
	directory directory
	email     EmailSender
	sms       SMSSender
	webhooks  *webhooks.Store
	temporal  client.Client
	policy    schemas.WebhookRetryPolicy
	log       *logrus.Entry
	metrics   *metrics
	limits    Limits
	now       func() time.Time
}

// Deps are what a Notifier works with.
type Deps struct {
	Pool        *pgxpool.Pool
	Redis       *redis.Client
	DataKeys    *keyring.Keyring
	Email       EmailSender
	SMS         SMSSender
	Temporal    client.Client
	RetryPolicy schemas.WebhookRetryPolicy
	Limits      Limits
	Log         *logrus.Entry
	Registerer  prometheus.Registerer
}

// New wires a Notifier.
func New(d Deps) *Notifier {
	return &Notifier{
		sends: sends{d.Pool}, caps: caps{d.Redis}, prefs: NewPreferenceStore(d.Pool, d.Redis, d.Limits),
		directory: directory{d.Pool, d.DataKeys}, email: d.Email, sms: d.SMS,
		webhooks: webhooks.NewStore(d.Pool, d.DataKeys), temporal: d.Temporal, policy: d.RetryPolicy,
		log: d.Log, metrics: newMetrics(d.Registerer), limits: d.Limits, now: time.Now,
	}
}

// Handle acts on one Kafka message: webhooks first (their deliveries are recorded and
// started), then emails and texts. It is safe to call again with the same message.
func (n *Notifier) Handle(ctx context.Context, m kafka.Message) error {
	if err := schemas.ValidateEvent(m.Value); err != nil {
		return eventbus.Permanent(err)
	}
	var ev schemas.Event
	if err := json.Unmarshal(m.Value, &ev); err != nil {
		return eventbus.Permanent(err)
	}
	if err := n.fanOutWebhooks(ctx, ev, m.Value); err != nil {
		return err
	}
	notes, err := n.plan(ctx, ev)
	if err != nil {
		return err
	}
	for _, note := range notes {
		if err := n.send(ctx, ev, note); err != nil {
			return err
		}
	}
	return nil
}

// fanOutWebhooks records a delivery per subscribed endpoint and starts its workflow. Both
// steps find the earlier ones on a redelivered message.
func (n *Notifier) fanOutWebhooks(ctx context.Context, ev schemas.Event, payload []byte) error {
	endpoints, err := n.webhooks.Subscribed(ctx, ev.Merchant, ev.Type)
	if err != nil {
		return err
	}
	for _, e := range endpoints {
		id, err := n.webhooks.CreateDelivery(ctx, ev.Merchant, e.ID, ev, payload)
		if err != nil {
			return err
		}
		if err := webhooks.StartDelivery(ctx, n.temporal, id, n.policy); err != nil {
			return err
		}
	}
	return nil
}

// notification is one message to one recipient.
type notification struct {
	channel  string
	to       string
	template string
	email    messages.Email
	sms      string
	cap      int
}

// send delivers a notification at most once (see the package doc).
func (n *Notifier) send(ctx context.Context, ev schemas.Event, note notification) error {
	log := n.log.WithFields(logrus.Fields{"event": ev.ID, "type": ev.Type, "merchant": ev.Merchant, "channel": note.channel, "template": note.template})
	k := newSendKey(ev.ID, note.channel, note.to)
	claimed, err := n.sends.claim(ctx, k, ev.Merchant, ev.Type, note.template)
	if err != nil {
		return err
	}
	if !claimed {
		n.metrics.outcome(note.channel, "duplicate")
		return nil
	}
	within, err := n.caps.take(ctx, ev.Merchant, note.channel, note.cap, n.now())
	if err != nil {
		return errors.Join(err, n.sends.settle(ctx, k, sendRetryable, "", err.Error()))
	}
	if !within {
		log.WithField("cap", note.cap).Warn("daily cap reached: notification not sent")
		n.metrics.outcome(note.channel, sendCapped)
		return n.sends.settle(ctx, k, sendCapped, "", fmt.Sprintf("daily %s cap of %d reached", note.channel, note.cap))
	}
	var providerID string
	switch note.channel {
	case ChannelEmail:
		providerID, err = n.email.SendEmail(ctx, note.to, note.email, map[string]string{"event": ev.ID, "merchant": ev.Merchant, "template": note.template})
	case ChannelSMS:
		providerID, err = n.sms.SendSMS(ctx, note.to, note.sms)
	}
	switch {
	case err == nil:
		n.metrics.outcome(note.channel, sendSent)
		return n.sends.settle(ctx, k, sendSent, providerID, "")
	case notSent(err):
		n.metrics.outcome(note.channel, sendRetryable)
		return errors.Join(fmt.Errorf("send %s %s: %w", note.channel, note.template, err), n.sends.settle(ctx, k, sendRetryable, "", err.Error()))
	default:
		// The provider may have sent it: the claim stays open and nothing is resent.
		log.WithError(err).Error("notification unconfirmed: the provider may or may not have sent it; it will not be resent")
		n.metrics.outcome(note.channel, "unconfirmed")
		return nil
	}
}

// metrics count notifications by channel and outcome.
type metrics struct{ sent *prometheus.CounterVec }

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{sent: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "durapay_notifications_total",
		Help: "Notifications by channel and outcome: sent, duplicate (already claimed), capped, retryable (the provider refused), unconfirmed (the provider's answer was lost).",
	}, []string{"channel", "outcome"})}
	reg.MustRegister(m.sent)
	return m
}

func (m *metrics) outcome(channel, outcome string) { m.sent.WithLabelValues(channel, outcome).Inc() }
