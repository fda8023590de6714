package devstack

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/testenv"
)

// `make dev` names the missing service and the command that starts it.
func TestCheckServicesNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tests := []struct {
		name, databaseURL, redisURL, wantService, wantStart string
	}{
		{"no Postgres", "postgres://postgres@127.0.0.1:1/durapay?sslmode=disable&connect_timeout=2", "redis://127.0.0.1:6379/0", "Postgres", testenv.StartPostgres},
		{"no Redis", db, "redis://127.0.0.1:1/0", "Redis", testenv.StartRedis},
	}
	for _, tt := range tests {
		err := CheckServices(ctx, tt.databaseURL, tt.redisURL)
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) || unavailable.Service != tt.wantService || !strings.Contains(err.Error(), tt.wantStart) {
			t.Errorf("%s: err = %v, want %s unavailable with the command %q", tt.name, err, tt.wantService, tt.wantStart)
		}
	}
	if err := CheckServices(ctx, db, testenv.Getenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")); err != nil {
		t.Errorf("both up: %v", err)
	}
}
