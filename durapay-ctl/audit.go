package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/durapay/durapay/internal/audit"
)

// auditPage is the largest page the API serves.
const auditPage = 1000

// Audit reads the audit log after a sequence number.
func (c *client) Audit(ctx context.Context, after int64) ([]audit.Entry, error) {
	var page struct {
		Data []audit.Entry `json:"data"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(auditPage)}}
	err := c.get(ctx, "/v1/admin/audit", q, &page)
	return page.Data, err
}

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the audit log",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain: finds an altered, inserted or removed row",
		Long: `verify reads the whole audit log through the admin API (role admin) and checks, here, every
row's hash against its content and the row before it. The check runs on this machine, so a
tampered server cannot vouch for itself. It exits 1 at the first row that does not fit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var prev []byte
			var after, checked int64
			for {
				entries, err := c.Audit(cmd.Context(), after)
				if err != nil {
					return err
				}
				if len(entries) == 0 {
					break
				}
				if entries[0].Seq != after+1 {
					return fmt.Errorf("audit log broken at row %d: rows %d to %d are missing", after+1, after+1, entries[0].Seq-1)
				}
				if seq, err := audit.Verify(prev, entries); err != nil {
					return fmt.Errorf("audit log broken at row %d: %w", seq, err)
				}
				checked += int64(len(entries))
				prev, after = entries[len(entries)-1].Hash, entries[len(entries)-1].Seq
			}
			if a.json {
				return a.printJSON(map[string]any{"verified": true, "rows": checked})
			}
			fmt.Fprintf(a.stdout, "The audit log's %d rows are intact.\n", checked)
			return nil
		},
	})
	return cmd
}
