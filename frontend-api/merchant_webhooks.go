package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/notify"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/schemas"
)

// A merchant's webhook endpoints, their delivery logs and redeliveries, and its notification
// preferences. Endpoint secrets are shown once (creation, roll); every route but the reads
// needs the secret key, as API keys do.

var (
	webhookEndpointIDPattern = regexp.MustCompile(`^we_[a-z2-7]{24}$`)
	webhookDeliveryIDPattern = regexp.MustCompile(`^whd_[a-z2-7]{24}$`)
)

const (
	maxWebhookURLLength  = 2048
	maxDeliveriesListed  = 100
	defaultSecretOverlap = 24 * time.Hour
	maxSecretOverlap     = 7 * 24 * time.Hour
)

// webhookStore is the store over the server's pool and data keys.
func (s *server) webhookStore() *webhooks.Store { return webhooks.NewStore(s.pool, s.dataKeys) }

// createWebhookEndpointBody is POST /v1/webhook_endpoints.
type createWebhookEndpointBody struct {
	URL           string   `json:"url"`
	Description   string   `json:"description"`
	EnabledEvents []string `json:"enabled_events"`
}

// createWebhookEndpoint registers an endpoint. Its URL must be https and must not point at a
// private, loopback, link-local or metadata address (checked here, and again at each dial).
func (s *server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var body createWebhookEndpointBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case body.URL == "":
		return newError(codeParameterMissing, "url", "Missing required parameter: url.")
	case len(body.URL) > maxWebhookURLLength:
		return newError(codeParameterInvalid, "url", fmt.Sprintf("url must be at most %d characters.", maxWebhookURLLength))
	case len(body.Description) > maxDescriptionLength:
		return newError(codeParameterInvalid, "description", fmt.Sprintf("description must be at most %d characters.", maxDescriptionLength))
	case len(body.EnabledEvents) == 0:
		return newError(codeParameterMissing, "enabled_events", `Missing required parameter: enabled_events (event types, or "*" for all).`)
	}
	for _, t := range body.EnabledEvents {
		if t != schemas.WebhookAllEvents && !notify.KnownEventType(t) {
			return newError(codeParameterInvalid, "enabled_events", "Unknown event type: '"+t+"'.")
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second) // DNS is the slow part
	defer cancel()
	if err := s.webhookPolicy.CheckURL(ctx, body.URL, nil); err != nil {
		code := codeWebhookURLInvalid
		if errors.Is(err, webhooks.ErrForbiddenDestination) {
			code = codeWebhookURLForbidden
		}
		s.audit(r, "webhook_endpoint.create", "", audit.Refused, map[string]string{"reason": err.Error()})
		return &apiError{code: code, param: "url", message: "url is not allowed: " + err.Error(), cause: err}
	}
	e, err := s.webhookStore().CreateEndpoint(r.Context(), merchantFrom(r.Context()), body.URL, body.Description,
		slices.Compact(slices.Sorted(slices.Values(body.EnabledEvents))))
	if errors.Is(err, webhooks.ErrTooMany) {
		return newError(codeParameterInvalid, "", fmt.Sprintf("A merchant can have at most %d enabled webhook endpoints.", webhooks.MaxEndpoints))
	}
	if err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.create", e.ID, audit.Success, map[string]string{"url": e.URL})
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	list, err := s.webhookStore().Endpoints(r.Context(), merchantFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": list})
	return nil
}

func (s *server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookEndpointID(r)
	if err != nil {
		return err
	}
	e, err := s.webhookStore().Endpoint(r.Context(), merchantFrom(r.Context()), id)
	if err != nil {
		return webhookError(err, "webhook endpoint", id)
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// disableWebhookEndpoint stops deliveries to an endpoint; pending ones fail at their next
// attempt. It cannot be enabled again: a new endpoint gets a new secret.
func (s *server) disableWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookEndpointID(r)
	if err != nil {
		return err
	}
	e, err := s.webhookStore().DisableEndpoint(r.Context(), merchantFrom(r.Context()), id)
	if err != nil {
		return webhookError(err, "webhook endpoint", id)
	}
	s.audit(r, "webhook_endpoint.disable", id, audit.Success, nil)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// rollWebhookSecretBody is POST /v1/webhook_endpoints/{id}/roll_secret.
type rollWebhookSecretBody struct {
	// ExpiresInSeconds is how long the previous secret keeps signing; default a day.
	ExpiresInSeconds *int64 `json:"expires_in_seconds"`
}

// rollWebhookSecret gives an endpoint a new secret. Until the previous one expires, each
// delivery carries two v1 signatures, one per secret.
func (s *server) rollWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookEndpointID(r)
	if err != nil {
		return err
	}
	var body rollWebhookSecretBody
	if err := s.decodeOptionalJSON(w, r, &body); err != nil {
		return err
	}
	overlap := defaultSecretOverlap
	if body.ExpiresInSeconds != nil {
		overlap = time.Duration(*body.ExpiresInSeconds) * time.Second
		if overlap < 0 || overlap > maxSecretOverlap {
			return newError(codeParameterInvalid, "expires_in_seconds", "expires_in_seconds must be from 0 to 604800 (7 days).")
		}
	}
	e, err := s.webhookStore().RollSecret(r.Context(), merchantFrom(r.Context()), id, overlap)
	if err != nil {
		return webhookError(err, "webhook endpoint", id)
	}
	s.audit(r, "webhook_endpoint.roll_secret", id, audit.Success, map[string]string{"overlap": overlap.String()})
	writeJSON(w, http.StatusOK, e)
	return nil
}

// listWebhookDeliveries is an endpoint's delivery log, newest first.
func (s *server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookEndpointID(r)
	if err != nil {
		return err
	}
	limit, err := intParam(r.URL.Query(), "limit", 20, 1, maxDeliveriesListed)
	if err != nil {
		return err
	}
	store := s.webhookStore()
	if _, err := store.Endpoint(r.Context(), merchantFrom(r.Context()), id); err != nil {
		return webhookError(err, "webhook endpoint", id)
	}
	list, err := store.Deliveries(r.Context(), merchantFrom(r.Context()), id, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": list})
	return nil
}

// getWebhookDelivery is one delivery with every attempt.
func (s *server) getWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookDeliveryID(r)
	if err != nil {
		return err
	}
	d, err := s.webhookStore().Delivery(r.Context(), merchantFrom(r.Context()), id)
	if err != nil {
		return webhookError(err, "webhook delivery", id)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// redeliverWebhook sends a finished delivery's event again, as a new delivery (with its
// own attempts and retries), within the endpoint's redelivery limit. With an
// Idempotency-Key, a retried request redelivers once.
func (s *server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookDeliveryID(r)
	if err != nil {
		return err
	}
	return s.idempotently(w, r, fingerprint(id), func(r *http.Request) (int, any, error) {
		ctx := r.Context()
		store := s.webhookStore()
		original, err := store.Delivery(ctx, merchantFrom(ctx), id)
		if err != nil {
			return 0, nil, webhookError(err, "webhook delivery", id)
		}
		if err := s.limitRedeliveries(ctx, original.Endpoint); err != nil {
			return 0, nil, err
		}
		fresh := webhooks.RedeliveryID(id, r.Header.Get("Idempotency-Key"))
		if err := store.Redeliver(ctx, merchantFrom(ctx), id, fresh); err != nil {
			return 0, nil, webhookError(err, "webhook delivery", id)
		}
		if err := s.workflows.StartWebhookDelivery(ctx, fresh, s.webhookRetry); err != nil {
			// Recorded but not started: a retry with the same key finds the same
			// redelivery and starts it.
			return 0, nil, unavailable("Redelivery is temporarily unavailable."+retrySameKey, err)
		}
		s.audit(r, "webhook_delivery.redeliver", id, audit.Success, map[string]string{"delivery": fresh})
		d, err := store.Delivery(ctx, merchantFrom(ctx), fresh)
		return http.StatusCreated, d, err
	})
}

func webhookEndpointID(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if !webhookEndpointIDPattern.MatchString(id) {
		return "", newError(codeResourceMissing, "id", "No such webhook endpoint: '"+id+"'")
	}
	return id, nil
}

func webhookDeliveryID(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if !webhookDeliveryIDPattern.MatchString(id) {
		return "", newError(codeResourceMissing, "id", "No such webhook delivery: '"+id+"'")
	}
	return id, nil
}

// webhookError answers the store's refusals.
func webhookError(err error, what, id string) error {
	switch {
	case errors.Is(err, webhooks.ErrNotFound):
		return newError(codeResourceMissing, "id", "No such "+what+": '"+id+"'")
	case errors.Is(err, webhooks.ErrDisabled):
		return newError(codeWebhookEndpointDisabled, "id", "The webhook endpoint is disabled.")
	case errors.Is(err, webhooks.ErrNotCompleted):
		return newError(codeWebhookDeliveryPending, "id", "The delivery is still being attempted; redeliver it once it has succeeded or failed.")
	}
	return err
}

func (s *server) getNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	p, err := notify.NewPreferenceStore(s.pool, s.redis, s.cfg.Notifications).Get(r.Context(), merchantFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// setNotificationPreferences replaces the merchant's preferences; fields left out keep
// their current values.
func (s *server) setNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	store := notify.NewPreferenceStore(s.pool, s.redis, s.cfg.Notifications)
	p, err := store.Get(ctx, merchantFrom(ctx))
	if err != nil {
		return err
	}
	if err := s.decodeJSON(w, r, &p); err != nil {
		return err
	}
	var invalid *notify.InvalidPreferenceError
	if err := p.Validate(notify.KnownEventType, s.cfg.Notifications); errors.As(err, &invalid) {
		return &apiError{code: codeParameterInvalid, param: invalid.Field, message: invalid.Field + " " + invalid.Reason + ".", cause: err}
	}
	if err := store.Set(ctx, merchantFrom(ctx), p); err != nil {
		return err
	}
	s.audit(r, "notification_preferences.update", merchantFrom(ctx), audit.Success, nil)
	writeJSON(w, http.StatusOK, p)
	return nil
}

// listUnconfirmedSends is GET /v1/admin/notifications/unconfirmed: emails and texts claimed
// but never confirmed sent or refused, open for longer than older_than seconds (default
// the notifier's grace of 5 minutes), oldest first.
func (s *server) listUnconfirmedSends(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	olderThan, err := intParam(q, "older_than", int(notify.UnconfirmedGrace.Seconds()), 0, 90*24*3600)
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	sends, err := notify.ListUnconfirmed(r.Context(), s.pool, time.Now().Add(-time.Duration(olderThan)*time.Second), limit)
	if err != nil {
		return err
	}
	if sends == nil {
		sends = []notify.Unconfirmed{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": sends})
	return nil
}

// resolveSendBody is POST /v1/admin/notifications/unconfirmed/resolve.
type resolveSendBody struct {
	Event         string `json:"event"`
	Channel       string `json:"channel"`
	RecipientHash string `json:"recipient_hash"`
	// Outcome is what the operator established: sent, failed or retryable.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// resolveUnconfirmedSend records what an operator found out about an unconfirmed send.
func (s *server) resolveUnconfirmedSend(w http.ResponseWriter, r *http.Request) error {
	var body resolveSendBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case body.Event == "":
		return newError(codeParameterMissing, "event", "event is required.")
	case body.Channel != notify.ChannelEmail && body.Channel != notify.ChannelSMS:
		return newError(codeParameterInvalid, "channel", "channel must be email or sms.")
	case !slices.Contains([]string{notify.ResolvedSent, notify.ResolvedFailed, notify.ResolvedRetryable}, body.Outcome):
		return newError(codeParameterInvalid, "outcome", "outcome must be sent (the provider's records show it), failed (it will not be sent) or retryable (the next delivery of the event sends it).")
	case len(body.Reason) > maxReasonLength:
		return newError(codeParameterInvalid, "reason", "reason must be at most 500 characters.")
	}
	err := notify.Resolve(r.Context(), s.pool, body.Event, body.Channel, body.RecipientHash, body.Outcome, principalFrom(r.Context()).operator())
	if errors.Is(err, notify.ErrNotUnconfirmed) {
		return newError(codeResourceMissing, "", "No unconfirmed "+body.Channel+" for that event and recipient: it was never claimed, or is resolved already.")
	}
	if err != nil {
		return err
	}
	s.audit(r, "notification.resolve", body.Event, audit.Success, map[string]string{
		"channel": body.Channel, "recipient_hash": body.RecipientHash, "outcome": body.Outcome, "reason": body.Reason})
	writeJSON(w, http.StatusOK, map[string]any{"event": body.Event, "channel": body.Channel, "recipient_hash": body.RecipientHash, "status": body.Outcome})
	return nil
}
