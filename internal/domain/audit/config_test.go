package audit_test

import (
	"context"
	"slices"
	"testing"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/platform/config"
	"github.com/durapay/durapay/internal/platform/keyring"
)

// A process that appends refuses to start without the audit keys, and prints them masked.
func TestConfigRequiresTheKeysAndMasksThem(t *testing.T) {
	t.Parallel()
	var missing struct{ Audit audit.Config }
	if err := config.Load(context.Background(), func(string) string { return "" }, &missing); err == nil {
		t.Error("a configuration without AUDIT_KEYS loaded")
	}
	spec, err := keyring.GenerateKey("audit1")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Audit audit.Config }
	env := map[string]string{"AUDIT_KEYS": spec}
	if err := config.Load(context.Background(), func(k string) string { return env[k] }, &cfg); err != nil {
		t.Fatal(err)
	}
	if lines := config.Describe(&cfg); !slices.Contains(lines, "AUDIT_KEYS=*****") {
		t.Errorf("described as %v", lines)
	}
	if keys, err := cfg.Audit.Keyring(); err != nil || keys.PrimaryID() != "audit1" {
		t.Errorf("keyring %v, %v", keys, err)
	}
}
