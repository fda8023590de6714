// Package process is the start-up every Durapay server process shares (frontend-api,
// workers, notifier): read the configuration, log it with secrets masked, and connect to
// Postgres, Redis and Temporal with the deployment's keys.
package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/platform/config"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/logging"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/temporalx"
	"github.com/durapay/durapay/internal/platform/version"
)

// Base is the configuration every process has; a process's configuration embeds it.
type Base struct {
	TemporalAddress   string `env:"TEMPORAL_ADDRESS, default=127.0.0.1:7233"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE, default=default"`
	// TemporalPayloadKeys encrypts workflow payloads and failures: "id:base64key,..." (the
	// first encrypts, all decrypt; see internal/platform/payloadcodec). Required, unless
	// TemporalAllowClearPayloads.
	TemporalPayloadKeys string `env:"TEMPORAL_PAYLOAD_KEYS" secret:"true"`
	// TemporalAllowClearPayloads lets a process run without TemporalPayloadKeys, writing
	// payloads and failures in clear: for local use outside `make dev` (which has keys).
	TemporalAllowClearPayloads bool `env:"TEMPORAL_ALLOW_CLEAR_PAYLOADS, default=false"`
	// DataKeys seal personal data at rest ("id:base64key,...", internal/platform/envelope).
	DataKeys string `env:"DATA_KEYS, required" secret:"true"`

	DatabaseURL      string `env:"DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/durapay?sslmode=disable"`
	DatabaseMaxConns int32  `env:"DATABASE_MAX_CONNS, default=20"`
	// DatabaseStatementTimeout bounds every statement (0: none): a runaway scan (a finance
	// query over years of ledger, say) is cancelled instead of holding a pooled connection.
	DatabaseStatementTimeout time.Duration `env:"DATABASE_STATEMENT_TIMEOUT, default=30s"`
	RedisURL                 string        `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	LogLevel                 string        `env:"LOG_LEVEL, default=info"`
}

func (b *Base) base() *Base { return b }

// Config is a process's configuration: a struct that embeds Base.
type Config interface{ base() *Base }

// Main runs run until SIGINT or SIGTERM; an error is printed and exits 1. With the one
// argument --version it prints the name and version and exits (image checks run it).
func Main(name string, run func(ctx context.Context, getenv func(string) string, stdout io.Writer) error) {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(name, version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Process is what a started process works with. Close releases it.
type Process struct {
	Log      *logrus.Entry
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	DataKeys *keyring.Keyring
	// PayloadKeys encrypt workflow payloads and failures; nil only with
	// TEMPORAL_ALLOW_CLEAR_PAYLOADS=true.
	PayloadKeys *keyring.Keyring
	Temporal    client.Client
}

// Start loads cfg from getenv, checks it (validate may be nil), logs it, and connects.
// Temporal is dialled for up to a minute: in `make dev` it starts alongside.
func Start(ctx context.Context, name string, getenv func(string) string, stdout io.Writer, cfg Config, validate func() error) (_ *Process, err error) {
	if err := config.Load(ctx, getenv, cfg); err != nil {
		return nil, err
	}
	if validate != nil {
		if err := validate(); err != nil {
			return nil, err
		}
	}
	b := cfg.base()
	p := &Process{}
	if p.Log, err = logging.New(stdout, b.LogLevel, name); err != nil {
		return nil, err
	}
	p.Log.WithField("config", strings.Join(config.Describe(cfg), " ")).Info("starting")
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.DataKeys, err = keyring.Parse(b.DataKeys); err != nil {
		return nil, fmt.Errorf("DATA_KEYS: %w", err)
	}
	if p.PayloadKeys, err = temporalx.Keys(b.TemporalPayloadKeys, b.TemporalAllowClearPayloads); err != nil {
		return nil, err
	}
	if p.PayloadKeys == nil {
		p.Log.Warn("TEMPORAL_ALLOW_CLEAR_PAYLOADS=true: workflow payloads and failures are stored in Temporal in clear")
	}
	if p.Pool, err = pg.Connect(ctx, b.DatabaseURL, b.DatabaseMaxConns, b.DatabaseStatementTimeout); err != nil {
		return nil, err
	}
	redisOpts, err := redis.ParseURL(b.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	p.Redis = redis.NewClient(redisOpts)
	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if p.Temporal, err = temporalx.Dial(dialCtx, b.TemporalAddress, b.TemporalNamespace, logging.Temporal(p.Log), p.PayloadKeys); err != nil {
		return nil, err
	}
	return p, nil
}

// Close releases the connections, newest first.
func (p *Process) Close() {
	if p.Temporal != nil {
		p.Temporal.Close()
	}
	if p.Redis != nil {
		_ = p.Redis.Close()
	}
	if p.Pool != nil {
		p.Pool.Close()
	}
}
