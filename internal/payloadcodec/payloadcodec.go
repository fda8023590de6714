// Package payloadcodec encrypts Temporal payloads, so that the personal data and amounts in
// workflow inputs, results, signals, memos and activity arguments cannot be read from
// Temporal's database. Clients and workers use DataConverter (and FailureConverter, for error
// messages); an authorized operator's Temporal UI or CLI reads histories through Handler, the
// codec server.
//
// What is NOT encrypted: workflow IDs, task queues, search attributes and the other
// server-side fields, because Temporal must read them. They must carry no personal data.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written by Encode. The names follow the Temporal samples' encryption codec,
// so Temporal tooling that recognises them shows these payloads as encrypted.
const (
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
)

const keySize = 32 // AES-256

// ErrUnknownKeyID is wrapped by Decode's error when a payload names a key the keyring lacks,
// typically an old key removed too early during rotation.
var ErrUnknownKeyID = errors.New("unknown encryption key ID")

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring holds the AES-256 keys by ID; the primary one encrypts, all decrypt (rotation: add a
// new primary, keep the old ones until no history needs them).
//
// Only the ciphers are kept, not the raw keys, and String prints IDs only, so logging a
// Keyring by mistake reveals nothing.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// ParseKeyring reads "id1:base64key1,id2:base64key2" (32-byte keys, standard base64); the first
// is the primary. IDs: [A-Za-z0-9_-]{1,32}. Errors on duplicates, wrong sizes.
//
// Errors name an entry by position or ID and never quote key material.
func ParseKeyring(spec string) (*Keyring, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("parse keyring: empty (want id:base64key[,id:base64key...])")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("parse keyring: entry %d: want id:base64key", n)
		}
		// The bad ID is not quoted: with the parts swapped it would be the key.
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("parse keyring: entry %d: key ID must match %s", n, keyIDPattern)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("parse keyring: duplicate key ID %q", id)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("parse keyring: key %q: not standard base64: %w", id, err)
		}
		if len(key) != keySize {
			return nil, fmt.Errorf("parse keyring: key %q: %d bytes, want %d (AES-256)", id, len(key), keySize)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("parse keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		if n == 1 {
			k.primary = id
		}
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// Standard 12-byte nonce, 16-byte tag: random nonces are safe for far more payloads than a
	// key will ever encrypt between rotations.
	return cipher.NewGCM(block)
}

// PrimaryID is the ID of the key that encrypts new payloads.
func (k *Keyring) PrimaryID() string { return k.primary }

// IDs lists every key ID, the primary first, then the rest sorted.
func (k *Keyring) IDs() []string {
	ids := []string{k.primary}
	for id := range k.aeads {
		if id != k.primary {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids[1:])
	return ids
}

// String shows the key IDs, never the keys.
func (k *Keyring) String() string {
	return fmt.Sprintf("Keyring{primary: %s, ids: %s}", k.primary, strings.Join(k.IDs(), ","))
}

// GoString keeps %#v from printing the cipher state.
func (k *Keyring) GoString() string { return k.String() }

// GenerateKey returns a new random key spec "id:base64" for docs/dev.
func GenerateKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("generate key: ID %q must match %s", id, keyIDPattern)
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

type codec struct{ keys *Keyring }

// NewCodec returns the encrypting converter.PayloadCodec (go.temporal.io/sdk/converter).
func NewCodec(k *Keyring) converter.PayloadCodec { return &codec{keys: k} }

// Encode encrypts each whole payload, metadata included: the metadata tells the type of the
// value (e.g. a protobuf message name), which is also none of the database's business.
func (c *codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.primary
	aead := c.keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload %d: marshal: %w", i, err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload %d: nonce: %w", i, err)
		}
		// The key ID is authenticated, so a payload cannot be relabelled to another key.
		sealed := aead.Seal(nonce, nonce, plain, []byte(id))
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

// Decode decrypts the payloads Encode wrote and passes every other one through unchanged, so
// histories written before encryption was turned on still replay and still show in the UI.
func (c *codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
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
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q: the keyring has %s; add the key back to read this payload",
			ErrUnknownKeyID, id, strings.Join(c.keys.IDs(), ","))
	}
	if len(p.Data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("key %q: data too short (%d bytes)", id, len(p.Data))
	}
	nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, []byte(id))
	if err != nil {
		// GCM does not say why; the usual causes are a modified payload or a different key
		// under the same ID.
		return nil, fmt.Errorf("key %q: authentication failed (payload modified, or not encrypted with this key): %w", id, err)
	}
	var dec commonpb.Payload
	if err := proto.Unmarshal(plain, &dec); err != nil {
		return nil, fmt.Errorf("key %q: unmarshal decrypted payload: %w", id, err)
	}
	return &dec, nil
}

// DataConverter wraps the default data converter with the codec, for clients and workers
// (client.Options.DataConverter; workers take it from their client).
func DataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// FailureConverter moves error messages and stack traces into an encrypted payload, for
// client.Options.FailureConverter. Without it they are stored in the clear, and an error
// message can quote personal data ("card declined for alice@example.com").
func FailureConverter(k *Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(k),
		EncodeCommonAttributes: true,
	})
}
