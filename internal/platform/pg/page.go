package pg

import (
	"fmt"
	"slices"
	"time"
)

// Page is one page of a list that runs newest first, as Stripe's lists do: at most Limit
// rows, older than StartingAfter or newer than EndingBefore (at most one of them is set).
// Its rows are ordered by (created_at, id), so that a page never skips or repeats a row
// created in the same microsecond as another.
type Page struct {
	Limit                       int
	StartingAfter, EndingBefore *Cursor
}

// Cursor is where an object sits in its list.
type Cursor struct {
	Created time.Time
	ID      string
}

// Keyset returns the SQL that selects the page from a table with created_at and id columns:
// a condition, the order and the limit, to follow WHERE (or AND), with its arguments
// numbered from n. It reads one row more than Limit, from the cursor outwards, so that Trim
// can tell whether more follow.
func (p Page) Keyset(n int) (string, []any) {
	cond, order, args := "true", "created_at DESC, id DESC", []any{}
	switch {
	case p.StartingAfter != nil:
		cond, args = fmt.Sprintf("(created_at, id) < ($%d, $%d)", n, n+1), []any{p.StartingAfter.Created, p.StartingAfter.ID}
	case p.EndingBefore != nil:
		cond, order, args = fmt.Sprintf("(created_at, id) > ($%d, $%d)", n, n+1), "created_at, id", []any{p.EndingBefore.Created, p.EndingBefore.ID}
	}
	return fmt.Sprintf("%s ORDER BY %s LIMIT $%d", cond, order, n+len(args)), append(args, p.Limit+1)
}

// Trim cuts the rows that Keyset selected to the page, newest first, and says whether more
// rows follow in the direction the page was read (older, or newer with EndingBefore).
func Trim[T any](p Page, rows []T) ([]T, bool) {
	more := len(rows) > p.Limit
	rows = rows[:min(len(rows), p.Limit)]
	if p.EndingBefore != nil {
		slices.Reverse(rows)
	}
	return rows, more
}
