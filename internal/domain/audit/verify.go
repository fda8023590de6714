package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/durapay/durapay/internal/platform/keyring"
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
	// Anchors matched their rows; Latest is the one of the highest row (zero without any).
	// Rows after it are protected by the key alone.
	Anchors int
	Latest  Anchor
}

// Verifier checks the chain as it is read, page by page, oldest row first: each row must
// follow the one before, link to its hash and match its own hash under the key it names;
// rows without a key only before the first keyed row (or a database owner would mark the
// rows they rewrite as unkeyed); and every anchor must find its row, with the anchored hash.
type Verifier struct {
	keys    *keyring.Keyring
	anchors map[int64][]Anchor
	next    int64
	prev    []byte
	keyed   bool
	sum     Summary
}

// NewVerifier returns a Verifier of the chain from its first row, with the audit keys of
// every row and the anchors written so far.
func NewVerifier(keys *keyring.Keyring, anchors []Anchor) *Verifier {
	v := &Verifier{keys: keys, anchors: map[int64][]Anchor{}, next: 1, prev: make([]byte, sha256.Size)}
	for _, a := range anchors {
		v.anchors[a.Seq] = append(v.anchors[a.Seq], a)
		if a.Seq >= v.sum.Latest.Seq {
			v.sum.Latest = a
		}
	}
	return v
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
	for _, a := range v.anchors[e.Seq] {
		if !bytes.Equal(a.Hash, e.Hash) {
			return fmt.Errorf("it was rewritten after anchor %s of %s: its hash is not the anchored one", a.Object, a.At.Format(time.RFC3339))
		}
		v.sum.Anchors++
	}
	return nil
}

// Finish ends a verification that Check let through: it returns a *Break when an anchor
// recorded rows beyond the chain's end (they were removed), and otherwise what was checked.
func (v *Verifier) Finish() (Summary, error) {
	if a := v.sum.Latest; a.Seq >= v.next {
		return Summary{}, &Break{Seq: v.next, Err: fmt.Errorf("the chain ends at row %d, but anchor %s of %s recorded row %d: rows were removed",
			v.next-1, a.Object, a.At.Format(time.RFC3339), a.Seq)}
	}
	return v.sum, nil
}

// Verify checks a whole chain, read at once, against its keys and anchors.
func Verify(keys *keyring.Keyring, anchors []Anchor, entries []Entry) (Summary, error) {
	v := NewVerifier(keys, anchors)
	if err := v.Check(entries); err != nil {
		return Summary{}, err
	}
	return v.Finish()
}
