// Package testenv decides what a test does when a real service it needs is missing:
// in CI (CI=true) that is a failure; on a developer's machine the test is skipped with the
// command that starts the service.
package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable fails (CI) or skips (elsewhere) a test whose service cannot be reached.
func Unavailable(t testing.TB, service string, err error, startCommand string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is not reachable: %v (CI requires it; start it with: %s)", service, err, startCommand)
	}
	t.Skipf("%s is not reachable (%v); start it with: %s", service, err, startCommand)
}

// Getenv returns the variable's value or a default.
func Getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Commands that start the machine's services, shown when one is missing.
const (
	StartPostgres = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
	StartRedis    = "redis-server --daemonize yes"
	BuildTools    = "make tools"
)
