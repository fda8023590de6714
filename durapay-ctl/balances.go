package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) balancesCommand() *cobra.Command {
	var merchant, currency, asOf string
	cmd := &cobra.Command{
		Use:   "balances",
		Short: "Show what each merchant is owed per currency, from the ledger",
		Long: `balances shows, per merchant and currency, what was captured, Durapay's fees, what was
refunded, and the net that Durapay owes the merchant, as the ledger says as of a time.
It warns when the ledger does not balance (some transaction's postings do not sum to zero).`,
		Example: `  durapay-ctl balances --merchant mer_acme
  durapay-ctl balances --currency usd --as-of 2026-11-30 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			b, err := c.Balances(cmd.Context(), merchant, currency, asOf)
			if err != nil {
				return err
			}
			if b.Data == nil {
				b.Data = []balance{}
			}
			if !b.LedgerBalanced {
				// On stderr as well as in the JSON: it is the one thing here nobody should miss.
				fmt.Fprintln(a.stderr, "WARNING: the ledger does not balance: some transaction's postings do not sum to zero.")
			}
			if a.json {
				return a.printJSON(b)
			}
			if len(b.Data) == 0 {
				fmt.Fprintln(a.stdout, "No balances found.")
				return nil
			}
			t := a.newTable("MERCHANT", "CAPTURED", "FEES", "REFUNDS", "NET")
			for _, s := range b.Data {
				t.row(s.Merchant, amount(s.Captured, s.Currency), amount(s.Fees, s.Currency),
					amount(s.Refunds, s.Currency), amount(s.Net, s.Currency))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&merchant, "merchant", "", "merchant ID (mer_...); all merchants if left out")
	cmd.Flags().StringVar(&currency, "currency", "", "ISO 4217 currency code (usd)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "as of a time: a day (its end, UTC) or an RFC 3339 time; now if left out")
	return cmd
}
