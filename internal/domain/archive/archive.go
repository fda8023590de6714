// Package archive keeps the workflow histories of closed payments and refunds for finance
// (7 years is the norm for financial records), long after Temporal's namespace retention has
// deleted them. It owns the history_archive table.
//
// A history is kept exactly as Temporal stores it: its payloads stay encrypted with the
// payload codec's keys, so the bucket holds no more in clear than Temporal's database does,
// and reading one back needs the same keys as reading it from Temporal. Each run is one
// object, written once (never overwritten) under a deterministic key with an Object Lock
// retention counted from the run's close, then recorded here with the SHA-256 of its bytes,
// which Load checks.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/pg"
)

// ErrNotArchived: no run of the workflow is in the archive.
var ErrNotArchived = errors.New("workflow not archived")

// Run is one archived workflow run.
type Run struct {
	WorkflowID   string
	RunID        string
	WorkflowType string
	ClosedAt     time.Time
	Key          string // the object's key in the bucket
	SHA256       string // hex, of the object's bytes
	ArchivedAt   time.Time
}

// Key names a run's history in the bucket: histories/<workflow type>/<workflow ID,
// URL-escaped>/<run ID>.json. Escaping keeps the workflow ID (payment/<merchant>/<payment>)
// one path segment.
func Key(workflowType, workflowID, runID string) string {
	return "histories/" + url.PathEscape(workflowType) + "/" + url.PathEscape(workflowID) + "/" + url.PathEscape(runID) + ".json"
}

// Lock is how long, and how strictly, S3 keeps an archived history from being deleted or
// overwritten: Retain from the run's close, so that a re-run writes the same retention.
type Lock struct {
	Mode   objectstore.LockMode
	Retain time.Duration
}

// Archive writes histories to a bucket and records them in Postgres, and reads them back.
type Archive struct {
	db      pg.Querier
	objects *objectstore.Store
	lock    Lock
}

// New returns an archive in the objects' bucket. Readers need no lock.
func New(db pg.Querier, objects *objectstore.Store, lock Lock) *Archive {
	return &Archive{db: db, objects: objects, lock: lock}
}

// Save writes the history of a closed run (WorkflowID, RunID, WorkflowType and ClosedAt set)
// and records it. An object is written once: saving a run again, even from another build
// whose encoding differs, leaves the object as it is, and records what it holds.
func (a *Archive) Save(ctx context.Context, run Run, h *historypb.History) (Run, error) {
	body, err := encode(h)
	if err != nil {
		return Run{}, fmt.Errorf("encode the history of %s run %s: %w", run.WorkflowID, run.RunID, err)
	}
	run.Key = Key(run.WorkflowType, run.WorkflowID, run.RunID)
	retention := objectstore.Retention{Mode: a.lock.Mode, Until: run.ClosedAt.Add(a.lock.Retain).UTC()}
	written, err := a.objects.PutOnce(ctx, run.Key, "application/json", body, retention)
	if err != nil {
		return Run{}, fmt.Errorf("archive the history of %s run %s: %w", run.WorkflowID, run.RunID, err)
	}
	if !written {
		// An earlier run wrote it, and may have died before recording it.
		if body, err = a.objects.Get(ctx, run.Key); err != nil {
			return Run{}, fmt.Errorf("read the archived history of %s run %s: %w", run.WorkflowID, run.RunID, err)
		}
	}
	sum := sha256.Sum256(body)
	run.SHA256 = hex.EncodeToString(sum[:])
	// The object first: a row always names an object that exists.
	err = a.db.QueryRow(ctx, `
		INSERT INTO history_archive (workflow_id, run_id, workflow_type, object_key, sha256, closed_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (workflow_id, run_id) DO NOTHING
		RETURNING archived_at`,
		run.WorkflowID, run.RunID, run.WorkflowType, run.Key, run.SHA256, run.ClosedAt).Scan(&run.ArchivedAt)
	if errors.Is(err, pgx.ErrNoRows) { // recorded already
		runs, err := a.runs(ctx, `WHERE workflow_id = $1 AND run_id = $2`, run.WorkflowID, run.RunID)
		if err != nil || len(runs) != 1 {
			return Run{}, fmt.Errorf("read the archived run %s of %s (%d found): %w", run.RunID, run.WorkflowID, len(runs), err)
		}
		return runs[0], nil
	}
	if err != nil {
		return Run{}, fmt.Errorf("record the archived history of %s run %s: %w", run.WorkflowID, run.RunID, err)
	}
	return run, nil
}

// Archived tells which of the runs (WorkflowID and RunID set) are in the archive already,
// by run ID.
func (a *Archive) Archived(ctx context.Context, runs []Run) (map[string]bool, error) {
	workflowIDs, runIDs := make([]string, len(runs)), make([]string, len(runs))
	for i, r := range runs {
		workflowIDs[i], runIDs[i] = r.WorkflowID, r.RunID
	}
	rows, err := a.db.Query(ctx, `
		SELECT a.run_id FROM history_archive a JOIN unnest($1::text[], $2::text[]) AS r (workflow_id, run_id)
		  ON a.workflow_id = r.workflow_id AND a.run_id = r.run_id`, workflowIDs, runIDs)
	if err != nil {
		return nil, fmt.Errorf("look up archived runs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up archived runs: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Load reads back the history of the workflow's last run, as Temporal stored it (payloads
// encrypted): the run Temporal itself would show, had it kept the workflow. It fails with
// ErrNotArchived when the archive has no run of the workflow, and refuses an object whose
// bytes are not those recorded.
func (a *Archive) Load(ctx context.Context, workflowID string) (*historypb.History, error) {
	runs, err := a.runs(ctx, `WHERE workflow_id = $1 ORDER BY closed_at DESC LIMIT 1`, workflowID)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: %w", workflowID, ErrNotArchived)
	}
	run := runs[0]
	body, err := a.objects.Get(ctx, run.Key)
	if err != nil {
		return nil, fmt.Errorf("read the archived history of %s: %w", workflowID, err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != run.SHA256 {
		return nil, fmt.Errorf("the archived history of %s (%s) is not the one archived: SHA-256 %x, recorded %s", workflowID, run.Key, sum, run.SHA256)
	}
	h := &historypb.History{}
	if err := protojson.Unmarshal(body, h); err != nil {
		return nil, fmt.Errorf("decode the archived history of %s: %w", workflowID, err)
	}
	return h, nil
}

func (a *Archive) runs(ctx context.Context, where string, args ...any) ([]Run, error) {
	rows, err := a.db.Query(ctx, `SELECT workflow_id, run_id, workflow_type, closed_at, object_key, sha256, archived_at
		FROM history_archive `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read archived runs: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		var r Run
		err := row.Scan(&r.WorkflowID, &r.RunID, &r.WorkflowType, &r.ClosedAt, &r.Key, &r.SHA256, &r.ArchivedAt)
		return r, err
	})
}

// encode is the history's protojson, compacted: protojson varies its whitespace from build to
// build on purpose, and an archived object must have the same bytes whichever build wrote it.
func encode(h *historypb.History) ([]byte, error) {
	raw, err := protojson.Marshal(h)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
