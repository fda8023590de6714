// Package objectstore keeps Durapay's files (settlement reports, archived workflow
// histories, the audit log's anchors) in S3, or in an S3-compatible server (the local one in
// `make dev` and tests).
package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/durapay/durapay/internal/platform/awsconf"
)

// Config says where the bucket is: S3 itself (no endpoint: the SDK's default credentials),
// or an S3-compatible server with static keys.
type Config struct {
	awsconf.Service
	Bucket string `env:"BUCKET, default=durapay-reports"`
	// PathStyle addresses the bucket in the path (endpoint/bucket/key), as local servers need.
	PathStyle bool `env:"FORCE_PATH_STYLE, default=false"`
}

// WithBucket is the configuration of another bucket of the same S3 (empty: this one).
func (c Config) WithBucket(bucket string) Config {
	if bucket != "" {
		c.Bucket = bucket
	}
	return c
}

// Store reads and writes objects of one bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

// New returns a Store for cfg.
func New(ctx context.Context, cfg Config) (*Store, error) {
	awsCfg, err := cfg.Load(ctx)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = cfg.PathStyle })
	return &Store{client: client, presign: s3.NewPresignClient(client), bucket: cfg.Bucket}, nil
}

// Put writes an object; writing the same key again replaces it.
func (s *Store) Put(ctx context.Context, key, contentType string, body []byte) error {
	return s.put(ctx, s.putInput(key, contentType, body))
}

// LockMode is an S3 Object Lock retention mode.
type LockMode string

const (
	// LockNone asks for no retention: for buckets without Object Lock (local servers).
	LockNone LockMode = ""
	// LockGovernance: only a principal with s3:BypassGovernanceRetention may delete or
	// overwrite the object's version before the date.
	LockGovernance LockMode = LockMode(types.ObjectLockModeGovernance)
	// LockCompliance: nobody may, not even the account's root user, until the date.
	LockCompliance LockMode = LockMode(types.ObjectLockModeCompliance)
)

// EnvDecode reads a lock mode from configuration: compliance, governance or none.
func (m *LockMode) EnvDecode(v string) error {
	switch strings.ToLower(v) {
	case "compliance":
		*m = LockCompliance
	case "governance":
		*m = LockGovernance
	case "none":
		*m = LockNone
	default:
		return fmt.Errorf("lock mode %q: want compliance, governance or none", v)
	}
	return nil
}

// String is the mode as configuration writes it.
func (m LockMode) String() string {
	if m == LockNone {
		return "none"
	}
	return strings.ToLower(string(m))
}

// Retention keeps an object's version from being deleted or overwritten until Until. The
// bucket must have Object Lock enabled (which S3 allows only on versioned buckets), or S3
// refuses the write.
type Retention struct {
	Mode  LockMode
	Until time.Time
}

// PutOnce writes an object unless its key exists (an S3 conditional write), under retention
// (none for LockNone), with its SHA-256 for S3 to check on arrival and keep beside the
// object. written is false when the key existed: the object there is left as it was.
func (s *Store) PutOnce(ctx context.Context, key, contentType string, body []byte, r Retention) (written bool, err error) {
	in := s.putInput(key, contentType, body)
	in.IfNoneMatch = aws.String("*")
	in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	if r.Mode != LockNone {
		in.ObjectLockMode = types.ObjectLockMode(r.Mode)
		in.ObjectLockRetainUntilDate = aws.Time(r.Until)
	}
	err = s.put(ctx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "PreconditionFailed" {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) putInput(key, contentType string, body []byte) *s3.PutObjectInput {
	return &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	}
}

func (s *Store) put(ctx context.Context, in *s3.PutObjectInput) error {
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, aws.ToString(in.Key), err)
	}
	return nil
}

// List returns up to limit keys under prefix that sort after startAfter (empty: from the
// first), in order, and whether more follow.
func (s *Store) List(ctx context.Context, prefix, startAfter string, limit int) ([]string, bool, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(int32(limit))}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
	}
	keys := make([]string, len(out.Contents))
	for i, o := range out.Contents {
		keys[i] = aws.ToString(o.Key)
	}
	return keys, aws.ToBool(out.IsTruncated), nil
}

// Get reads an object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// PresignGet returns a URL that downloads the object without credentials until ttl passes.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}
