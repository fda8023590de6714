package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/keyring"
)

type profile struct{ Email, Phone string }

func TestSealOpenRotateTamper(t *testing.T) {
	t.Parallel()
	oldSpec, _ := keyring.GenerateKey("old")
	newSpec, _ := keyring.GenerateKey("new")
	oldRing, _ := keyring.Parse(oldSpec)
	rotated, _ := keyring.Parse(newSpec + "," + oldSpec)
	newOnly, _ := keyring.Parse(newSpec)

	in := profile{Email: "ada@shop.example", Phone: "+44 20 7946 0000"}
	stored, err := envelope.Seal(oldRing, in, "merchant profile mer_1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("ada@shop")) || bytes.Contains(stored, []byte("7946")) {
		t.Fatal("the sealed value shows the plaintext")
	}
	var out profile
	if err := envelope.Open(rotated, stored, "merchant profile mer_1", &out); err != nil || out != in {
		t.Fatalf("after rotation: %+v %v", out, err)
	}
	if err := envelope.Open(newOnly, stored, "merchant profile mer_1", &out); !errors.Is(err, keyring.ErrUnknownKeyID) {
		t.Fatalf("without the old key: %v", err)
	}
	if err := envelope.Open(oldRing, stored, "merchant profile mer_2", &out); err == nil {
		t.Fatal("a value opened for another record")
	}
	tampered := bytes.Replace(stored, []byte(`"d":"`), []byte(`"d":"A`), 1)
	if err := envelope.Open(oldRing, tampered, "merchant profile mer_1", &out); err == nil {
		t.Fatal("tampered data opened")
	}
}
