// Package objectstore keeps Durapay's files (settlement reports) in S3, or in an
// S3-compatible server (the local one in `make dev` and tests).
package objectstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
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
