// Package devstack brings up Durapay's local platform: a Temporal dev server (the pinned
// CLI), a Kafka-protocol broker (kfake) unless a real one is configured, the Stripe sandbox,
// and the machine's Postgres and Redis with migrations applied. `make dev` runs it through
// devstack/cmd/durapay-dev; the end-to-end tests start the same stack on free ports.
//
// Development only: never linked into frontend-api or the workers.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/config"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/schemas"
)

// Config says where each part of the stack lives.
type Config struct {
	// StateDir keeps Temporal's SQLite file, the sandbox's objects and the dev merchant's key,
	// so that a restart resumes where the last run stopped.
	StateDir    string
	TemporalCLI string
	// TemporalPort is the gRPC port; TemporalUIPort 0 runs the server headless.
	TemporalPort   int
	TemporalUIPort int
	// CodecEndpoint is the codec server the Temporal UI decrypts payloads with.
	CodecEndpoint string
	DatabaseURL   string
	RedisURL      string
	// KafkaBrokers points at a real cluster; empty starts kfake on KafkaPort.
	KafkaBrokers []string
	KafkaPort    int
	SandboxPort  int
	S3Port       int
	// SESPort and SNSPort are the local AWS emulators' (0: free ports).
	SESPort int
	SNSPort int
	// SandboxWebhookURL receives the sandbox's signed events, signed with the secrets.
	SandboxWebhookURL     string
	SandboxWebhookSecrets []string
	// Log receives the stack's own messages.
	Log io.Writer
}

// Stack is a running local platform.
type Stack struct {
	cfg             Config
	TemporalAddress string
	TemporalUI      string // empty when headless
	SandboxURL      string
	Sandbox         *stripesandbox.Server
	KafkaBrokers    []string
	KafkaLocal      bool
	// S3 is the local S3-compatible server's configuration (reports).
	S3 objectstore.Config
	// SESURL and SNSURL are the local emulators; texts go to SMSTopicARN, whose queue
	// (SMSQueue) tests read.
	SESURL, SNSURL, SMSTopicARN string

	closers []func() error // in start order; Close runs them backwards
}

// UnavailableError says that a service the stack needs is not there, and how to start it.
type UnavailableError struct {
	Service string
	Address string
	Start   string
	Err     error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s is not reachable at %s: %v\nStart it with:\n    %s", e.Service, e.Address, e.Err, e.Start)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Start brings the stack up. On error, whatever was started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s := &Stack{cfg: cfg}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if err := CheckServices(ctx, cfg.DatabaseURL, cfg.RedisURL); err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	fmt.Fprintln(cfg.Log, "devstack: Postgres migrated, Redis reachable")
	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	if err := s.startKafka(ctx); err != nil {
		return nil, err
	}
	if err := s.startSandbox(); err != nil {
		return nil, err
	}
	s3cfg, stopS3, err := StartS3(filepath.Join(cfg.StateDir, "s3.bolt"), cfg.S3Port)
	if err != nil {
		return nil, err
	}
	s.S3 = s3cfg
	s.closers = append(s.closers, stopS3)
	fmt.Fprintf(cfg.Log, "devstack: S3 (gofakes3) on %s, bucket %s\n", s3cfg.Endpoint, s3cfg.Bucket)
	if err := s.startAWS(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SMSQueue is the emulator's queue subscribed to the SMS topic.
const SMSQueue = "durapay-sms"

// startAWS runs the SES and SNS emulators, and the topic texts are published to (goaws
// cannot send to a phone number).
func (s *Stack) startAWS(ctx context.Context) error {
	// Absolute: goaws runs in the state directory, where a relative path would not resolve.
	binDir, err := filepath.Abs(filepath.Dir(s.cfg.TemporalCLI))
	if err != nil {
		return err
	}
	sesURL, stopSES, err := StartSES(ctx, binDir, s.cfg.SESPort)
	if err != nil {
		return err
	}
	s.SESURL = sesURL
	s.closers = append(s.closers, func() error { stopSES(); return nil })
	snsURL, stopSNS, err := StartSNS(ctx, binDir, s.cfg.StateDir, s.cfg.SNSPort)
	if err != nil {
		return err
	}
	s.SNSURL = snsURL
	s.closers = append(s.closers, func() error { stopSNS(); return nil })
	if s.SMSTopicARN, err = CreateTopicQueue(ctx, s.SNSURL, SMSQueue); err != nil {
		return err
	}
	fmt.Fprintf(s.cfg.Log, "devstack: SES (aws-ses-v2-local) on %s, SNS (goaws) on %s\n", s.SESURL, s.SNSURL)
	return nil
}

// CheckServices makes sure Postgres (creating the database if it is missing) and Redis
// answer, or says which does not and how to start it.
func CheckServices(ctx context.Context, databaseURL, redisURL string) error {
	if err := pg.EnsureDatabase(ctx, databaseURL); err != nil {
		return &UnavailableError{Service: "Postgres", Address: config.Mask(databaseURL), Start: testenv.StartPostgres, Err: err}
	}
	pool, err := pg.Connect(ctx, databaseURL, 2, 0)
	if err != nil {
		return &UnavailableError{Service: "Postgres", Address: config.Mask(databaseURL), Start: testenv.StartPostgres, Err: err}
	}
	pool.Close()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.MaxRetries = -1 // one clear answer, not a retry storm in the log
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		return &UnavailableError{Service: "Redis", Address: opts.Addr, Start: testenv.StartRedis, Err: err}
	}
	return nil
}

// Close stops everything Start started, newest first.
func (s *Stack) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Stack) startTemporal(ctx context.Context) error {
	if _, err := os.Stat(s.cfg.TemporalCLI); err != nil {
		return fmt.Errorf("the Temporal CLI is not at %s (run `make tools`): %w", s.cfg.TemporalCLI, err)
	}
	s.TemporalAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.TemporalPort))
	if err := portFree(s.TemporalAddress); err != nil {
		return fmt.Errorf("temporal: %w (is another `make dev` running?)", err)
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(s.cfg.TemporalPort),
		"--db-filename", filepath.Join(s.cfg.StateDir, "temporal.db"),
		"--log-level", "error",
		// Write-ahead log, synced at checkpoints: safe across process crashes (what a dev
		// server meets) and it halves the tail latency of every workflow task here.
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		// Update-With-Start, and eager start for workflows started without one.
		"--dynamic-config-value", "frontend.enableExecuteMultiOperation=true",
		"--dynamic-config-value", "system.enableEagerWorkflowStart=true",
		"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true",
		// One partition per task queue: with a handful of pollers, a task written to a
		// partition nobody polls waits to be forwarded, which doubled create latency here.
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
	}
	if s.cfg.TemporalUIPort > 0 {
		args = append(args, "--ui-port", strconv.Itoa(s.cfg.TemporalUIPort))
		if s.cfg.CodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", s.cfg.CodecEndpoint)
		}
		s.TemporalUI = "http://127.0.0.1:" + strconv.Itoa(s.cfg.TemporalUIPort)
	} else {
		args = append(args, "--headless")
	}
	for name, typ := range schemas.SearchAttributeTypes() {
		args = append(args, "--search-attribute", name+"="+typ)
	}
	logFile, err := os.OpenFile(filepath.Join(s.cfg.StateDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.cfg.TemporalCLI, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops the
	// server last, after the processes that use it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start temporal: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.closers = append(s.closers, func() error {
		defer logFile.Close()
		return stopProcess(cmd, exited, 20*time.Second)
	})
	if err := waitForTemporal(ctx, s.TemporalAddress, exited); err != nil {
		return fmt.Errorf("%w (see %s)", err, logFile.Name())
	}
	fmt.Fprintf(s.cfg.Log, "devstack: Temporal dev server on %s\n", s.TemporalAddress)
	return nil
}

func waitForTemporal(ctx context.Context, addr string, exited <-chan error) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("temporal exited while starting: %v", werr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal did not become ready at %s: %w", addr, err)
		}
	}
}

func (s *Stack) startKafka(ctx context.Context) error {
	s.KafkaBrokers = s.cfg.KafkaBrokers
	if len(s.KafkaBrokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(s.cfg.KafkaPort))
		if err != nil {
			return fmt.Errorf("start kfake on port %d: %w", s.cfg.KafkaPort, err)
		}
		s.closers = append(s.closers, func() error { cluster.Close(); return nil })
		s.KafkaBrokers, s.KafkaLocal = cluster.ListenAddrs(), true
	}
	// A few partitions, so that ordering by key (not by topic) is what local runs exercise;
	// production sizes its topics in its own infrastructure code.
	if err := eventbus.EnsureTopics(ctx, s.KafkaBrokers, schemas.Topics(), 3, 1); err != nil {
		return err
	}
	if err := eventbus.EnsureTopics(ctx, s.KafkaBrokers, []string{eventbus.TopicDeadLetters}, eventbus.DeadLetterPartitions, 1); err != nil {
		return err
	}
	fmt.Fprintf(s.cfg.Log, "devstack: Kafka on %v (local kfake: %v), topics %v\n", s.KafkaBrokers, s.KafkaLocal, schemas.Topics())
	return nil
}

func (s *Stack) startSandbox() error {
	sb, err := stripesandbox.New(stripesandbox.Config{
		StatePath:      filepath.Join(s.cfg.StateDir, "stripe-sandbox.json"),
		WebhookURL:     s.cfg.SandboxWebhookURL,
		WebhookSecrets: s.cfg.SandboxWebhookSecrets,
		Logf:           func(format string, args ...any) { fmt.Fprintf(s.cfg.Log, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.SandboxPort)))
	if err != nil {
		_ = sb.Close()
		return fmt.Errorf("stripe sandbox: %w", err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.Sandbox, s.SandboxURL = sb, "http://"+ln.Addr().String()
	s.closers = append(s.closers, func() error {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(srv.Shutdown(shutdownCtx), sb.Close())
	})
	fmt.Fprintf(s.cfg.Log, "devstack: Stripe sandbox on %s\n", s.SandboxURL)
	return nil
}

func portFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is already in use", addr)
	}
	return ln.Close()
}

// FreePort asks the kernel for a port nobody uses, for tests.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// quietLogger drops the SDK's connection chatter while the server starts.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// S3Env is the S3_* environment that points a process at the local S3 server.
func (s *Stack) S3Env() []string {
	return []string{"S3_ENDPOINT=" + s.S3.Endpoint, "S3_REGION=" + s.S3.Region, "S3_BUCKET=" + s.S3.Bucket,
		"S3_ACCESS_KEY_ID=" + s.S3.AccessKeyID, "S3_SECRET_ACCESS_KEY=" + s.S3.SecretAccessKey, "S3_FORCE_PATH_STYLE=true"}
}

// NotifierEnv points the notifier at the local SES and SNS.
func (s *Stack) NotifierEnv() []string {
	var env []string
	for _, svc := range []struct{ prefix, url string }{{"SES_", s.SESURL}, {"SNS_", s.SNSURL}} {
		env = append(env, svc.prefix+"ENDPOINT="+svc.url, svc.prefix+"REGION="+LocalAWSRegion,
			svc.prefix+"ACCESS_KEY_ID="+LocalAWSKey, svc.prefix+"SECRET_ACCESS_KEY="+LocalAWSSecret)
	}
	return append(env, "SMS_TOPIC_ARN="+s.SMSTopicARN)
}

// DevKeyring returns a development keyring spec (one key), creating it in the state
// directory on the first run: a later run must read what the earlier one encrypted.
func DevKeyring(stateDir, name string) (string, error) {
	path := filepath.Join(stateDir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	spec, err := keyring.GenerateKey("dev1")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save %s: %w", name, err)
	}
	return spec, nil
}
