// Package s3test serves an in-memory S3-compatible server (gofakes3) for tests, with one
// bucket, and shows the headers each object was written with: the emulator stores objects
// but enforces no Object Lock, so tests check that the lock was asked for.
package s3test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/durapay/durapay/internal/awsconf"
	"github.com/durapay/durapay/internal/objectstore"
)

// Bucket is the server's one bucket.
const Bucket = "durapay-test"

// Server is a running S3 emulator.
type Server struct {
	// Config reaches the bucket.
	Config objectstore.Config

	mu   sync.Mutex
	puts map[string]http.Header
}

// Start serves an empty bucket until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	s := &Server{puts: map[string]http.Header{}}
	s3 := gofakes3.New(backend).Server()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			s.mu.Lock()
			s.puts[strings.TrimPrefix(r.URL.Path, "/"+Bucket+"/")] = r.Header.Clone()
			s.mu.Unlock()
		}
		s3.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.Config = objectstore.Config{Service: awsconf.Service{Endpoint: hs.URL, Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test"},
		Bucket: Bucket, PathStyle: true}
	return s
}

// PutHeader is the header of the last write of the object key (nil: never written).
func (s *Server) PutHeader(key string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts[key]
}
