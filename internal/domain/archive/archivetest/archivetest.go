// Package archivetest gives tests a history archive on real components (a fresh migrated
// database, an in-memory local S3 server), and recorded histories encrypted as Temporal
// stores them.
package archivetest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

// Env is what an archive made by New stands on.
type Env struct {
	Pool    *pgxpool.Pool
	Objects *objectstore.Store
	S3      objectstore.Config
}

// New returns an archive on its own database and local S3 server, both gone when t ends.
func New(t testing.TB, lock archive.Lock) (*archive.Archive, Env) {
	t.Helper()
	cfg, stop, err := devstack.StartS3("", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	objects, err := objectstore.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.NewPool(t)
	return archive.New(pool, objects, lock), Env{Pool: pool, Objects: objects, S3: cfg}
}

// Keys are fresh payload keys, as Temporal payloads are encrypted with.
func Keys(t testing.TB) *keyring.Keyring {
	t.Helper()
	spec, err := keyring.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// EncryptedHistory reads a recorded history (as `temporal workflow show --output json`
// writes it; the replay fixtures are kept decrypted) and encrypts its payloads with keys, as
// Temporal stores them: all but search attributes and headers, which the SDK keeps in clear.
func EncryptedHistory(t testing.TB, path string, keys *keyring.Keyring) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	codec := payloadcodec.NewCodec(keys)
	if err := proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(vpc *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			if _, header := vpc.Parent.(*commonpb.Header); header {
				return p, nil
			}
			return codec.Encode(p)
		},
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// Temporal serves histories by workflow ID, as Temporal's client does (whatever the run
// ID); a workflow it lacks is NotFound, as one that the namespace's retention has deleted.
type Temporal map[string]*historypb.History

// GetWorkflowHistory iterates over the workflow's events, or fails with NotFound.
func (t Temporal) GetWorkflowHistory(_ context.Context, workflowID, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	h, ok := t[workflowID]
	if !ok {
		return &iterator{err: serviceerror.NewNotFound("workflow execution not found: " + workflowID)}
	}
	return &iterator{events: h.GetEvents()}
}

type iterator struct {
	events []*historypb.HistoryEvent
	err    error
}

func (it *iterator) HasNext() bool { return it.err != nil || len(it.events) > 0 }

func (it *iterator) Next() (*historypb.HistoryEvent, error) {
	if it.err != nil {
		return nil, it.err
	}
	ev := it.events[0]
	it.events = it.events[1:]
	return ev, nil
}
