// Package objectstore keeps Durapay's files (settlement reports, the audit log's anchors)
// in S3, or in an S3-compatible server (the local one in `make dev` and tests).
package objectstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/durapay/durapay/internal/awsconf"
)

// Config says where the bucket is: S3 itself (no endpoint: the SDK's default credentials),
// or an S3-compatible server with static keys.
type Config struct {
	awsconf.Service
	Bucket string `env:"BUCKET, default=durapay-reports"`
	// PathStyle addresses the bucket in the path (endpoint/bucket/key), as local servers need.
	PathStyle bool `env:"FORCE_PATH_STYLE, default=false"`
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

// PutLocked writes an object that no one can delete or overwrite until retainUntil, the
// bucket's owner and AWS's root user included: S3 Object Lock in compliance mode (the bucket
// must have Object Lock enabled, or S3 refuses the write). Writing the same key again adds
// a version; the locked one stays.
func (s *Store) PutLocked(ctx context.Context, key, contentType string, body []byte, retainUntil time.Time) error {
	in := s.putInput(key, contentType, body)
	in.ObjectLockMode = types.ObjectLockModeCompliance
	in.ObjectLockRetainUntilDate = aws.Time(retainUntil)
	// S3 refuses a locked write without an integrity checksum; the SDK's default may change.
	in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
	return s.put(ctx, in)
}

func (s *Store) putInput(key, contentType string, body []byte) *s3.PutObjectInput {
	return &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	}
}

func (s *Store) put(ctx context.Context, in *s3.PutObjectInput) error {
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, *in.Key, err)
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
