package audit

import (
	"context"
	"fmt"

	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
)

// Config is the audit log's configuration in the processes that append to it or read its
// anchors (frontend-api, the workers).
type Config struct {
	// Keys key the chain's hashes: "id:base64key,..." (internal/platform/keyring); the first keys new
	// rows, every one verifies. Never stored in the database, so that its owner cannot
	// recompute the chain after rewriting a row.
	Keys string `env:"AUDIT_KEYS, required" secret:"true"`
	// AnchorBucket holds the anchors, in a bucket with Object Lock enabled; empty: the
	// reports' bucket (S3_BUCKET), on the same S3 endpoint and credentials.
	AnchorBucket string `env:"AUDIT_ANCHOR_BUCKET"`
}

// Keyring parses Keys.
func (c Config) Keyring() (*keyring.Keyring, error) {
	keys, err := keyring.Parse(c.Keys)
	if err != nil {
		return nil, fmt.Errorf("AUDIT_KEYS: %w", err)
	}
	return keys, nil
}

// OpenAnchors opens the anchors' bucket on the S3 of s3.
func (c Config) OpenAnchors(ctx context.Context, s3 objectstore.Config) (*Anchors, error) {
	store, err := objectstore.New(ctx, s3.WithBucket(c.AnchorBucket))
	if err != nil {
		return nil, fmt.Errorf("audit anchors' bucket: %w", err)
	}
	return NewAnchors(store), nil
}
