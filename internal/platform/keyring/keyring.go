// Package keyring holds Durapay's 256-bit keys by ID, for encrypting data that leaves the
// process (Temporal payloads, internal/platform/payloadcodec; personal data at rest,
// internal/platform/envelope) and for authenticating what must not be rewritten unseen (the audit
// log's chain, internal/domain/audit). The primary key encrypts and authenticates; every key
// decrypts and verifies, so that keys rotate by adding a new primary and keeping the old
// ones until nothing needs them.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

const keySize = 32 // AES-256

// ErrUnknownKeyID is wrapped by Open's error when data names a key the keyring lacks,
// typically an old key removed too early during rotation.
var ErrUnknownKeyID = errors.New("unknown encryption key ID")

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring holds the keys by ID; the primary one encrypts and authenticates, all decrypt and
// verify (rotation: add a new primary, keep the old ones until no data needs them).
//
// Only the ciphers and derived MAC keys are kept, not the raw keys, and String prints IDs
// only, so logging a Keyring by mistake reveals nothing.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
	macKeys map[string][]byte
}

// Parse reads "id1:base64key1,id2:base64key2" (32-byte keys, standard base64); the first
// is the primary. IDs: [A-Za-z0-9_-]{1,32}. Errors on duplicates, wrong sizes.
//
// Errors name an entry by position or ID and never quote key material.
func Parse(spec string) (*Keyring, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("parse keyring: empty (want id:base64key[,id:base64key...])")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}, macKeys: map[string][]byte{}}
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
		if k.macKeys[id], err = hkdf.Key(sha256.New, key, nil, macKeyInfo, keySize); err != nil {
			return nil, fmt.Errorf("parse keyring: key %q: derive MAC key: %w", id, err)
		}
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

// Seal encrypts plain with the primary key (AES-256-GCM, random nonce), binding aad and the
// key's ID; it returns the ID and nonce||ciphertext.
func (k *Keyring) Seal(plain, aad []byte) (id string, sealed []byte, err error) {
	id = k.primary
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("seal: nonce: %w", err)
	}
	// The key ID is authenticated, so data cannot be relabelled to another key.
	return id, aead.Seal(nonce, nonce, plain, append([]byte(id), aad...)), nil
}

// Open decrypts what Seal returned under key id with the same aad.
func (k *Keyring) Open(id string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[id]
	if !ok {
		return nil, k.unknown(id, "read")
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("key %q: data too short (%d bytes)", id, len(sealed))
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], append([]byte(id), aad...))
	if err != nil {
		// GCM does not say why; the usual causes are modified data or a different key under
		// the same ID.
		return nil, fmt.Errorf("key %q: authentication failed (data modified, or not encrypted with this key): %w", id, err)
	}
	return plain, nil
}

// macKeyInfo labels the HMAC keys derived from each key: one key never serves two
// algorithms (AES-GCM and HMAC), whatever a keyring is used for.
const macKeyInfo = "durapay keyring: HMAC-SHA256"

// MAC returns HMAC-SHA256 of msg under key id: the primary's to authenticate, the one named
// beside the data to verify (compare with hmac.Equal).
func (k *Keyring) MAC(id string, msg []byte) ([]byte, error) {
	key, ok := k.macKeys[id]
	if !ok {
		return nil, k.unknown(id, "verify")
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil), nil
}

// unknown is the error about data under a key this keyring lacks.
func (k *Keyring) unknown(id, what string) error {
	return fmt.Errorf("%w %q: the keyring has %s; add the key back to %s this data", ErrUnknownKeyID, id, strings.Join(k.IDs(), ","), what)
}
