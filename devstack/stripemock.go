package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// StartStripeMock runs Stripe's official stripe-mock (stateless; it checks requests against
// Stripe's OpenAPI spec) on a free port and returns its base URL and a stop function.
func StartStripeMock(ctx context.Context, path string) (string, func(), error) {
	if _, err := os.Stat(path); err != nil {
		return "", nil, fmt.Errorf("stripe-mock is not at %s (run `make tools`): %w", path, err)
	}
	port, err := FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(path, "-http-addr", "127.0.0.1:"+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { _ = stopProcess(cmd, exited, 5*time.Second) }
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("stripe-mock did not start on %s", url)
}
