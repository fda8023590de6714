package temporalx

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
)

func TestKeys(t *testing.T) {
	spec, err := keyring.GenerateKey("k1")
	require.NoError(t, err)

	k, err := Keys(spec, false)
	require.NoError(t, err)
	assert.Equal(t, "k1", k.PrimaryID())

	_, err = Keys("", false)
	require.ErrorIs(t, err, ErrNoPayloadKeys, "no keys and no permission to run in clear: refuse to start")
	for _, setting := range []string{"TEMPORAL_PAYLOAD_KEYS", "TEMPORAL_ALLOW_CLEAR_PAYLOADS=true"} {
		assert.Contains(t, err.Error(), setting, "the message names what to set")
	}

	k, err = Keys("", true)
	require.NoError(t, err)
	assert.Nil(t, k, "allowed to run in clear")

	_, err = Keys(spec, true)
	require.Error(t, err, "keys refuse clear payloads: a setting saying otherwise is a mistake")
	assert.Contains(t, err.Error(), "unset TEMPORAL_ALLOW_CLEAR_PAYLOADS")
	assert.NotContains(t, err.Error(), strings.SplitN(spec, ":", 2)[1])

	_, err = Keys("k1:short", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TEMPORAL_PAYLOAD_KEYS")
}

// Every client Durapay dials, and every worker on it, writes failures encrypted and refuses
// payloads that are not.
func TestOptionsEncrypt(t *testing.T) {
	spec, err := keyring.GenerateKey("k1")
	require.NoError(t, err)
	k, err := keyring.Parse(spec)
	require.NoError(t, err)
	opts := options("127.0.0.1:7233", "default", nil, k)
	require.NotNil(t, opts.FailureConverter, "failures would be stored in clear")
	require.NotNil(t, opts.DataConverter)

	const secret = "declined for alice.secret@example.com"
	stored := opts.FailureConverter.ErrorToFailure(errors.New(secret))
	raw, err := proto.Marshal(stored)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), secret)
	withoutKeys := temporal.GetDefaultFailureConverter().FailureToError(proto.Clone(stored).(*failurepb.Failure))
	assert.NotContains(t, withoutKeys.Error(), secret)
	assert.Contains(t, opts.FailureConverter.FailureToError(stored).Error(), secret)

	clear, err := converter.GetDefaultDataConverter().ToPayload(map[string]int64{"Amount": 1000})
	require.NoError(t, err)
	var v map[string]int64
	require.ErrorIs(t, opts.DataConverter.FromPayload(clear, &v), payloadcodec.ErrNotEncrypted)

	// Allowed to run in clear: the SDK's defaults.
	opts = options("127.0.0.1:7233", "default", nil, nil)
	assert.Nil(t, opts.DataConverter)
	assert.Nil(t, opts.FailureConverter)
}
