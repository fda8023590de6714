// Command durapay-ctl is the command line of finance staff, operators and admins: find
// payments, export them, read a payment's timeline, download a day's report, check balances,
// verify the audit log, replay dead letters and manage staff keys, all through the API with a
// staff API key.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/durapay/durapay/internal/platform/version"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit statuses: scripts tell a refused or failed call (1) from a command line that was
// wrong before anything was asked of the API (2).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const defaultAPI = "http://127.0.0.1:8080"

// app is one invocation: its streams, environment and global options. Nothing global, so
// tests run commands in-process side by side.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	api      string
	key      string
	json     bool
	timeout  time.Duration
	progress string

	// parsed is set once cobra has accepted the command line: an error before then is the
	// user's (exit 2), whatever cobra calls it.
	parsed bool
}

// usageError is a command line that cannot be run as given.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return a.exitStatus(ctx, cmd, err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "durapay-ctl",
		Short: "Durapay's finance and operations command line",
		Long: `durapay-ctl finds payments, exports them, prints a payment's timeline, downloads a
day's report and shows balances, through Durapay's finance API.

It needs a staff API key with the finance (or admin) role: --key, or better DURAPAY_KEY,
since a flag shows in the process list. Output is a table; --json prints JSON for scripts.`,
		Version:       version.String(),
		SilenceErrors: true, // report prints errors, with the exit status that goes with them
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.parsed = true
			switch a.progress {
			case "auto", "always", "never":
				return nil
			}
			return usagef("--progress must be auto, always or never")
		},
		RunE: needsSubcommand,
	}
	f := root.PersistentFlags()
	// Empty defaults: the environment fills what flags leave out, and --help never shows
	// the key that DURAPAY_KEY holds.
	f.StringVar(&a.api, "api", "", "base URL of the finance API (env DURAPAY_API, default "+defaultAPI+")")
	f.StringVar(&a.key, "key", "", "staff API key (env DURAPAY_KEY)")
	f.BoolVar(&a.json, "json", false, "print JSON instead of a table")
	f.DurationVar(&a.timeout, "timeout", 30*time.Second, "limit for each HTTP request, a report download included")
	f.StringVar(&a.progress, "progress", "auto", "progress bars on stderr: auto (a terminal, without --json), always, never")

	root.AddCommand(a.paymentsCommand(), a.reportsCommand(), a.balancesCommand(), a.auditCommand(), a.dlqCommand(),
		a.notificationsCommand(), a.staffKeysCommand())
	return root
}

// needsSubcommand answers a group named without one of its commands: cobra would print the
// help and succeed, and a script would not notice.
func needsSubcommand(cmd *cobra.Command, _ []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	return usagef("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
}

// client checks the global options and builds the API client. Commands call it, rather
// than a hook, so that help and usage errors never ask for a key.
func (a *app) client() (*client, error) {
	key := a.key
	if key == "" {
		key = a.getenv("DURAPAY_KEY")
	}
	if key == "" {
		return nil, usagef("no API key: set DURAPAY_KEY or pass --key")
	}
	api := a.api
	if api == "" {
		api = a.getenv("DURAPAY_API")
	}
	if api == "" {
		api = defaultAPI
	}
	base, err := url.Parse(api)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, usagef("--api must be an http or https URL, not %q", api)
	}
	// A staff key is a bearer credential: it crosses a network only under TLS.
	if base.Scheme == "http" && !loopback(base.Hostname()) {
		return nil, usagef("--api %s is plain http to another machine: the key would cross the network in clear; use https", api)
	}
	if a.timeout <= 0 {
		return nil, usagef("--timeout must be positive")
	}
	return newClient(base, key, a.timeout), nil
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// exitStatus prints err and turns it into the exit status.
func (a *app) exitStatus(ctx context.Context, cmd *cobra.Command, err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if !a.parsed || errors.As(err, &ue) {
		path := "durapay-ctl"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(a.stderr, "durapay-ctl: %v\nRun '%s --help' for usage.\n", err, path)
		return exitUsage
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(a.stderr, "durapay-ctl: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(a.stderr, "durapay-ctl: %v\n", err)
	return exitFailure
}
