package main

import (
	"errors"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v76"

	"github.com/durapay/durapay/internal/domain/stripeevents"
)

// maxWebhookBytes bounds a Stripe event's body; Stripe's are a few kilobytes.
const maxWebhookBytes = 256 << 10

// stripeWebhook receives Stripe's events: the signature is checked on the raw body, the
// event is recorded by ID (a redelivery changes nothing) and delivered to its workflow as a
// signal. A 2xx tells Stripe to stop redelivering, so it is sent only once the event is
// safely handed over; anything else makes Stripe retry.
func (s *server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newError(codeRequestTooLarge, "", "The event exceeds the size limit.")
	}
	if err != nil {
		return newError(codeInvalidJSON, "", "The request body could not be read.")
	}
	if err := s.webhooks.Verify(body, r.Header.Get("Stripe-Signature")); err != nil {
		return &apiError{code: codeWebhookSignatureInvalid, message: "The Stripe-Signature header does not verify.", cause: err}
	}
	ev, err := stripeevents.Parse(body)
	if err != nil {
		return &apiError{code: codeInvalidJSON, message: "The body is not a Stripe event.", cause: err}
	}
	log := loggerFrom(ctx).WithField("stripe_event", ev.ID).WithField("stripe_event_type", ev.Type)
	if ev.APIVersion != stripe.APIVersion {
		// Deliberately accepted: Durapay reads only the event's ID, type and object ID from it,
		// and the object itself with the pinned API version (see stripeevents.Event).
		log.WithField("api_version", ev.APIVersion).Warn("Stripe event of another API version than stripe-go's")
	}
	outcome, err := s.router.Deliver(ctx, ev, stripeevents.SourceWebhook)
	if err != nil {
		return unavailable("The event could not be handed over; Stripe will retry.", err)
	}
	log.WithField("outcome", outcome).Info("Stripe event received")
	writeJSON(w, http.StatusOK, map[string]any{"received": true, "outcome": outcome})
	return nil
}
