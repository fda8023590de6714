package audit

import (
	"fmt"

	"github.com/durapay/durapay/internal/keyring"
)

// Config is the audit log's configuration in the processes that append to it
// (frontend-api, the workers).
type Config struct {
	// Keys key the chain's hashes: "id:base64key,..." (internal/keyring); the first keys new
	// rows, every one verifies. Never stored in the database, so that its owner cannot
	// recompute the chain after rewriting a row.
	Keys string `env:"AUDIT_KEYS, required" secret:"true"`
}

// Keyring parses Keys.
func (c Config) Keyring() (*keyring.Keyring, error) {
	keys, err := keyring.Parse(c.Keys)
	if err != nil {
		return nil, fmt.Errorf("AUDIT_KEYS: %w", err)
	}
	return keys, nil
}
