package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// unconfirmedSend is one of GET /v1/admin/notifications/unconfirmed's items.
type unconfirmedSend struct {
	Event         string `json:"event"`
	Channel       string `json:"channel"`
	RecipientHash string `json:"recipient_hash"`
	Merchant      string `json:"merchant"`
	EventType     string `json:"event_type"`
	Template      string `json:"template"`
	Attempts      int    `json:"attempts"`
	Since         int64  `json:"since"`
}

// UnconfirmedSends lists the sends open for longer than olderThan.
func (c *client) UnconfirmedSends(ctx context.Context, olderThan time.Duration) ([]unconfirmedSend, error) {
	var page struct {
		Data []unconfirmedSend `json:"data"`
	}
	q := url.Values{"older_than": {strconv.Itoa(int(olderThan.Seconds()))}, "limit": {"1000"}}
	err := c.get(ctx, "/v1/admin/notifications/unconfirmed", q, &page)
	return page.Data, err
}

// ResolveSend records what the operator established about one. It is not retried: a
// second call that finds the send resolved answers 404, which says so.
func (c *client) ResolveSend(ctx context.Context, s unconfirmedSend, outcome, reason string) error {
	return c.post(ctx, "/v1/admin/notifications/unconfirmed/resolve", map[string]string{"event": s.Event, "channel": s.Channel,
		"recipient_hash": s.RecipientHash, "outcome": outcome, "reason": reason}, nil)
}

func (a *app) notificationsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "Look into emails and texts whose sending was never confirmed",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	var olderThan time.Duration
	list := &cobra.Command{
		Use:   "unconfirmed",
		Short: "List the sends claimed but never confirmed sent or refused",
		Long: `unconfirmed lists the emails and texts that the notifier claimed and never learned the
outcome of (it stopped, or lost the provider's answer): they are never resent by themselves,
because the provider may have sent them. Check the provider's records (the SES or SNS
message logs), then resolve each one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			sends, err := c.UnconfirmedSends(cmd.Context(), olderThan)
			if err != nil {
				return err
			}
			if sends == nil {
				sends = []unconfirmedSend{}
			}
			if a.json {
				return a.printJSON(sends)
			}
			if len(sends) == 0 {
				fmt.Fprintln(a.stdout, "No unconfirmed sends.")
				return nil
			}
			t := a.newTable("SINCE", "MERCHANT", "EVENT", "TYPE", "CHANNEL", "TEMPLATE", "RECIPIENT")
			for _, s := range sends {
				t.row(time.Unix(s.Since, 0).UTC().Format(time.RFC3339), s.Merchant, s.Event, s.EventType, s.Channel, s.Template, s.RecipientHash)
			}
			return t.flush()
		},
	}
	list.Flags().DurationVar(&olderThan, "older-than", 5*time.Minute, "only sends claimed longer ago than this (younger ones are most likely being sent)")

	var s unconfirmedSend
	var outcome, reason string
	resolve := &cobra.Command{
		Use:   "resolve",
		Short: "Record what you established about an unconfirmed send",
		Long: `resolve closes an unconfirmed send: --as sent (the provider's records show it), failed (it
was not sent and will not be), or retryable (it was not sent; the next delivery of its event,
such as a replayed dead letter, sends it). The decision is audited.`,
		Example: `  durapay-ctl notifications resolve --event evt_... --channel email --recipient 3f2a... --as sent --reason "SES log: delivered"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if s.Event == "" || s.Channel == "" || s.RecipientHash == "" || outcome == "" {
				return usagef("resolve needs --event, --channel, --recipient and --as")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.ResolveSend(cmd.Context(), s, outcome, reason); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"event": s.Event, "channel": s.Channel, "recipient_hash": s.RecipientHash, "status": outcome})
			}
			fmt.Fprintf(a.stdout, "The %s of %s is resolved as %s.\n", s.Channel, s.Event, outcome)
			return nil
		},
	}
	f := resolve.Flags()
	f.StringVar(&s.Event, "event", "", "the event's ID")
	f.StringVar(&s.Channel, "channel", "", "email or sms")
	f.StringVar(&s.RecipientHash, "recipient", "", "the recipient's hash, as listed")
	f.StringVar(&outcome, "as", "", "sent, failed or retryable")
	f.StringVar(&reason, "reason", "", "what you found, for the audit log")
	cmd.AddCommand(list, resolve)
	return cmd
}
