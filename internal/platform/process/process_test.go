package process

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/durapay/durapay/internal/platform/config"
	"github.com/durapay/durapay/internal/platform/keyring"
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

// Outside `make dev` (which has keys), a process given no TEMPORAL_PAYLOAD_KEYS stops at
// start, before it connects to anything, and says what to set; TEMPORAL_ALLOW_CLEAR_PAYLOADS
// lets it run in clear, and is refused beside keys (it would suggest clear payloads pass).
func TestStartRefusesWithoutPayloadKeys(t *testing.T) {
	dataKeys, err := keyring.GenerateKey("data")
	if err != nil {
		t.Fatal(err)
	}
	payloadKeys, err := keyring.GenerateKey("payloads")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no keys": {map[string]string{}, "TEMPORAL_PAYLOAD_KEYS is empty"},
		"keys and clear allowed": {map[string]string{"TEMPORAL_PAYLOAD_KEYS": payloadKeys, "TEMPORAL_ALLOW_CLEAR_PAYLOADS": "true"},
			"unset TEMPORAL_ALLOW_CLEAR_PAYLOADS"},
	} {
		t.Run(name, func(t *testing.T) {
			// Nothing listens at these addresses: an error from connecting would say so.
			env := map[string]string{"DATA_KEYS": dataKeys, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none",
				"REDIS_URL": "redis://127.0.0.1:1/0", "TEMPORAL_ADDRESS": "127.0.0.1:1"}
			maps.Copy(env, tc.env)
			var cfg struct{ Base }
			p, err := Start(context.Background(), "test", func(k string) string { return env[k] }, io.Discard, &cfg, nil)
			if err == nil {
				p.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}
