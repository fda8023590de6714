package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/schemas"
)

// AnchorAuditLog writes the audit log's last row (sequence, hash, key ID) to the anchors'
// bucket, locked for in.RetainFor from now. An empty log has nothing to anchor. A retry
// writes another anchor, of the same row or a later one: each is true.
func (a *Audit) AnchorAuditLog(ctx context.Context, in schemas.AuditAnchorInput) (schemas.AuditAnchorResult, error) {
	head, ok, err := a.log.Head(ctx)
	if err != nil || !ok {
		return schemas.AuditAnchorResult{}, err
	}
	anchor, err := a.anchors.Write(ctx, audit.Anchor{Seq: head.Seq, Hash: head.Hash, KeyID: head.KeyID, At: time.Now()}, in.RetainFor)
	if err != nil {
		return schemas.AuditAnchorResult{}, fmt.Errorf("anchor audit row %d: %w", head.Seq, err)
	}
	return schemas.AuditAnchorResult{Seq: anchor.Seq, Object: anchor.Object}, nil
}
