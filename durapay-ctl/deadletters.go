package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/durapay/durapay/internal/platform/eventbus"
)

// maxDeadLetters bounds one listing or replay.
const maxDeadLetters = 1000

// defaultReplayMaxAge keeps replays inside the workers' default RETENTION_NOTIFICATION_SENDS
// (90 days), less a day: the claims that stop a replayed event from being emailed or
// delivered twice are pruned after it.
const defaultReplayMaxAge = 89 * 24 * time.Hour

// tooOld lists the letters dead-lettered longer than maxAge before now (or at an unknown
// time): replaying them could send again what their claims, pruned since, had recorded.
func tooOld(letters []eventbus.DeadLetter, maxAge time.Duration, now time.Time) []int64 {
	var offsets []int64
	for _, d := range letters {
		at, err := time.Parse(time.RFC3339, d.FailedAt)
		if err != nil || now.Sub(at) > maxAge {
			offsets = append(offsets, d.Offset)
		}
	}
	return offsets
}

// dlqCommand reads the dead-letter topic straight from Kafka (an operator's command: it
// needs KAFKA_BROKERS, not an API key) and replays letters to the consumer that gave up.
func (a *app) dlqCommand() *cobra.Command {
	var from int64
	var limit int
	var maxAge time.Duration
	brokers := func() ([]string, error) {
		v := a.getenv("KAFKA_BROKERS")
		if v == "" {
			return nil, usagef("KAFKA_BROKERS is not set: the dead letters are read from Kafka")
		}
		return strings.Split(v, ","), nil
	}
	read := func(cmd *cobra.Command) ([]string, []eventbus.DeadLetter, error) {
		if limit < 1 || limit > maxDeadLetters {
			return nil, nil, usagef("--limit must be from 1 to %d", maxDeadLetters)
		}
		b, err := brokers()
		if err != nil {
			return nil, nil, err
		}
		letters, err := eventbus.ReadDeadLetters(cmd.Context(), b, from, limit)
		return b, letters, err
	}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List and replay dead letters (messages a consumer gave up on)",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters from --from on, with the consumer and the reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, letters, err := read(cmd)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"data": letters})
			}
			t := a.newTable("OFFSET", "FAILED AT", "CONSUMER", "TOPIC", "KEY", "ATTEMPTS", "REASON")
			for _, d := range letters {
				t.row(strconv.FormatInt(d.Offset, 10), d.FailedAt, d.Consumer, d.Topic, d.Key, strconv.Itoa(d.Attempts), truncate(d.Reason, 80))
			}
			return t.flush()
		},
	}
	replay := &cobra.Command{
		Use:   "replay",
		Short: "Put dead letters from --from on back on their topics, for the consumer that gave up",
		Long: `replay republishes each dead letter to the topic it came from, marked for the consumer group
that dead-lettered it: the other groups pass it by. Consumers are idempotent, so replaying
a letter twice acts once, as long as the consumers still hold their claims: letters older
than --max-age are refused. Fix the cause first: a letter that fails again is
dead-lettered again, with the new reason.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, letters, err := read(cmd)
			if err != nil {
				return err
			}
			if old := tooOld(letters, maxAge, time.Now()); maxAge > 0 && len(old) > 0 {
				return usagef("the letters at offsets %v were dead-lettered more than %s ago (or at an unknown time): "+
					"the claims that keep a replay from sending twice may be gone. Replay around them (--from, --limit), "+
					"or pass --max-age 0 if you accept that risk", old, maxAge)
			}
			w := eventbus.NewWriter(b)
			defer w.Close()
			if err := eventbus.Replay(cmd.Context(), w, letters); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"replayed": len(letters)})
			}
			fmt.Fprintf(a.stdout, "Replayed %d dead letters.\n", len(letters))
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, replay} {
		c.Flags().Int64Var(&from, "from", 0, "first offset in the dead-letter topic")
		c.Flags().IntVar(&limit, "limit", 100, "at most this many letters")
	}
	replay.Flags().DurationVar(&maxAge, "max-age", defaultReplayMaxAge, "refuse letters dead-lettered longer ago than this (0: no limit)")
	cmd.AddCommand(list, replay)
	return cmd
}
