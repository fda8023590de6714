package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func (a *app) reportsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reports",
		Short: "Download merchants' daily reports",
		Args:  cobra.NoArgs,
		RunE:  needsSubcommand,
	}
	cmd.AddCommand(a.downloadCommand())
	return cmd
}

func (a *app) downloadCommand() *cobra.Command {
	var merchant, day, out string
	cmd := &cobra.Command{
		Use:   "download --merchant MER --day YYYY-MM-DD",
		Short: "Download a merchant's report of one day and check it against its SHA-256",
		Long: `download finds the merchant's report of the day, downloads it and checks its SHA-256
against the one recorded when the report was made. The file appears only if they match,
readable by its owner only.`,
		Example: `  durapay-ctl reports download --merchant mer_acme --day 2026-11-29
  durapay-ctl reports download --merchant mer_acme --day 2026-11-29 --out reports/acme.csv --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if merchant == "" {
				return usagef("--merchant is required")
			}
			if _, err := time.Parse(time.DateOnly, day); err != nil {
				return usagef("--day must be a day: YYYY-MM-DD")
			}
			if out == "" {
				out = merchant + "-" + day + ".csv"
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			rep, err := a.downloadReport(cmd.Context(), c, merchant, day, out)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(struct {
					report
					Path string `json:"path"`
				}{rep, out})
			}
			fmt.Fprintf(a.stdout, "Wrote %s: %s's report of %s, %d rows, %d bytes, SHA-256 verified.\n",
				out, rep.Merchant, rep.Day, rep.Rows, rep.SizeBytes)
			return nil
		},
	}
	cmd.Flags().StringVar(&merchant, "merchant", "", "merchant ID (mer_...) (required)")
	cmd.Flags().StringVar(&day, "day", "", "the report's day, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default MERCHANT-DAY.csv)")
	return cmd
}

func (a *app) downloadReport(ctx context.Context, c *client, merchant, day, out string) (report, error) {
	list, err := c.Reports(ctx, merchant, day, day)
	if err != nil {
		return report{}, err
	}
	var rep report
	for _, r := range list {
		if r.Merchant == merchant && r.Day == day {
			rep = r
			break
		}
	}
	if rep.DownloadURL == "" {
		return report{}, fmt.Errorf("no report of %s for %s (reports are made after the day ends)", merchant, day)
	}

	body, size, err := c.Download(ctx, rep.DownloadURL)
	if err != nil {
		return report{}, err
	}
	defer body.Close()
	if size < 0 && rep.SizeBytes > 0 {
		size = rep.SizeBytes
	}
	if size == 0 {
		size = -1 // a bar with nothing to fill: count bytes instead
	}
	if err := a.writeVerified(body, size, rep.SHA256, out); err != nil {
		return report{}, err
	}
	return rep, nil
}

// writeVerified copies body to a temporary file beside out and renames it to out only if
// its SHA-256 is the one the listing gave: a corrupt or truncated report must not look like
// the real one.
func (a *app) writeVerified(body io.Reader, size int64, want, out string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bar := a.newBar(size, "downloading", true)
	defer bar.Finish()

	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h, barWriter{bar}), body); err != nil {
		return fmt.Errorf("download report: %w", redact(err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("SHA-256 mismatch: the report's listing says %s, the download is %s; %s not written", want, got, out)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// barWriter feeds a progress bar and never fails: the bar errs when more bytes come than
// announced, and that is for the SHA-256 to judge, not the display.
type barWriter struct{ bar *progressbar.ProgressBar }

func (w barWriter) Write(p []byte) (int, error) {
	_ = w.bar.Add(len(p))
	return len(p), nil
}
