package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/platform/keyring"
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

// AuditAnchors reads every anchor of the audit log, oldest first.
func (c *client) AuditAnchors(ctx context.Context) ([]audit.Anchor, error) {
	var all []audit.Anchor
	q := url.Values{"limit": {strconv.Itoa(auditPage)}}
	for {
		var page struct {
			Data    []audit.Anchor `json:"data"`
			HasMore bool           `json:"has_more"`
		}
		if err := c.get(ctx, "/v1/admin/audit/anchors", q, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			return all, nil
		}
		q.Set("starting_after", page.Data[len(page.Data)-1].Object)
	}
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
row's hash against its content and the row before it. The hashes are keyed (HMAC-SHA256):
set DURAPAY_AUDIT_KEYS to the audit keys (AUDIT_KEYS of frontend-api and the workers), so
that a database owner who rewrites a row cannot recompute them. Every anchor (the chain's
last row, written hourly to S3 under object lock) must find its row with the same hash:
a chain rewritten or cut short before an anchor is reported, even if rewritten with the
key. The check runs on this machine, so a tampered server cannot vouch for itself. It
exits 1 at the first row that does not fit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := a.auditKeys()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			// Anchors first: each then names a row the chain read after it must hold.
			anchors, err := c.AuditAnchors(cmd.Context())
			if err != nil {
				return err
			}
			v := audit.NewVerifier(keys, anchors)
			var after int64
			for {
				entries, err := c.Audit(cmd.Context(), after)
				if err != nil {
					return err
				}
				if len(entries) == 0 {
					break
				}
				if err := v.Check(entries); err != nil {
					if errors.Is(err, keyring.ErrUnknownKeyID) {
						return fmt.Errorf("%w (DURAPAY_AUDIT_KEYS)", err)
					}
					return err
				}
				after = entries[len(entries)-1].Seq
			}
			sum, err := v.Finish()
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"verified": true, "rows": sum.Rows, "unkeyed_rows": sum.Unkeyed,
					"anchors": sum.Anchors, "latest_anchored_row": sum.Latest.Seq})
			}
			fmt.Fprintf(a.stdout, "The audit log's %d rows are intact.\n", sum.Rows)
			if sum.Unkeyed > 0 {
				fmt.Fprintf(a.stdout, "The first %d were chained before the log was keyed (plain SHA-256); the first keyed row vouches for them.\n", sum.Unkeyed)
			}
			if sum.Anchors == 0 {
				fmt.Fprintln(a.stdout, "No anchors yet: the rows are protected by the audit key alone.")
				return nil
			}
			fmt.Fprintf(a.stdout, "Anchors matched: %d; the latest, of %s, holds row %d: the rows after it are protected by the audit key alone.\n",
				sum.Anchors, sum.Latest.At.Format(time.RFC3339), sum.Latest.Seq)
			return nil
		},
	})
	return cmd
}

// auditKeys reads the audit log's keys from the environment only: they are secrets, and a
// flag shows in the process list.
func (a *app) auditKeys() (*keyring.Keyring, error) {
	spec := a.getenv("DURAPAY_AUDIT_KEYS")
	if spec == "" {
		return nil, usagef("no audit keys: set DURAPAY_AUDIT_KEYS to the audit log's keys (AUDIT_KEYS of frontend-api and the workers, id:base64key[,...]); its keyed hashes cannot be checked without them")
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		return nil, usagef("DURAPAY_AUDIT_KEYS: %v", err)
	}
	return keys, nil
}
