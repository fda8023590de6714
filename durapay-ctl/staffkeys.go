package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// issuedStaffKey is a staff key as the admin API shows it; Secret only when it is issued.
type issuedStaffKey struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Roles   []string   `json:"roles"`
	Prefix  string     `json:"prefix"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires"`
	Revoked *time.Time `json:"revoked,omitempty"`
	Secret  string     `json:"secret,omitempty"`
}

// IssueStaffKey asks for a staff key (an admin's call, audited).
func (c *client) IssueStaffKey(ctx context.Context, name string, roles []string, ttl time.Duration) (issuedStaffKey, error) {
	var k issuedStaffKey
	return k, c.post(ctx, "/v1/admin/staff_keys", map[string]any{"name": name, "roles": roles,
		"expires_in_seconds": int64(ttl.Seconds())}, &k)
}

// StaffKeys lists the staff keys that still work.
func (c *client) StaffKeys(ctx context.Context) ([]issuedStaffKey, error) {
	var page struct {
		Data []issuedStaffKey `json:"data"`
	}
	return page.Data, c.get(ctx, "/v1/admin/staff_keys", nil, &page)
}

// RevokeStaffKey ends a staff key at once (audited).
func (c *client) RevokeStaffKey(ctx context.Context, id string) (issuedStaffKey, error) {
	var k issuedStaffKey
	return k, c.post(ctx, "/v1/admin/staff_keys/"+id+"/revoke", nil, &k)
}

func (a *app) staffKeysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staff-keys",
		Short: "Issue, list and revoke staff keys, the break-glass path beside sign-in (role admin)",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	var (
		name  string
		roles []string
		ttl   time.Duration
	)
	issue := &cobra.Command{
		Use:     "issue",
		Short:   "Issue a staff key for a short time; its secret is printed once",
		Example: `  durapay-ctl staff-keys issue --name "on-call: incident 42" --roles operator --expires-in 2h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || len(roles) == 0 {
				return usagef("issue needs --name and --roles")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.IssueStaffKey(cmd.Context(), name, roles, ttl)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(k)
			}
			fmt.Fprintf(a.stdout, "Staff key %s (%s), roles %s, expires %s:\n%s\nIt is shown this once.\n",
				k.ID, k.Name, strings.Join(k.Roles, ","), k.Expires.UTC().Format(time.RFC3339), k.Secret)
			return nil
		},
	}
	f := issue.Flags()
	f.StringVar(&name, "name", "", "who holds the key, and why")
	f.StringSliceVar(&roles, "roles", nil, "operator, finance, admin (comma-separated)")
	f.DurationVar(&ttl, "expires-in", time.Hour, "how long the key works (the API's STAFF_KEY_MAX_TTL bounds it)")
	cmd.AddCommand(issue, &cobra.Command{
		Use:   "list",
		Short: "List the staff keys that still work",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			keys, err := c.StaffKeys(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"data": keys})
			}
			t := a.newTable("ID", "NAME", "ROLES", "PREFIX", "EXPIRES")
			for _, k := range keys {
				expires := "never"
				if k.Expires != nil {
					expires = k.Expires.UTC().Format(time.RFC3339)
				}
				t.row(k.ID, k.Name, strings.Join(k.Roles, ","), k.Prefix, expires)
			}
			return t.flush()
		},
	}, &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a staff key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := c.RevokeStaffKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Staff key %s (%s) is revoked.\n", k.ID, k.Name)
			return nil
		},
	})
	return cmd
}
