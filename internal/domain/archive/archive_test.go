package archive_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/archive/archivetest"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
	"github.com/durapay/durapay/schemas"
)

const historiesDir = "../../../workflows/testdata/histories/"

var (
	closed   = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	sevenish = 61368 * time.Hour
)

// A closed run's history is written as Temporal stored it (payloads still encrypted) under
// its key, with its retention counted from its close, and recorded with its SHA-256; saving
// it again changes nothing; reading it back gives the same history.
func TestSaveKeepsTheHistoryAsTemporalStoresIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := archivetest.New(t, archive.Lock{Mode: objectstore.LockCompliance, Retain: sevenish})
	h := archivetest.EncryptedHistory(t, historiesDir+"happy_path.json", archivetest.Keys(t))
	run := archive.Run{WorkflowID: "payment/mer_a/pay_1", RunID: "0190-run-1", WorkflowType: schemas.PaymentWorkflowName, ClosedAt: closed}

	saved, err := a.Save(ctx, run, h)
	if err != nil {
		t.Fatal(err)
	}
	if want := "histories/PaymentWorkflow/payment%2Fmer_a%2Fpay_1/0190-run-1.json"; saved.Key != want {
		t.Errorf("key %s, want %s", saved.Key, want)
	}
	body, err := env.Objects.Get(ctx, saved.Key)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != saved.SHA256 {
		t.Errorf("recorded SHA-256 %s, object's %x", saved.SHA256, sum)
	}
	stored := &historypb.History{}
	if err := protojson.Unmarshal(body, stored); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(stored, h) {
		t.Error("the object is not the history as Temporal stored it")
	}
	payloads := 0
	if err := proxy.VisitPayloads(ctx, stored, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(vpc *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			if _, header := vpc.Parent.(*commonpb.Header); header {
				return p, nil // the SDK keeps headers in clear
			}
			for _, one := range p {
				payloads++
				if enc := string(one.GetMetadata()[converter.MetadataEncoding]); enc != payloadcodec.EncodingEncrypted {
					t.Errorf("a payload in the archive is %s", enc)
				}
			}
			return p, nil
		},
	}); err != nil || payloads == 0 {
		t.Fatalf("%d payloads in the archive (%v)", payloads, err)
	}

	client := s3Client(t, env.S3)
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(env.S3.Bucket), Key: aws.String(saved.Key)})
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(closed.Add(sevenish)) {
		t.Errorf("retention %s until %v, want COMPLIANCE until %s", head.ObjectLockMode, head.ObjectLockRetainUntilDate, closed.Add(sevenish))
	}

	again, err := a.Save(ctx, run, h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, again); diff != "" {
		t.Errorf("saved again (-first +again):\n%s", diff)
	}
	if body2, _ := env.Objects.Get(ctx, saved.Key); string(body2) != string(body) {
		t.Error("saving again wrote other bytes")
	}
	var rows int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM history_archive`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d rows (%v)", rows, err)
	}

	other := archive.Run{WorkflowID: "refund/mer_a/rfd_1", RunID: "0190-run-2"}
	got, err := a.Archived(ctx, []archive.Run{run, other, {WorkflowID: "payment/mer_a/pay_2", RunID: run.RunID}})
	if err != nil || len(got) != 1 || !got[run.RunID] {
		t.Errorf("archived: %v (%v), want only %s", got, err, run.RunID)
	}

	loaded, err := a.Load(ctx, run.WorkflowID)
	if err != nil || !proto.Equal(loaded, h) {
		t.Errorf("loaded back: %v, equal %v", err, proto.Equal(loaded, h))
	}
	if _, err := a.Load(ctx, other.WorkflowID); !errors.Is(err, archive.ErrNotArchived) {
		t.Errorf("a workflow never archived: %v", err)
	}
}

// A run whose object was written but not recorded (its archiver died in between, or was
// another build, whose encoding may differ) is recorded as the object holds it: the object
// is never overwritten.
func TestSaveRecordsAnObjectWrittenBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := archivetest.New(t, archive.Lock{Retain: sevenish})
	keys := archivetest.Keys(t)
	run := archive.Run{WorkflowID: "payment/mer_a/pay_1", RunID: "run-1", WorkflowType: schemas.PaymentWorkflowName, ClosedAt: closed}
	earlier := archivetest.EncryptedHistory(t, historiesDir+"happy_path.json", keys)
	indented, err := protojson.MarshalOptions{Multiline: true}.Marshal(earlier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Objects.PutOnce(ctx, archive.Key(run.WorkflowType, run.WorkflowID, run.RunID), "application/json", indented,
		objectstore.Retention{}); err != nil {
		t.Fatal(err)
	}
	saved, err := a.Save(ctx, run, archivetest.EncryptedHistory(t, historiesDir+"happy_path.json", keys))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(indented); saved.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("recorded SHA-256 %s, not the object's", saved.SHA256)
	}
	if got, err := a.Load(ctx, run.WorkflowID); err != nil || !proto.Equal(got, earlier) {
		t.Errorf("loaded back: %v", err)
	}
}

// Of a workflow's runs (a reset starts another), Load reads the last to close, as Temporal
// shows the last run.
func TestLoadReadsTheLastRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := archivetest.New(t, archive.Lock{Retain: sevenish})
	c := archivetest.Keys(t)
	first, last := archivetest.EncryptedHistory(t, historiesDir+"decline.json", c), archivetest.EncryptedHistory(t, historiesDir+"happy_path.json", c)
	for _, r := range []struct {
		runID  string
		closed time.Time
		h      *historypb.History
	}{{"run-2", closed.Add(time.Hour), last}, {"run-1", closed, first}} {
		if _, err := a.Save(ctx, archive.Run{WorkflowID: "payment/mer_a/pay_1", RunID: r.runID, WorkflowType: schemas.PaymentWorkflowName,
			ClosedAt: r.closed}, r.h); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Load(ctx, "payment/mer_a/pay_1"); err != nil || !proto.Equal(got, last) {
		t.Errorf("loaded the wrong run (%v)", err)
	}
}

// An object whose bytes are not those recorded is refused, and the records are final.
func TestArchiveRefusesAlteredHistories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := archivetest.New(t, archive.Lock{Retain: sevenish})
	run := archive.Run{WorkflowID: "refund/mer_a/rfd_1", RunID: "run-1", WorkflowType: schemas.RefundWorkflowName, ClosedAt: closed}
	saved, err := a.Save(ctx, run, archivetest.EncryptedHistory(t, historiesDir+"refund_succeeded.json", archivetest.Keys(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Overwritten behind the archive's back (as a bucket without Object Lock allows), with
	// its own checksum, as S3 would keep it: the SDK checks that one on reading.
	if _, err := s3Client(t, env.S3).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(env.S3.Bucket), Key: aws.String(saved.Key),
		Body: strings.NewReader(`{"events":[]}`), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, run.WorkflowID); err == nil || errors.Is(err, archive.ErrNotArchived) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("an altered object: %v", err)
	}
	for _, stmt := range []string{`UPDATE history_archive SET sha256 = repeat('0', 64)`, `DELETE FROM history_archive`, `TRUNCATE history_archive`} {
		if _, err := env.Pool.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "final") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

func s3Client(t *testing.T, cfg objectstore.Config) *s3.Client {
	t.Helper()
	awsCfg, err := cfg.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.PathStyle })
}
