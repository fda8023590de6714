package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrStatus is wrapped when the endpoint answered, but not with a 2xx.
var ErrStatus = errors.New("endpoint answered with a non-2xx status")

// maxAnswer is as much of an endpoint's answer as is read (and thrown away): enough to
// reuse the connection, never enough to matter.
const maxAnswer = 64 << 10

// Send POSTs the target's payload, signed at now with its secrets, and returns the
// endpoint's status code. Any answer but a 2xx is an error; so is a redirect, which the
// client does not follow.
func Send(ctx context.Context, c *http.Client, t Target, now time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Payload))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Durapay-Webhooks/1")
	req.Header.Set(Header, Sign(t.Payload, now, t.Secrets...))
	req.Header.Set("Durapay-Event-Id", t.EventID)
	req.Header.Set("Durapay-Delivery-Id", t.DeliveryID)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("%w: %s", ErrStatus, resp.Status)
	}
	return resp.StatusCode, nil
}
