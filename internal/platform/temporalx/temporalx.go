// Package temporalx connects to Temporal the same way in every Durapay process: its client
// options are built here only, so that no process can forget to encrypt.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
)

// ErrNoPayloadKeys: a process was given no TEMPORAL_PAYLOAD_KEYS and not allowed to run in
// clear.
var ErrNoPayloadKeys = errors.New("TEMPORAL_PAYLOAD_KEYS is empty: workflow payloads and failures would be stored in Temporal in clear; " +
	"set it (id:base64key, see internal/payloadcodec), or TEMPORAL_ALLOW_CLEAR_PAYLOADS=true for local use without encryption")

// Keys reads TEMPORAL_PAYLOAD_KEYS (spec) and TEMPORAL_ALLOW_CLEAR_PAYLOADS (allowClear): the
// keyring that encrypts workflow payloads and failures. Without keys a process refuses to
// start (ErrNoPayloadKeys), unless allowClear says to run in clear: Keys then returns nil.
// Both at once are refused too: with keys, clear payloads are always refused, whatever the
// setting says. Every process of a deployment must agree.
func Keys(spec string, allowClear bool) (*keyring.Keyring, error) {
	switch {
	case spec == "" && !allowClear:
		return nil, ErrNoPayloadKeys
	case spec == "":
		return nil, nil
	case allowClear:
		return nil, errors.New("TEMPORAL_ALLOW_CLEAR_PAYLOADS=true with TEMPORAL_PAYLOAD_KEYS set: " +
			"with keys, payloads are always encrypted and clear ones refused; unset TEMPORAL_ALLOW_CLEAR_PAYLOADS")
	}
	k, err := keyring.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
	}
	return k, nil
}

// Dial connects to Temporal, retrying while the server is still starting (as in `make dev`,
// where workers and the server start together) until ctx ends. With keys, every payload
// and failure the client or its workers write is encrypted, and every payload they read must
// be (see options).
func Dial(ctx context.Context, hostPort, namespace string, logger tlog.Logger, keys *keyring.Keyring) (client.Client, error) {
	opts := options(hostPort, namespace, logger, keys)
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

// options are the client options of every Durapay client, and so of its workers (a worker
// takes its converters from its client). With keys: payloads are encrypted and clear ones
// refused (payloadcodec.DataConverter), and failures' messages and stack traces, which can
// quote personal data, travel encrypted too (payloadcodec.FailureConverter). Without keys the
// SDK's defaults write both in clear.
func options(hostPort, namespace string, logger tlog.Logger, keys *keyring.Keyring) client.Options {
	opts := client.Options{HostPort: hostPort, Namespace: namespace, Logger: logger}
	if keys != nil {
		opts.DataConverter = payloadcodec.DataConverter(keys)
		opts.FailureConverter = payloadcodec.FailureConverter(keys)
	}
	return opts
}
