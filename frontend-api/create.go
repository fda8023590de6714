package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/durapay/durapay/internal/domain/idempotency"
	"github.com/durapay/durapay/internal/platform/pg"
)

// creation is one create request (a payment, a refund, a customer, a merchant) as
// createOnce runs it. Its resource's ID derives from the caller and the Idempotency-Key,
// and so do its workflow's.
type creation[T any] struct {
	key, requestHash string
	// service names what is unavailable in a 503 ("The payment service").
	service string
	// recorded reads the resource an earlier request with this key created and the hash of
	// that request, or pg.ErrNotFound.
	recorded func(ctx context.Context) (v T, requestHash string, err error)
	// inFlight says that a recorded resource is still being made by its workflow (a refund
	// reserved but not yet at Stripe): its answer is the workflow's to give. nil: never.
	inFlight func(T) bool
	// start creates the resource: it starts the workflow with Update-With-Start, or reaches
	// the one a concurrent or earlier request started, and waits for its first answer.
	start func(ctx context.Context) (v T, replayed bool, err error)
	// answer writes the resource as the create's answer (a replay's, when replayed).
	answer func(w http.ResponseWriter, v T, replayed bool) error
	// pending is the answer (202) when the outcome is not known within CreateTimeout.
	pending func() T
}

// createOnce is the one idempotency mechanism of every create. A retry with the same key and
// request:
//
//   - finds the resource recorded, and is answered from it (Idempotent-Replayed: true);
//   - or, while the first request's workflow still makes it, reaches that workflow and gets
//     the same answer: concurrent duplicates make one resource;
//   - or gets the refusal the workflow saved for the first (a refund of more than remains):
//     a refused create records no resource, and its closed workflow cannot be started again.
//
// The same key with another request is 422 idempotency_key_reused. The workflow runs
// detached from the client: one that hangs up does not stop a create half-way, and its
// retry finds the outcome. An outcome not known in time is 202 with the resource pending.
func createOnce[T any](s *server, w http.ResponseWriter, r *http.Request, c creation[T]) error {
	ctx := r.Context()
	if v, hash, err := c.recorded(ctx); err == nil {
		if hash != c.requestHash {
			return reusedKey()
		}
		if c.inFlight == nil || !c.inFlight(v) {
			return c.answer(w, v, true)
		}
	} else if !errors.Is(err, pg.ErrNotFound) {
		return err
	}
	who, route := principalFrom(ctx).id(), r.Method+" "+routeName(r)
	if saved, err := idempotency.Read(ctx, s.pool, who, c.key); err == nil {
		if saved.Route != route || saved.RequestHash != c.requestHash {
			return reusedKey()
		}
		writeSaved(w, saved)
		return nil
	} else if !errors.Is(err, pg.ErrNotFound) {
		return err
	}

	startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CreateTimeout)
	defer cancel()
	v, replayed, err := c.start(startCtx)
	if err == nil {
		return c.answer(w, v, replayed)
	}
	if refusal := workflowRefusal(err); refusal != nil {
		if refusal.code != codeIdempotencyKeyReused { // that one is this request's, not the key's
			s.saveRefusal(r, who, c.key, route, c.requestHash, refusal)
		}
		return refusal
	}
	if startCtx.Err() != nil && ctx.Err() == nil {
		// Stripe is slow or retrying: the create carries on, and the client learns its
		// outcome by retrying or reading the resource.
		loggerFrom(ctx).WithError(err).Warn("create outcome not known in time; answering it pending")
		writeJSON(w, http.StatusAccepted, c.pending())
		return nil
	}
	// The workflow may have finished meanwhile: its outcome is then recorded.
	if v, hash, lookErr := c.recorded(ctx); lookErr == nil && hash == c.requestHash {
		return c.answer(w, v, true)
	}
	if errors.Is(err, errWorkflowClosed) {
		return newError(codeIdempotencyKeyUnavailable, "",
			"A request with this Idempotency-Key was stopped before it was recorded. Use a new Idempotency-Key.")
	}
	var ae *apiError
	if errors.As(err, &ae) { // refused before the workflow (an unknown customer, say): nothing to save
		return err
	}
	return unavailable(c.service+" is temporarily unavailable."+retrySameKey, err)
}

// saveRefusal keeps a workflow's refusal for the retries of the same request. Should that
// fail, a retry is told the key is unavailable rather than why: said in the log.
func (s *server) saveRefusal(r *http.Request, who, key, route, requestHash string, refusal *apiError) {
	_, class, body := answerOf(r, refusal)
	encoded, err := json.Marshal(body)
	if err == nil {
		err = idempotency.Save(context.WithoutCancel(r.Context()), s.pool, who, key, route, requestHash, class.status, encoded)
	}
	if err != nil {
		loggerFrom(r.Context()).WithError(err).Error("could not save a create's refusal")
	}
}

// writeCreated answers a create with its resource: 201, its replays too, as Stripe's do.
func writeCreated(w http.ResponseWriter, v any, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusCreated, v)
}

// writeSaved answers with a saved answer.
func writeSaved(w http.ResponseWriter, saved idempotency.Record) {
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(saved.Status)
	_, _ = w.Write(append(saved.Response, '\n'))
}
