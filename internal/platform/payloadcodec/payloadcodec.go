// Package payloadcodec encrypts Temporal payloads, so that the personal data and amounts in
// workflow inputs, results, signals, memos and activity arguments, and the messages of
// failures, cannot be read from Temporal's database. Clients and workers use DataConverter and
// FailureConverter (internal/platform/temporalx sets both); an authorized operator's Temporal UI or CLI
// reads histories through Handler, the codec server, and Durapay's own readers through
// DecodeHistory.
//
// Encryption is authenticated, and a client or worker refuses a payload that is not
// encrypted: whoever reaches Temporal without the keys can neither read what Durapay wrote
// nor hand a workflow an input, signal or update of their own.
//
// What is NOT encrypted: workflow IDs, task queues, search attributes and the other
// server-side fields, because Temporal must read them. They must carry no personal data.
package payloadcodec

import (
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// Payload metadata written by Encode. The names follow the Temporal samples' encryption codec,
// so Temporal tooling that recognises them shows these payloads as encrypted.
const (
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
)

// ErrNotEncrypted is wrapped by Decode's error for a payload that is not encrypted. Every
// payload Durapay writes is, so such a payload was written by someone without the keys (the
// Temporal CLI or UI used without the codec server, say) and must not reach a workflow.
var ErrNotEncrypted = errors.New("payload not encrypted (written without the payload keys)")

type codec struct {
	keys *keyring.Keyring
	// showClear makes Decode pass a payload that is not encrypted through unchanged instead
	// of refusing it: only for the codec server, which shows people a history as it is.
	showClear bool
}

// NewCodec returns the encrypting converter.PayloadCodec (go.temporal.io/sdk/converter).
// Its Decode refuses a payload that is not encrypted (ErrNotEncrypted).
func NewCodec(k *keyring.Keyring) converter.PayloadCodec { return &codec{keys: k} }

// Encode encrypts each whole payload, metadata included: the metadata tells the type of the
// value (e.g. a protobuf message name), which is also none of the database's business.
func (c *codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload %d: marshal: %w", i, err)
		}
		id, sealed, err := c.keys.Seal(plain, nil)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts the payloads Encode wrote. Any other payload is refused, a null one too:
// Encode encrypts nulls like any value, and a workflow must not act on a zero value that
// someone without the keys sent. An empty list (no arguments) has nothing to refuse.
//
// The SDK passes workflow, activity, signal, update and query arguments and results, and
// failures' encoded attributes, through here; search attributes and headers never (it writes
// them with its default converter, in clear), so those are not refused.
func (c *codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if encoding := string(p.GetMetadata()[converter.MetadataEncoding]); encoding != EncodingEncrypted {
			if !c.showClear {
				return nil, fmt.Errorf("decrypt payload %d (encoding %q): %w", i, encoding, ErrNotEncrypted)
			}
			out[i] = p
			continue
		}
		dec, err := c.decrypt(p)
		if err != nil {
			return nil, fmt.Errorf("decrypt payload %d: %w", i, err)
		}
		out[i] = dec
	}
	return out, nil
}

func (c *codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.Metadata[MetadataKeyID])
	if id == "" {
		return nil, fmt.Errorf("no %s metadata", MetadataKeyID)
	}
	plain, err := c.keys.Open(id, p.Data, nil)
	if err != nil {
		return nil, err
	}
	var dec commonpb.Payload
	if err := proto.Unmarshal(plain, &dec); err != nil {
		return nil, fmt.Errorf("key %q: unmarshal decrypted payload: %w", id, err)
	}
	return &dec, nil
}

// DataConverter wraps the default data converter with the codec, for clients and workers
// (client.Options.DataConverter; workers take it from their client). It refuses payloads that
// are not encrypted.
func DataConverter(k *keyring.Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// FailureConverter moves error messages and stack traces into an encrypted payload, for
// client.Options.FailureConverter. Without it they are stored in the clear, and an error
// message can quote personal data ("card declined for alice@example.com").
func FailureConverter(k *keyring.Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(k),
		EncodeCommonAttributes: true,
	})
}
