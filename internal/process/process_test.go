package process

import (
	"context"
	"slices"
	"testing"

	"github.com/durapay/durapay/internal/config"
)

// A process's configuration embeds Base: its settings load under their own names and are
// described with secrets masked.
func TestBaseLoadsInsideAProcessConfig(t *testing.T) {
	var cfg struct {
		Base
		Extra string `env:"EXTRA, default=x"`
	}
	env := map[string]string{"DATA_KEYS": "k1:secret", "DATABASE_MAX_CONNS": "7"}
	if err := config.Load(context.Background(), func(k string) string { return env[k] }, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.DataKeys != "k1:secret" || cfg.DatabaseMaxConns != 7 || cfg.TemporalAddress != "127.0.0.1:7233" || cfg.Extra != "x" {
		t.Fatalf("loaded %+v", cfg)
	}
	lines := config.Describe(&cfg)
	for _, want := range []string{"DATA_KEYS=*****", "DATABASE_MAX_CONNS=7", "EXTRA=x", "LOG_LEVEL=info"} {
		if !slices.Contains(lines, want) {
			t.Errorf("Describe lacks %q: %v", want, lines)
		}
	}
	if cfg.base() != &cfg.Base {
		t.Error("base() does not reach the embedded settings")
	}
	var missing struct{ Base }
	if err := config.Load(context.Background(), func(string) string { return "" }, &missing); err == nil {
		t.Error("DATA_KEYS is required, yet a configuration without it loaded")
	}
}
