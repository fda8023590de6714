package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/durapay/durapay/internal/keyring"
)

// Break is where the chain stops being what was written: the first row that does not fit,
// and why.
type Break struct {
	Seq int64
	Err error
}

func (b *Break) Error() string { return fmt.Sprintf("audit log broken at row %d: %v", b.Seq, b.Err) }

func (b *Break) Unwrap() error { return b.Err }

// Summary is what a verification found intact.
type Summary struct {
	// Rows were checked; the first Unkeyed of them were chained with plain SHA-256 before
	// the chain was keyed, and are vouched for by the first keyed row's link to them.
	Rows, Unkeyed int64
}

// Verifier checks the chain as it is read, page by page, oldest row first: each row must
// follow the one before, link to its hash and match its own hash under the key it names;
// rows without a key only before the first keyed row (or a database owner would mark the
// rows they rewrite as unkeyed).
type Verifier struct {
	keys  *keyring.Keyring
	next  int64
	prev  []byte
	keyed bool
	sum   Summary
}

// NewVerifier returns a Verifier of the chain from its first row, with the audit keys of
// every row.
func NewVerifier(keys *keyring.Keyring) *Verifier {
	return &Verifier{keys: keys, next: 1, prev: make([]byte, sha256.Size)}
}

// Check checks the next rows of the chain. It returns a *Break at the first that does not
// fit; the Verifier is then spent.
func (v *Verifier) Check(entries []Entry) error {
	for _, e := range entries {
		if err := v.check(e); err != nil {
			return &Break{Seq: e.Seq, Err: err}
		}
		v.prev, v.next = e.Hash, e.Seq+1
		v.sum.Rows++
	}
	return nil
}

func (v *Verifier) check(e Entry) error {
	switch {
	case e.Seq > v.next:
		return fmt.Errorf("rows %d to %d before it are missing", v.next, e.Seq-1)
	case e.Seq != v.next:
		return fmt.Errorf("row %d was expected here", v.next)
	case !bytes.Equal(e.PrevHash, v.prev):
		return errors.New("it does not link to the row before it")
	case e.KeyID == "" && v.keyed:
		return errors.New("it has no key, but follows keyed rows: only the rows written before the chain was keyed have none")
	}
	want, err := link(v.keys, e)
	if err != nil {
		return fmt.Errorf("its hash cannot be checked: %w", err)
	}
	if !hmac.Equal(want, e.Hash) {
		return errors.New("it was altered: its content does not match its hash")
	}
	if e.KeyID == "" {
		v.sum.Unkeyed++
	} else {
		v.keyed = true
	}
	return nil
}

// Finish ends a verification that Check let through: what was checked.
func (v *Verifier) Finish() (Summary, error) {
	return v.sum, nil
}

// Verify checks a whole chain, read at once, against its keys.
func Verify(keys *keyring.Keyring, entries []Entry) (Summary, error) {
	v := NewVerifier(keys)
	if err := v.Check(entries); err != nil {
		return Summary{}, err
	}
	return v.Finish()
}
