// Package temporalx dials Temporal the same way in every Durapay process.
package temporalx

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/durapay/durapay/internal/keyring"
	"github.com/durapay/durapay/internal/payloadcodec"
)

// Keys reads TEMPORAL_PAYLOAD_KEYS: the keyring that encrypts workflow payloads, or nil when
// none is configured (payloads then travel in clear; every process of a deployment must
// agree).
func Keys(spec string) (*keyring.Keyring, error) {
	if spec == "" {
		return nil, nil
	}
	k, err := keyring.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
	}
	return k, nil
}

// Dial connects to Temporal, retrying while the server is still starting (as in `make dev`,
// where workers and the server start together) until ctx ends. With keys, every payload
// the client writes is encrypted and every one it reads decrypted.
func Dial(ctx context.Context, hostPort, namespace string, logger tlog.Logger, keys *keyring.Keyring) (client.Client, error) {
	opts := client.Options{HostPort: hostPort, Namespace: namespace, Logger: logger}
	if keys != nil {
		opts.DataConverter = payloadcodec.DataConverter(keys)
	}
	var lastErr error
	for {
		c, err := client.DialContext(ctx, opts)
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
