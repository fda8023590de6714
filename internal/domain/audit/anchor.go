package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/durapay/durapay/internal/platform/objectstore"
)

// AnchorPrefix is where anchors are kept in their bucket, as
// audit-anchors/<UTC time>-<seq>.json: listed in the order they were written.
const AnchorPrefix = "audit-anchors/"

// Anchor is the chain's last row at a time, kept outside the database under S3 Object Lock
// (compliance mode): until the lock expires, no one can delete or overwrite the version
// written. So the rows up to Seq cannot be rewritten or removed unseen, neither by the
// database's owner nor by whoever holds the audit key.
type Anchor struct {
	Seq   int64     `json:"seq"`
	Hash  []byte    `json:"hash"`
	KeyID string    `json:"key_id"`
	At    time.Time `json:"at"`
	// Object is the anchor's key in its bucket: where it was read from, not its content.
	Object string `json:"object,omitempty"`
}

// Anchors keeps the anchors in their bucket.
type Anchors struct {
	store *objectstore.Store
}

// NewAnchors returns the anchors of the bucket behind store.
func NewAnchors(store *objectstore.Store) *Anchors { return &Anchors{store: store} }

// Write stores a under Object Lock in compliance mode for retainFor from a.At, and returns
// it with its object key. Compliance, not governance: no one, however privileged, may
// remove it early. An anchor of the same row in the same second is there already, and stays.
func (s *Anchors) Write(ctx context.Context, a Anchor, retainFor time.Duration) (Anchor, error) {
	a.At = a.At.UTC()
	a.Object = ""
	body, err := json.Marshal(a)
	if err != nil {
		return Anchor{}, fmt.Errorf("encode audit anchor of row %d: %w", a.Seq, err)
	}
	a.Object = AnchorPrefix + a.At.Format("20060102T150405Z") + "-" + strconv.FormatInt(a.Seq, 10) + ".json"
	lock := objectstore.Retention{Mode: objectstore.LockCompliance, Until: a.At.Add(retainFor)}
	if _, err := s.store.PutOnce(ctx, a.Object, "application/json", body, lock); err != nil {
		return Anchor{}, fmt.Errorf("write audit anchor: %w", err)
	}
	return a, nil
}

// List returns up to limit anchors written after the one stored as startAfter (empty: from
// the first), oldest first, and whether more follow.
func (s *Anchors) List(ctx context.Context, startAfter string, limit int) ([]Anchor, bool, error) {
	keys, more, err := s.store.List(ctx, AnchorPrefix, startAfter, limit)
	if err != nil {
		return nil, false, fmt.Errorf("list audit anchors: %w", err)
	}
	anchors := make([]Anchor, len(keys))
	for i, key := range keys {
		body, err := s.store.Get(ctx, key)
		if err != nil {
			return nil, false, fmt.Errorf("read audit anchor: %w", err)
		}
		if err := json.Unmarshal(body, &anchors[i]); err != nil {
			return nil, false, fmt.Errorf("read audit anchor %s: %w", key, err)
		}
		anchors[i].Object = key
	}
	return anchors, more, nil
}
