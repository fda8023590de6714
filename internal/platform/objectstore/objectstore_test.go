package objectstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/platform/objectstore"
)

// An object written once reaches S3 with its Object Lock retention and its SHA-256, which
// S3 keeps beside it (the local server keeps the headers as S3 would report them); writing
// its key again leaves it as it was.
func TestPutOnceSendsRetentionAndChecksum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, stop, err := devstack.StartS3("", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	store, err := objectstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2033, 12, 1, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"events":[]}`)
	tests := []struct {
		key       string
		retention objectstore.Retention
		wantMode  types.ObjectLockMode
	}{
		{"compliance.json", objectstore.Retention{Mode: objectstore.LockCompliance, Until: until}, types.ObjectLockModeCompliance},
		{"governance.json", objectstore.Retention{Mode: objectstore.LockGovernance, Until: until}, types.ObjectLockModeGovernance},
		{"none.json", objectstore.Retention{}, ""},
	}
	awsCfg, err := cfg.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	sum := sha256.Sum256(body)
	for _, tt := range tests {
		if written, err := store.PutOnce(ctx, tt.key, "application/json", body, tt.retention); err != nil || !written {
			t.Fatalf("%s: written %v, %v", tt.key, written, err)
		}
		if written, err := store.PutOnce(ctx, tt.key, "application/json", []byte(`{"other":1}`), tt.retention); err != nil || written {
			t.Fatalf("%s again: written %v, %v", tt.key, written, err)
		}
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(tt.key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("%s: %v", tt.key, err)
		}
		if head.ObjectLockMode != tt.wantMode || (tt.wantMode != "" && !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until)) ||
			(tt.wantMode == "" && head.ObjectLockRetainUntilDate != nil) {
			t.Errorf("%s: lock %q until %v, want %q until %s", tt.key, head.ObjectLockMode, head.ObjectLockRetainUntilDate, tt.wantMode, until)
		}
		if got := aws.ToString(head.ChecksumSHA256); got != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA-256 %q", tt.key, got)
		}
		got, err := store.Get(ctx, tt.key)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s read back: %q, %v", tt.key, got, err)
		}
	}
}

// Configuration names lock modes in lower case, none for a bucket without Object Lock.
func TestLockModeFromConfiguration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]objectstore.LockMode{"compliance": objectstore.LockCompliance,
		"GOVERNANCE": objectstore.LockGovernance, "none": objectstore.LockNone} {
		var m objectstore.LockMode
		if err := m.EnvDecode(in); err != nil || m != want {
			t.Errorf("%q: %q (%v), want %q", in, m, err, want)
		}
		if strings.ToLower(in) != m.String() {
			t.Errorf("%q is described as %q", in, m.String())
		}
	}
	var m objectstore.LockMode
	if err := m.EnvDecode("legal-hold"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
