package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"

	"github.com/durapay/durapay/internal/platform/awsconf"
	"github.com/durapay/durapay/internal/platform/objectstore"
)

// Local S3 credentials: any pair works with the local server; these name it.
const (
	LocalS3Bucket = "durapay-reports"
	LocalS3Key    = "durapay-local"
	LocalS3Secret = "durapay-local-secret"
	LocalS3Region = "us-east-1"
)

// StartS3 runs an S3-compatible server (gofakes3) on port (0: any), keeping its objects in
// the file path (empty: in memory), with Durapay's bucket created. It returns the store's
// configuration and a function that stops it.
func StartS3(path string, port int) (objectstore.Config, func() error, error) {
	var backend gofakes3.Backend = s3mem.New()
	closeBackend := func() error { return nil }
	if path != "" {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
		if err != nil {
			return objectstore.Config{}, nil, fmt.Errorf("open local S3 state %s: %w", path, err)
		}
		backend, closeBackend = s3bolt.New(db), db.Close
	}
	if err := backend.CreateBucket(LocalS3Bucket); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		_ = closeBackend()
		return objectstore.Config{}, nil, fmt.Errorf("create bucket %s: %w", LocalS3Bucket, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		_ = closeBackend()
		return objectstore.Config{}, nil, fmt.Errorf("local S3: %w", err)
	}
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(srv.Shutdown(ctx), closeBackend())
	}
	cfg := objectstore.Config{Service: awsconf.Service{Endpoint: "http://" + ln.Addr().String(), Region: LocalS3Region,
		AccessKeyID: LocalS3Key, SecretAccessKey: LocalS3Secret}, Bucket: LocalS3Bucket, PathStyle: true}
	return cfg, stop, nil
}
