package payloadcodec

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// payment stands for the personal data and amounts that must not be readable in histories.
type payment struct {
	AmountMinor int64  `json:"amount_minor"`
	Email       string `json:"email"`
}

// Distinctive values, so finding them in ciphertext by chance is out of the question.
var testPayment = payment{AmountMinor: 987654321, Email: "alice.secret@example.com"}

func newSpec(t *testing.T, id string) string {
	t.Helper()
	spec, err := keyring.GenerateKey(id)
	require.NoError(t, err)
	return spec
}

func mustKeyring(t *testing.T, spec string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Parse(spec)
	require.NoError(t, err)
	return k
}

// assertNoPlaintext checks the whole serialized payload (metadata too) for the secrets.
func assertNoPlaintext(t *testing.T, p *commonpb.Payload) {
	t.Helper()
	raw, err := proto.Marshal(p)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), testPayment.Email)
	assert.NotContains(t, string(raw), "987654321")
	assert.NotContains(t, string(raw), "json/plain", "the inner metadata is encrypted too")
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(mustKeyring(t, newSpec(t, "A")))

	p, err := dc.ToPayload(testPayment)
	require.NoError(t, err)
	assert.Equal(t, EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, "A", string(p.Metadata[MetadataKeyID]))
	assertNoPlaintext(t, p)

	var got payment
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, testPayment, got)

	// Several arguments at once, as a workflow input is written.
	ps, err := dc.ToPayloads(testPayment, "second")
	require.NoError(t, err)
	require.Len(t, ps.Payloads, 2)
	var gotPayment payment
	var gotString string
	require.NoError(t, dc.FromPayloads(ps, &gotPayment, &gotString))
	assert.Equal(t, testPayment, gotPayment)
	assert.Equal(t, "second", gotString)
}

func TestNonceIsRandom(t *testing.T) {
	dc := DataConverter(mustKeyring(t, newSpec(t, "A")))
	p1, err := dc.ToPayload(testPayment)
	require.NoError(t, err)
	p2, err := dc.ToPayload(testPayment)
	require.NoError(t, err)
	// Equal ciphertexts would tell a reader of the database which payments are alike.
	assert.NotEqual(t, p1.Data, p2.Data)
}

func TestRotation(t *testing.T) {
	specA, specB := newSpec(t, "A"), newSpec(t, "B")
	oldData, err := DataConverter(mustKeyring(t, specA)).ToPayload(testPayment)
	require.NoError(t, err)

	rotated := DataConverter(mustKeyring(t, specB+","+specA))

	var got payment
	require.NoError(t, rotated.FromPayload(oldData, &got), "data written under A still decodes")
	assert.Equal(t, testPayment, got)

	newData, err := rotated.ToPayload(testPayment)
	require.NoError(t, err)
	assert.Equal(t, "B", string(newData.Metadata[MetadataKeyID]), "new data uses the primary")
	got = payment{}
	require.NoError(t, rotated.FromPayload(newData, &got))
	assert.Equal(t, testPayment, got)
}

func TestUnknownKeyID(t *testing.T) {
	oldData, err := DataConverter(mustKeyring(t, newSpec(t, "A"))).ToPayload(testPayment)
	require.NoError(t, err)

	withoutA := DataConverter(mustKeyring(t, newSpec(t, "B")))
	var got payment
	err = withoutA.FromPayload(oldData, &got)
	require.Error(t, err)
	assert.ErrorIs(t, err, keyring.ErrUnknownKeyID)
	assert.Contains(t, err.Error(), `"A"`)
	assert.Equal(t, payment{}, got)
}

func TestTamperingFails(t *testing.T) {
	spec := newSpec(t, "A")
	codec := NewCodec(mustKeyring(t, spec+","+newSpec(t, "B")))
	enc, err := codec.Encode([]*commonpb.Payload{jsonPayload(t)})
	require.NoError(t, err)

	for _, at := range []int{0, 12, len(enc[0].Data) / 2, len(enc[0].Data) - 1} { // nonce, body, tag
		t.Run(fmt.Sprintf("flip byte %d", at), func(t *testing.T) {
			p := proto.Clone(enc[0]).(*commonpb.Payload)
			p.Data[at] ^= 0x01
			_, err := codec.Decode([]*commonpb.Payload{p})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "authentication failed")
		})
	}
	t.Run("relabelled to another key", func(t *testing.T) {
		p := proto.Clone(enc[0]).(*commonpb.Payload)
		p.Metadata[MetadataKeyID] = []byte("B")
		_, err := codec.Decode([]*commonpb.Payload{p})
		require.Error(t, err)
	})
	t.Run("truncated", func(t *testing.T) {
		p := proto.Clone(enc[0]).(*commonpb.Payload)
		p.Data = p.Data[:10]
		_, err := codec.Decode([]*commonpb.Payload{p})
		require.Error(t, err)
	})
	t.Run("untouched still decodes", func(t *testing.T) {
		_, err := codec.Decode(enc)
		require.NoError(t, err)
	})
}

func jsonPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(testPayment)
	require.NoError(t, err)
	return p
}

// Every payload Durapay writes is encrypted, so one that is not was written without the keys
// (the Temporal CLI or UI used without the codec server) and must not reach a workflow: not a
// value, not a null standing for a zero value, not one among encrypted ones.
func TestClearPayloadsRefused(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	encrypted, err := DataConverter(k).ToPayload(testPayment)
	require.NoError(t, err)
	null, err := converter.GetDefaultDataConverter().ToPayload(nil)
	require.NoError(t, err)
	for name, batch := range map[string][]*commonpb.Payload{
		"json":                 {jsonPayload(t)},
		"null":                 {null},
		"no metadata":          {{Data: []byte(`{"amount_minor":1}`)}},
		"after encrypted ones": {encrypted, jsonPayload(t)},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := NewCodec(k).Decode(batch)
			require.ErrorIs(t, err, ErrNotEncrypted)
			assert.Nil(t, out)

			var got payment
			require.ErrorIs(t, DataConverter(k).FromPayload(batch[len(batch)-1], &got), ErrNotEncrypted)
			assert.Equal(t, payment{}, got, "nothing of a refused payload is read")
		})
	}
}

// What Durapay writes for "nothing" still passes: a null value is encrypted like any other,
// and no arguments at all (an update without any) is no payload, so nothing to refuse.
func TestNullAndNoPayloads(t *testing.T) {
	dc := DataConverter(mustKeyring(t, newSpec(t, "A")))

	null, err := dc.ToPayload(nil)
	require.NoError(t, err)
	assert.Equal(t, EncodingEncrypted, string(null.Metadata[converter.MetadataEncoding]))
	var ptr *payment
	require.NoError(t, dc.FromPayload(null, &ptr))
	assert.Nil(t, ptr)

	none, err := dc.ToPayloads()
	require.NoError(t, err)
	assert.Empty(t, none.GetPayloads())
	require.NoError(t, dc.FromPayloads(none))
	require.NoError(t, dc.FromPayloads(&commonpb.Payloads{}))
}

func TestParseKeyring(t *testing.T) {
	specA, specB := newSpec(t, "key-A_1"), newSpec(t, "B")
	k := mustKeyring(t, " "+specA+" , "+specB+" ")
	assert.Equal(t, "key-A_1", k.PrimaryID())
	assert.Equal(t, []string{"key-A_1", "B"}, k.IDs())

	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	for name, tc := range map[string]struct{ spec, want string }{
		"empty":          {"", "empty"},
		"blank":          {"  ", "empty"},
		"bad base64":     {"A:not*base64!", "base64"},
		"16-byte key":    {"A:" + short, "16 bytes, want 32"},
		"duplicate ID":   {specB + "," + specB, `duplicate key ID "B"`},
		"no colon":       {short, "want id:base64key"},
		"trailing comma": {specB + ",", "entry 2"},
		"bad ID":         {"a b:" + strings.SplitN(specB, ":", 2)[1], "key ID must match"},
		"long ID":        {strings.Repeat("x", 33) + ":" + strings.SplitN(specB, ":", 2)[1], "key ID must match"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := keyring.Parse(tc.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), short, "errors never quote key material")
		})
	}
}

func TestKeyringPrintsNoKeys(t *testing.T) {
	spec := newSpec(t, "A")
	k := mustKeyring(t, spec)
	key := strings.SplitN(spec, ":", 2)[1]
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		assert.NotContains(t, out, key)
		assert.Contains(t, out, "A")
	}
}

func TestGenerateKey(t *testing.T) {
	spec, err := keyring.GenerateKey("dev-2025")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(spec, "dev-2025:"))
	assert.Equal(t, "dev-2025", mustKeyring(t, spec).PrimaryID())

	other, err := keyring.GenerateKey("dev-2025")
	require.NoError(t, err)
	assert.NotEqual(t, spec, other)

	_, err = keyring.GenerateKey("bad id")
	require.Error(t, err)
}

// A failure as Temporal stores it: message and stack trace moved into an encrypted payload,
// which a reader without the key cannot open and one with it can.
func TestFailuresEncrypted(t *testing.T) {
	spec := newSpec(t, "A")
	fc := FailureConverter(mustKeyring(t, spec))
	msg := "card declined for " + testPayment.Email
	cause := "no funds left for " + testPayment.Email

	stored := fc.ErrorToFailure(temporal.NewApplicationErrorWithCause(msg, "Declined", errors.New(cause)))
	raw, err := proto.Marshal(stored)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), testPayment.Email, "message, cause and stack traces are encrypted")
	assert.Equal(t, "Encoded failure", stored.GetMessage())
	assert.Empty(t, stored.GetStackTrace())
	assert.Equal(t, EncodingEncrypted, string(stored.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]))

	withoutKey := temporal.GetDefaultFailureConverter().FailureToError(proto.Clone(stored).(*failurepb.Failure))
	assert.NotContains(t, withoutKey.Error(), testPayment.Email)
	otherKey := FailureConverter(mustKeyring(t, newSpec(t, "A"))).FailureToError(proto.Clone(stored).(*failurepb.Failure))
	assert.NotContains(t, otherKey.Error(), testPayment.Email, "another key under the same ID opens nothing")

	withKey := FailureConverter(mustKeyring(t, spec)).FailureToError(stored)
	assert.Contains(t, withKey.Error(), msg)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, withKey, &appErr)
	assert.Equal(t, "Declined", appErr.Type(), "the error's type is kept")
	assert.Contains(t, errors.Unwrap(withKey).Error(), cause)
}

// --- codec server ---

const uiOrigin = "http://127.0.0.1:8233"

func allow(*http.Request) bool { return true }

func serve(h http.Handler, method, path, origin string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) *bytes.Reader {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return bytes.NewReader(b)
}

// wirePayloads is the response as the UI (a JavaScript client) reads it: protojson, with
// bytes as standard base64.
type wirePayloads struct {
	Payloads []struct {
		Metadata map[string][]byte `json:"metadata"`
		Data     []byte            `json:"data"`
	} `json:"payloads"`
}

func TestHandlerDecode(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	enc, err := DataConverter(k).ToPayload(testPayment)
	require.NoError(t, err)

	rec := serve(Handler(k, uiOrigin, allow), http.MethodPost, "/decode", uiOrigin, payloadsJSON(t, enc))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))

	var resp wirePayloads
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), rec.Body.String())
	require.Len(t, resp.Payloads, 1)
	assert.Equal(t, "json/plain", string(resp.Payloads[0].Metadata["encoding"]))
	assert.JSONEq(t, `{"amount_minor":987654321,"email":"alice.secret@example.com"}`, string(resp.Payloads[0].Data))

	// The protojson reading gives the same payload back.
	var pb commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &pb))
	assert.True(t, proto.Equal(jsonPayload(t), pb.Payloads[0]))
}

// The codec server shows a history as it is: a payload written in clear comes back as it was
// (an operator must see what a refused workflow was sent), beside the decrypted ones.
func TestHandlerShowsClearPayloads(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	enc, err := DataConverter(k).ToPayload(testPayment)
	require.NoError(t, err)

	rec := serve(Handler(k, uiOrigin, allow), http.MethodPost, "/decode", uiOrigin, payloadsJSON(t, enc, jsonPayload(t)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var pb commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &pb))
	require.Len(t, pb.Payloads, 2)
	assert.True(t, proto.Equal(jsonPayload(t), pb.Payloads[0]), "decrypted")
	assert.True(t, proto.Equal(jsonPayload(t), pb.Payloads[1]), "passed through")
}

// The Temporal UI sends a failure's encoded attributes to /decode and shows the message and
// stack trace they hold.
func TestHandlerDecodesFailureMessages(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	msg := "card declined for " + testPayment.Email
	f := FailureConverter(k).ErrorToFailure(errors.New(msg))

	rec := serve(Handler(k, uiOrigin, allow), http.MethodPost, "/decode", uiOrigin, payloadsJSON(t, f.GetEncodedAttributes()))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp wirePayloads
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), rec.Body.String())
	require.Len(t, resp.Payloads, 1)
	assert.Equal(t, "json/plain", string(resp.Payloads[0].Metadata["encoding"]))
	var attrs struct {
		Message    string `json:"message"`
		StackTrace string `json:"stack_trace"`
	}
	require.NoError(t, json.Unmarshal(resp.Payloads[0].Data, &attrs))
	assert.Equal(t, msg, attrs.Message)
}

func TestHandlerEncode(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	h := Handler(k, uiOrigin, allow)

	rec := serve(h, http.MethodPost, "/encode", uiOrigin, payloadsJSON(t, jsonPayload(t)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), testPayment.Email)

	var pb commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &pb))
	require.Len(t, pb.Payloads, 1)
	assert.Equal(t, "A", string(pb.Payloads[0].Metadata[MetadataKeyID]))

	var got payment
	require.NoError(t, DataConverter(k).FromPayload(pb.Payloads[0], &got))
	assert.Equal(t, testPayment, got)

	// Mounted under a prefix, as a frontend may do.
	rec = serve(h, http.MethodPost, "/codec/encode", uiOrigin, payloadsJSON(t, jsonPayload(t)))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestHandlerDecodeErrors(t *testing.T) {
	oldData, err := DataConverter(mustKeyring(t, newSpec(t, "A"))).ToPayload(testPayment)
	require.NoError(t, err)
	h := Handler(mustKeyring(t, newSpec(t, "B")), uiOrigin, allow)

	rec := serve(h, http.MethodPost, "/decode", uiOrigin, payloadsJSON(t, oldData))
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), `unknown encryption key ID "A"`)

	rec = serve(h, http.MethodPost, "/decode", uiOrigin, strings.NewReader("not json"))
	assert.Equal(t, http.StatusBadRequest, rec.Code)

	rec = serve(h, http.MethodGet, "/decode", uiOrigin, nil)
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestHandlerCORSPreflight(t *testing.T) {
	authorized := false
	h := Handler(mustKeyring(t, newSpec(t, "A")), uiOrigin, func(*http.Request) bool {
		authorized = true
		return false
	})
	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := preflight(uiOrigin)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
	allowed := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers"))
	for _, hdr := range []string{"x-namespace", "content-type", "authorization"} {
		assert.Contains(t, allowed, hdr)
	}
	assert.False(t, authorized, "a preflight carries no credentials, so it is not authorized")

	rec = preflight("http://evil.example")
	for _, hdr := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
		assert.Empty(t, rec.Header().Get(hdr), hdr)
	}
}

func TestHandlerCORSOtherOriginPOST(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	rec := serve(Handler(k, uiOrigin, allow), http.MethodPost, "/encode", "http://evil.example", payloadsJSON(t, jsonPayload(t)))
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
}

// readSpy records whether the handler read the request body at all.
type readSpy struct {
	r    io.Reader
	read bool
}

func (s *readSpy) Read(p []byte) (int, error) { s.read = true; return s.r.Read(p) }

func TestHandlerUnauthorized(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	enc, err := DataConverter(k).ToPayload(testPayment)
	require.NoError(t, err)

	var seen *http.Request
	h := Handler(k, uiOrigin, func(r *http.Request) bool { seen = r; return false })
	body := &readSpy{r: payloadsJSON(t, enc)}
	rec := serve(h, http.MethodPost, "/decode", uiOrigin, body)

	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	require.NotNil(t, seen, "authorize is called")
	assert.Equal(t, "default", seen.Header.Get("X-Namespace"))
	assert.False(t, body.read, "nothing is decoded before authorization")
	assert.NotContains(t, rec.Body.String(), testPayment.Email)
	assert.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"), "the UI can read the 401")
}

func TestHandlerNilAuthorizePanics(t *testing.T) {
	assert.Panics(t, func() { Handler(mustKeyring(t, newSpec(t, "A")), uiOrigin, nil) })
}

// --- end to end inside the SDK ---

// recordingCodec passes through to the real codec and keeps every payload it wrote, which is
// what the SDK would send to the Temporal server.
type recordingCodec struct {
	converter.PayloadCodec
	mu      sync.Mutex
	written []*commonpb.Payload
}

func (c *recordingCodec) Encode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out, err := c.PayloadCodec.Encode(ps)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = append(c.written, out...)
	return out, err
}

type receipt struct {
	Email   string `json:"email"`
	Charged int64  `json:"charged"`
}

func chargeActivity(_ context.Context, p payment) (receipt, error) {
	return receipt{Email: p.Email, Charged: p.AmountMinor}, nil
}

func chargeWorkflow(ctx workflow.Context, p payment) (receipt, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var r receipt
	err := workflow.ExecuteActivity(ctx, "charge", p).Get(ctx, &r)
	return r, err
}

func TestWorkflowEndToEnd(t *testing.T) {
	rc := &recordingCodec{PayloadCodec: NewCodec(mustKeyring(t, newSpec(t, "A")))}
	// The same construction as DataConverter, with the recorder in between.
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), rc)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetDataConverter(dc)
	env.RegisterWorkflow(chargeWorkflow)
	env.RegisterActivityWithOptions(chargeActivity, activity.RegisterOptions{Name: "charge"})

	env.ExecuteWorkflow(chargeWorkflow, testPayment)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got receipt
	require.NoError(t, env.GetWorkflowResult(&got))
	assert.Equal(t, receipt{Email: testPayment.Email, Charged: testPayment.AmountMinor}, got)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	// Workflow input, activity input, activity result, workflow result.
	assert.GreaterOrEqual(t, len(rc.written), 4)
	for _, p := range rc.written {
		assert.Equal(t, EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
		assertNoPlaintext(t, p)
	}
}
