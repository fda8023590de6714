// Package temporalx dials Temporal the same way in every Durapay process.
package temporalx

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to Temporal, retrying while the server is still starting (as in `make dev`,
// where workers and the server start together) until ctx ends.
func Dial(ctx context.Context, hostPort, namespace string, logger tlog.Logger) (client.Client, error) {
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace, Logger: logger})
		if err == nil {
			return c, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reach Temporal at %s: %w", hostPort, lastErr)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
