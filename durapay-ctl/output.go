package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/durapay/durapay/schemas/money"
)

// printJSON writes v indented, for people piping into jq as much as for scripts.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, in aligned columns.
type table struct{ tw *tabwriter.Writer }

func (a *app) newTable(header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = cell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// cell makes text safe for one table cell. Timelines carry text from outside (operators'
// reasons, Stripe's messages): a tab or newline would break the columns, and an escape
// sequence would be obeyed by the terminal.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncate shortens s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// amount prints minor units in major units ("50.00 USD", "500 JPY"). A currency Durapay
// cannot convert shows its minor units as they are, said so: never an amount 100 times off.
func amount(minor int64, currency string) string {
	c, err := money.ParseCurrency(currency)
	if err != nil {
		return fmt.Sprintf("%d %s (minor units)", minor, strings.ToUpper(currency))
	}
	return money.Amount{Minor: minor, Currency: c}.String()
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// progressOn says whether to draw progress bars: by default only where a person watches,
// that is stderr is a terminal and the output is not JSON for a script.
func (a *app) progressOn() bool {
	switch a.progress {
	case "always":
		return true
	case "never":
		return false
	}
	if a.json {
		return false
	}
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar draws on stderr, so stdout stays the command's output. total -1 is a count with
// a spinner, for when the total is not known. The bar is cleared when finished: what was
// done is printed after it, as a line of its own.
func (a *app) newBar(total int64, description string, bytes bool) *progressbar.ProgressBar {
	w := io.Discard
	if a.progressOn() {
		w = a.stderr
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(w != io.Discard),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
		// No background redraws: the bar writes only when told of progress, so it never
		// writes to stderr after the command has moved on (or returned, in tests).
		progressbar.OptionSetSpinnerChangeInterval(0),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionSetItsString("payments"), progressbar.OptionShowIts())
	}
	if total < 0 {
		opts = append(opts, progressbar.OptionSpinnerType(14), progressbar.OptionShowTotalBytes(false))
	}
	return progressbar.NewOptions64(total, opts...)
}
