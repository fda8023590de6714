// Package envelope encrypts personal data at rest, envelope style: each value gets a fresh
// random data key (AES-256-GCM), and the application key (the keyring's primary) encrypts
// that data key. Rotating the application key re-wraps data keys, never the data; a value
// is decrypted only where it is needed (sending an email, calling Stripe), never to list or
// search.
package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// sealed is what is stored: the wrapping key's ID, the wrapped data key, and the value
// encrypted with the data key (nonce||ciphertext).
type sealed struct {
	KeyID      string `json:"k"`
	WrappedKey []byte `json:"w"`
	Data       []byte `json:"d"`
}

// Seal encrypts v (as JSON). purpose binds the value to its use ("merchant profile mer_x"):
// a sealed value copied to another record does not open there.
func Seal(k *keyring.Keyring, v any, purpose string) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", purpose, err)
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("seal %s: data key: %w", purpose, err)
	}
	aead, err := gcm(dataKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal %s: nonce: %w", purpose, err)
	}
	s := sealed{Data: aead.Seal(nonce, nonce, plain, []byte(purpose))}
	if s.KeyID, s.WrappedKey, err = k.Seal(dataKey, []byte(purpose)); err != nil {
		return nil, fmt.Errorf("seal %s: %w", purpose, err)
	}
	return json.Marshal(s)
}

// Open decrypts what Seal returned for the same purpose into v.
func Open(k *keyring.Keyring, stored []byte, purpose string, v any) error {
	var s sealed
	if err := json.Unmarshal(stored, &s); err != nil {
		return fmt.Errorf("open %s: %w", purpose, err)
	}
	dataKey, err := k.Open(s.KeyID, s.WrappedKey, []byte(purpose))
	if err != nil {
		return fmt.Errorf("open %s: %w", purpose, err)
	}
	aead, err := gcm(dataKey)
	if err != nil {
		return err
	}
	if len(s.Data) < aead.NonceSize()+aead.Overhead() {
		return fmt.Errorf("open %s: data too short", purpose)
	}
	plain, err := aead.Open(nil, s.Data[:aead.NonceSize()], s.Data[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return fmt.Errorf("open %s: %w", purpose, err)
	}
	return json.Unmarshal(plain, v)
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}
