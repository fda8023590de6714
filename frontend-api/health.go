package main

import (
	"context"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
)

// healthz says the process is alive.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says whether the process can serve: Postgres, Redis and Temporal answer.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": s.pool.Ping,
		"redis":    func(ctx context.Context) error { return s.redis.Ping(ctx).Err() },
		"temporal": func(ctx context.Context) error {
			_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
	}
	status, body := http.StatusOK, map[string]string{}
	for name, check := range checks {
		if err := check(ctx); err != nil {
			status, body[name] = http.StatusServiceUnavailable, "unavailable"
			loggerFrom(ctx).WithError(err).WithField("dependency", name).Warn("not ready")
			continue
		}
		body[name] = "ok"
	}
	writeJSON(w, status, body)
	return nil
}
