// durapay-dev runs Durapay locally (`make dev`): the Temporal dev server, Kafka (kfake),
// the Stripe sandbox, S3, SES and SNS emulators, migrations on the machine's Postgres and
// Redis, the workers, the notifier and frontend-api. Ctrl-C stops everything it started; the next run resumes the same state.
//
//	durapay-dev            run the platform
//	durapay-dev migrate    only apply migrations (`make migrate`)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/platform/config"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// devConfig is what `make dev` reads from the environment; each default is the local one.
type devConfig struct {
	StateDir       string   `env:"DURAPAY_STATE_DIR, default=.devstate"`
	BinDir         string   `env:"DURAPAY_BIN_DIR, default=bin"`
	DatabaseURL    string   `env:"DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/durapay?sslmode=disable"`
	RedisURL       string   `env:"REDIS_URL, default=redis://127.0.0.1:6379/0"`
	KafkaBrokers   []string `env:"KAFKA_BROKERS"`
	KafkaPort      int      `env:"DEV_KAFKA_PORT, default=9092"`
	TemporalPort   int      `env:"DEV_TEMPORAL_PORT, default=7233"`
	TemporalUIPort int      `env:"DEV_TEMPORAL_UI_PORT, default=8233"`
	SandboxPort    int      `env:"DEV_STRIPE_SANDBOX_PORT, default=12180"`
	S3Port         int      `env:"DEV_S3_PORT, default=12190"`
	SESPort        int      `env:"DEV_SES_PORT, default=12191"`
	SNSPort        int      `env:"DEV_SNS_PORT, default=12192"`
	APIAddr        string   `env:"API_ADDR, default=127.0.0.1:8080"`
	LogLevel       string   `env:"LOG_LEVEL, default=info"`
}

// devStripeKey is the secret key the workers present to the sandbox, which accepts any
// sk_test_ key; devWebhookSecret signs the sandbox's webhooks to frontend-api. Neither is a
// secret: both exist only on this machine.
const (
	devStripeKey     = "sk_test_durapay_dev_sandbox"
	devWebhookSecret = "whsec_durapay_dev_sandbox"
	devWebhookNet    = "127.0.0.2/32"
	devWebhookPorts  = "443,1024-65535"
	// auditKeysFile, in the state directory, keeps the audit log's key across runs.
	auditKeysFile = "audit-keys"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "\ndurapay-dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	var cfg devConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "migrate" {
		if err := devstack.CheckServices(ctx, cfg.DatabaseURL, cfg.RedisURL); err != nil {
			return err
		}
		if err := pg.Migrate(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
		fmt.Fprintln(out, "migrations applied to", config.Mask(cfg.DatabaseURL))
		return nil
	}

	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return err
	}
	payloadKeys, err := devstack.DevKeyring(cfg.StateDir, "temporal-payload-keys")
	if err != nil {
		return err
	}
	dataKeys, err := devstack.DevKeyring(cfg.StateDir, "data-keys")
	if err != nil {
		return err
	}
	// The audit key goes to the processes that append to the audit log, not the notifier.
	auditKeys, err := devstack.DevKeyring(cfg.StateDir, auditKeysFile)
	if err != nil {
		return err
	}
	stack, err := devstack.Start(ctx, devstack.Config{
		StateDir: cfg.StateDir, TemporalCLI: filepath.Join(cfg.BinDir, "temporal"),
		TemporalPort: cfg.TemporalPort, TemporalUIPort: cfg.TemporalUIPort, CodecEndpoint: "http://" + cfg.APIAddr + "/codec",
		DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL,
		KafkaBrokers: cfg.KafkaBrokers, KafkaPort: cfg.KafkaPort, SandboxPort: cfg.SandboxPort, S3Port: cfg.S3Port,
		SESPort: cfg.SESPort, SNSPort: cfg.SNSPort,
		SandboxWebhookURL: "http://" + cfg.APIAddr + "/v1/webhooks/stripe", SandboxWebhookSecrets: []string{devWebhookSecret},
		Log: out,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "durapay-dev: stopping Temporal, Kafka, the Stripe sandbox and the AWS emulators")
		if err := stack.Close(); err != nil {
			fmt.Fprintln(out, "durapay-dev:", err)
		}
	}()

	pool, err := pg.Connect(ctx, cfg.DatabaseURL, 2, 0)
	if err != nil {
		return err
	}
	merchant, err := devstack.SeedDevMerchant(ctx, pool, cfg.StateDir)
	pool.Close()
	if err != nil {
		return err
	}

	common := []string{
		"TEMPORAL_ADDRESS=" + stack.TemporalAddress,
		"DATABASE_URL=" + cfg.DatabaseURL,
		"REDIS_URL=" + cfg.RedisURL,
		"KAFKA_BROKERS=" + strings.Join(stack.KafkaBrokers, ","),
		"LOG_LEVEL=" + cfg.LogLevel,
		"TEMPORAL_PAYLOAD_KEYS=" + payloadKeys,
		"DATA_KEYS=" + dataKeys,
		// Webhook endpoints may be plain http on 127.0.0.2, on any unprivileged port, here
		// (run a receiver there); 127.0.0.1 and every other private address stay refused,
		// as in production.
		"WEBHOOK_ALLOW_HTTP=true", "WEBHOOK_ALLOWED_NETS=" + devWebhookNet, "WEBHOOK_ALLOWED_PORTS=" + devWebhookPorts,
	}
	common = append(common, stack.S3Env()...)
	workers, err := devstack.StartProcess("workers", filepath.Join(cfg.BinDir, "workers"), append(common,
		"STRIPE_API_BASE="+stack.SandboxURL, "STRIPE_SECRET_KEY="+devStripeKey, "AUDIT_KEYS="+auditKeys), out)
	if err != nil {
		return err
	}
	defer stopLogged(out, workers)
	notifier, err := devstack.StartProcess("notifier", filepath.Join(cfg.BinDir, "notifier"),
		append(append(common, stack.NotifierEnv()...), "PUBLIC_API_URL=http://"+cfg.APIAddr), out)
	if err != nil {
		return err
	}
	defer stopLogged(out, notifier)
	api, err := devstack.StartProcess("frontend-api", filepath.Join(cfg.BinDir, "frontend-api"), append(common,
		"API_ADDR="+cfg.APIAddr, "STRIPE_WEBHOOK_SECRETS="+devWebhookSecret, "AUDIT_KEYS="+auditKeys,
		// The dev UI has no sign-in to pass on: the codec server trusts loopback callers.
		"CODEC_AUTH=none", fmt.Sprintf("CODEC_ALLOWED_ORIGIN=http://127.0.0.1:%d", cfg.TemporalUIPort),
		"ONBOARDING_RETURN_URL=http://"+cfg.APIAddr+"/onboarding/return", "ONBOARDING_REFRESH_URL=http://"+cfg.APIAddr+"/onboarding/refresh"), out)
	if err != nil {
		return err
	}
	defer stopLogged(out, api)
	if err := waitReady(ctx, "http://"+cfg.APIAddr+"/readyz", api); err != nil {
		return err
	}
	printBanner(out, cfg, stack, merchant)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\ndurapay-dev: stopping frontend-api, the notifier and workers (draining in-flight work)")
		return nil
	case err := <-workers.Exited():
		return fmt.Errorf("workers exited: %v", err)
	case err := <-notifier.Exited():
		return fmt.Errorf("notifier exited: %v", err)
	case err := <-api.Exited():
		return fmt.Errorf("frontend-api exited: %v", err)
	}
}

func stopLogged(out io.Writer, p *devstack.Process) {
	if err := p.Stop(35 * time.Second); err != nil {
		fmt.Fprintf(out, "durapay-dev: %s: %v\n", p.Name, err)
	}
}

// waitReady polls frontend-api's readiness until it answers 200.
func waitReady(ctx context.Context, url string, p *devstack.Process) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.Exited():
			return fmt.Errorf("frontend-api exited while starting: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.New("frontend-api did not become ready within 2 minutes")
}

func printBanner(out io.Writer, cfg devConfig, s *devstack.Stack, m devstack.DevMerchant) {
	kafka := strings.Join(s.KafkaBrokers, ",")
	if s.KafkaLocal {
		kafka += " (kfake, in memory)"
	}
	fmt.Fprintf(out, `
Durapay is running.

  API               http://%[1]s
  Temporal UI       %[2]s
  Temporal gRPC     %[3]s
  Stripe sandbox    %[4]s
  S3 (reports)      %[13]s  bucket %[14]s
  SES (emails)      %[15]s/store   (what was sent)
  SNS (texts)       %[16]s  topic %[17]s
  Kafka             %[5]s   topics: %[6]s
  Postgres          %[7]s
  Redis             %[8]s
  State             %[9]s

  Development merchant %[10]s, secret key:
      %[11]s
  Staff key (admin, operator, finance) for /v1/admin/...:
      %[12]s
  Check the audit log:
      DURAPAY_KEY=%[12]s DURAPAY_AUDIT_KEYS=$(cat %[18]s) ./bin/durapay-ctl audit verify
  Stripe webhooks from the sandbox go to http://%[1]s/v1/webhooks/stripe
  Merchant webhook endpoints may be http://127.0.0.2:PORT/... here (nothing else private)

  Try it:
      curl -u %[11]s: -H 'Idempotency-Key: k1' -H 'Content-Type: application/json' \
           -d '{"amount":2000,"currency":"usd","payment_method":"pm_card_visa"}' http://%[1]s/v1/payments

Ctrl-C stops everything.
`, cfg.APIAddr, s.TemporalUI, s.TemporalAddress, s.SandboxURL, kafka, strings.Join(schemas.Topics(), ","),
		config.Mask(cfg.DatabaseURL), config.Mask(cfg.RedisURL), cfg.StateDir, m.ID, m.SecretKey, m.StaffKey, s.S3.Endpoint, s.S3.Bucket,
		s.SESURL, s.SNSURL, s.SMSTopicARN, filepath.Join(cfg.StateDir, auditKeysFile))
}
