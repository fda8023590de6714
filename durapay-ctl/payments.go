package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (a *app) paymentsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "payments",
		Short: "Find and export payments, print a payment's timeline",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	cmd.AddCommand(a.findCommand(), a.exportCommand(), a.timelineCommand())
	return cmd
}

// filterFlags are the search's filters, the same as the API's.
type filterFlags struct {
	f                    paymentFilter
	minAmount, maxAmount int64
}

func (ff *filterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&ff.f.Merchant, "merchant", "", "merchant ID (mer_...)")
	fs.StringVar(&ff.f.Status, "status", "", "payment status: processing, requires_action, requires_capture, succeeded, failed, canceled, needs_attention")
	fs.StringVar(&ff.f.Currency, "currency", "", "ISO 4217 currency code (usd)")
	fs.StringVar(&ff.f.From, "from", "", "created at or after: a day (2026-11-29, UTC) or an RFC 3339 time")
	fs.StringVar(&ff.f.To, "to", "", "created before: a day (2026-11-29, UTC) or an RFC 3339 time")
	fs.Int64Var(&ff.minAmount, "min-amount", 0, "smallest amount, in minor units (5000 is 50.00 USD)")
	fs.Int64Var(&ff.maxAmount, "max-amount", 0, "largest amount, in minor units")
	fs.IntVar(&ff.f.Limit, "limit", 0, "payments per page, 1 to 100 (default: the API's, 25)")
}

// filter checks the flags and returns the filter. Amounts are sent only when given: 0 is a
// bound like any other.
func (ff *filterFlags) filter(cmd *cobra.Command) (paymentFilter, error) {
	f := ff.f
	if f.Limit != 0 && (f.Limit < 1 || f.Limit > 100) {
		return f, usagef("--limit must be from 1 to 100")
	}
	for _, b := range []struct {
		name string
		v    int64
		dst  **int64
	}{{"min-amount", ff.minAmount, &f.MinAmount}, {"max-amount", ff.maxAmount, &f.MaxAmount}} {
		if !cmd.Flags().Changed(b.name) {
			continue
		}
		if b.v < 0 {
			return f, usagef("--%s must not be negative", b.name)
		}
		v := b.v
		*b.dst = &v
	}
	return f, nil
}

func (a *app) findCommand() *cobra.Command {
	var ff filterFlags
	var all bool
	var pageToken string
	cmd := &cobra.Command{
		Use:   "find",
		Short: "Find payments by merchant, status, currency, time and amount",
		Example: `  durapay-ctl payments find --merchant mer_acme --status needs_attention
  durapay-ctl payments find --from 2026-11-01 --to 2026-12-01 --currency usd --all --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			found := []payment{} // --json prints [] for none, not null
			next, err := eachPage(cmd.Context(), c, f, pageToken, all, func(page []payment) error {
				found = append(found, page...)
				return nil
			})
			if err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(a.stderr, "More payments follow: add --all, or --page-token %s for the next page.\n", next)
			}
			if a.json {
				return a.printJSON(found)
			}
			if len(found) == 0 {
				fmt.Fprintln(a.stdout, "No payments found.")
				return nil
			}
			t := a.newTable("ID", "MERCHANT", "STATUS", "AMOUNT", "CREATED")
			for _, p := range found {
				t.row(p.ID, p.Merchant, p.Status, amount(p.Amount, p.Currency), timestamp(p.Created))
			}
			return t.flush()
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "follow every page, not only the first")
	cmd.Flags().StringVar(&pageToken, "page-token", "", "start at this page (as printed after a partial result)")
	return cmd
}

// eachPage calls fn with each page of the search from pageToken: one page, or with all
// every page. It returns the token of the page that follows, if it stopped before the end.
func eachPage(ctx context.Context, c *client, f paymentFilter, pageToken string, all bool, fn func([]payment) error) (string, error) {
	token := pageToken
	for {
		page, err := c.Payments(ctx, f, token)
		if err != nil {
			return "", err
		}
		if err := fn(page.Data); err != nil {
			return "", err
		}
		switch {
		case page.NextPageToken == "":
			return "", nil
		case !all:
			return page.NextPageToken, nil
		case page.NextPageToken == token:
			// The same page again would go on forever and repeat its payments.
			return "", fmt.Errorf("the API gave the same page token twice (%s): stopped", token)
		}
		token = page.NextPageToken
	}
}

var exportHeader = []string{"id", "merchant", "status", "amount_minor", "currency", "stripe_payment_intent", "created"}

func (a *app) exportCommand() *cobra.Command {
	var ff filterFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export --out FILE.csv",
		Short: "Write every payment the filters find to a CSV file",
		Long: `export follows every page of the search and writes the payments to a CSV file:
id, merchant, status, amount_minor, currency, stripe_payment_intent, created (RFC 3339, UTC).

Amounts stay in minor units, exact, for spreadsheets and scripts to convert. The file
appears only once the export is complete, readable by its owner only: payment data.`,
		Example: `  durapay-ctl payments export --merchant mer_acme --from 2026-11-01 --to 2026-12-01 --out acme-november.csv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out is required: the CSV file to write")
			}
			f, err := ff.filter(cmd)
			if err != nil {
				return err
			}
			if f.Limit == 0 {
				f.Limit = 100 // the fewest round trips
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			rows, err := a.export(cmd.Context(), c, f, out)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"path": out, "rows": rows})
			}
			fmt.Fprintf(a.stdout, "Exported %d payments to %s.\n", rows, out)
			return nil
		},
	}
	ff.register(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "CSV file to write (required)")
	return cmd
}

// export writes the CSV to a temporary file beside out and renames it when every page is
// in: an interrupted or failed export leaves no file that looks complete.
func (a *app) export(ctx context.Context, c *client, f paymentFilter, out string) (rows int, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bar := a.newBar(-1, "exporting", false)
	defer bar.Finish()

	w := csv.NewWriter(tmp)
	if err := w.Write(exportHeader); err != nil {
		return 0, err
	}
	_, err = eachPage(ctx, c, f, "", true, func(page []payment) error {
		for _, p := range page {
			rec := []string{p.ID, p.Merchant, p.Status, strconv.FormatInt(p.Amount, 10), p.Currency, p.StripePaymentIntent, timestamp(p.Created)}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		rows += len(page)
		_ = bar.Add(len(page)) // progress is shown, never a reason to fail
		return nil
	})
	if err != nil {
		return 0, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return rows, os.Rename(tmp.Name(), out)
}

func (a *app) timelineCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "timeline PAYMENT_ID",
		Short: "Print what happened to a payment and its refunds, in order",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tl, err := c.Timeline(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if tl.Entries == nil {
				tl.Entries = []timelineEntry{}
			}
			if a.json {
				return a.printJSON(tl)
			}
			var p struct { // the merchant's view of the payment: created is in Unix seconds there
				ID, Merchant, Status, Currency string
				Amount                         int64
			}
			if json.Unmarshal(tl.Payment, &p) == nil && p.ID != "" {
				fmt.Fprintf(a.stdout, "Payment %s of %s: %s, %s\n\n", cell(p.ID), cell(p.Merchant), cell(p.Status), amount(p.Amount, p.Currency))
			}
			t := a.newTable("TIME", "WORKFLOW", "WHAT", "ATTEMPT", "ACTOR", "DETAIL")
			for _, e := range tl.Entries {
				attempt := ""
				if e.Attempt > 0 {
					attempt = strconv.Itoa(int(e.Attempt))
				}
				t.row(e.Time.UTC().Format("2006-01-02 15:04:05.000"), shortWorkflow(e.Workflow), e.What, attempt, e.Actor, truncate(e.Detail, 60))
			}
			return t.flush()
		},
	}
}

// shortWorkflow drops the merchant from a workflow ID (payment/mer_x/pay_y): the timeline
// is one merchant's, and what tells the lines apart is the payment or the refund.
func shortWorkflow(id string) string {
	kind, rest, ok := strings.Cut(id, "/")
	if !ok {
		return id
	}
	return kind + "/" + rest[strings.LastIndex(rest, "/")+1:]
}
