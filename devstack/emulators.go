package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Local AWS emulators: SES v2 (aws-ses-v2-local, npm) and SNS+SQS (goaws), both built into
// ./bin by `make tools`. Durapay's clients talk to them with the real aws-sdk-go-v2 clients,
// BaseEndpoint set to the emulator's URL; neither checks signatures, so any static
// credentials do (the SES emulator only wants an `Authorization: AWS...` header).
const (
	LocalAWSRegion    = "us-east-1"
	LocalAWSAccountID = "000000000000" // in goaws's topic and queue ARNs
	LocalAWSKey       = "durapay-local"
	LocalAWSSecret    = "durapay-local-secret"
)

// sesLocalPath is where `make tools` installs aws-ses-v2-local (npm install --prefix bin/ses).
func sesLocalPath(binDir string) string {
	return filepath.Join(binDir, "ses", "node_modules", ".bin", "aws-ses-v2-local")
}

// StartSES runs aws-ses-v2-local on port (0: a free one) and returns its base URL and a stop function.
//
// The emulator (a Node.js script: `node` must be on PATH) implements the SES v2 REST API
// (SendEmail with Simple, Raw or Template content, SendBulkEmail, templates, GetAccount) and
// the v1 SendEmail/SendRawEmail, keeps what was sent in memory, and serves it at GET /store
// (see SentEmails); POST /clear-store empties it. It listens on 127.0.0.1 only.
func StartSES(ctx context.Context, binDir string, port int) (url string, stop func(), err error) {
	path := sesLocalPath(binDir)
	if _, err := os.Stat(path); err != nil {
		return "", nil, fmt.Errorf("aws-ses-v2-local is not at %s (run `make tools`): %w", path, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", nil, fmt.Errorf("aws-ses-v2-local needs node on PATH: %w", err)
	}
	return startOnPort(port, "aws-ses-v2-local", func(port int) (string, func(), error) {
		cmd := exec.Command(path, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		// SMTP_TRANSPORT would make it forward every email to a real SMTP server.
		cmd.Env = withoutEnv(os.Environ(), "SMTP_TRANSPORT")
		out := &tailBuffer{max: 4096}
		cmd.Stdout, cmd.Stderr = out, out
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		stop, err := startAndWait(ctx, cmd, "aws-ses-v2-local", url+"/health-check", out.String)
		return url, stop, err
	})
}

// SESClient is an aws-sdk-go-v2 SES v2 client for the emulator at url.
func SESClient(url string) *sesv2.Client {
	return sesv2.New(sesv2.Options{Region: LocalAWSRegion, BaseEndpoint: aws.String(url), Credentials: localCredentials()})
}

// SentEmail is one email the SES emulator accepted, as its store reports it.
type SentEmail struct {
	MessageID string // the SendEmail response's MessageId ("ses-" and nine digits)
	From      string
	To        []string
	Subject   string
	Text      string // empty when the email has no text body
	HTML      string // empty when the email has no HTML body
	At        time.Time
}

// sesStore is GET /store's JSON (aws-ses-v2-local 2.10.2, src/store.ts):
//
//	{
//	  "templates": {"NAME": {"TemplateName": ..., "TemplateContent": {"Subject", "Html", "Text"}, "CreatedTimestamp": ...}},
//	  "emails": [{
//	    "messageId": "ses-123456789",
//	    "from": "billing@durapay.test",            // FromEmailAddress as sent
//	    "replyTo": ["..."],
//	    "destination": {"to": ["..."], "cc": [], "bcc": []},
//	    "subject": "...",
//	    "body": {"text": "...", "html": "..."},     // either may be absent
//	    "attachments": [{"content": "<base64>", "contentType": "...", "filename": "...", "size": 12}],
//	    "headers": [{"name": "...", "value": "..."}], // absent without custom headers
//	    "at": 1764470000                            // Unix seconds
//	  }]
//	}
//
// Emails come in the order they were sent; ?since=UNIX_SECONDS keeps those with at >= since.
// For Raw content the fields are what mailparser read from the MIME message (addresses as
// display text such as `"Name" <a@b>`).
type sesStore struct {
	Emails []struct {
		MessageID   string `json:"messageId"`
		From        string `json:"from"`
		Destination struct {
			To []string `json:"to"`
		} `json:"destination"`
		Subject string `json:"subject"`
		Body    struct {
			Text string `json:"text"`
			HTML string `json:"html"`
		} `json:"body"`
		At int64 `json:"at"`
	} `json:"emails"`
}

// SentEmails returns every email the SES emulator at sesURL has accepted, oldest first.
func SentEmails(ctx context.Context, sesURL string) ([]SentEmail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(sesURL, "/")+"/store", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("SES emulator store: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("SES emulator store: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SES emulator store: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var store sesStore
	if err := json.Unmarshal(body, &store); err != nil {
		return nil, fmt.Errorf("SES emulator store: %w", err)
	}
	emails := make([]SentEmail, 0, len(store.Emails))
	for _, e := range store.Emails {
		emails = append(emails, SentEmail{MessageID: e.MessageID, From: e.From, To: e.Destination.To,
			Subject: e.Subject, Text: e.Body.Text, HTML: e.Body.HTML, At: time.Unix(e.At, 0)})
	}
	return emails, nil
}

// StartSNS runs goaws on port (0: a free one) with a config file written to dir, and returns its base URL and a stop function.
//
// goaws serves SNS (awsquery) and SQS (awsquery and the JSON protocol that current
// aws-sdk-go-v2 uses) on the same port, bound to 0.0.0.0 whatever the config says. Its ARNs
// are arn:aws:sns:us-east-1:000000000000:NAME and arn:aws:sqs:us-east-1:000000000000:NAME;
// queue URLs look like http://us-east-1.127.0.0.1:PORT/000000000000/NAME (goaws only reads the
// last path segment, and the SDK sends to BaseEndpoint, so the odd host does not matter).
// State is in memory. Its log goes to dir/goaws.log.
//
// Publish needs a TopicArn: goaws accepts but ignores PhoneNumber (and TargetArn), so an SMS
// cannot be sent to a number. Publish the SMS to a per-purpose topic instead (CreateTopicQueue)
// and read it back with ReceivedSNS.
func StartSNS(ctx context.Context, binDir, dir string, port int) (url string, stop func(), err error) {
	path := filepath.Join(binDir, "goaws")
	if _, err := os.Stat(path); err != nil {
		return "", nil, fmt.Errorf("goaws is not at %s (run `make tools`): %w", path, err)
	}
	// goaws runs in dir and is given its config by path: a relative dir (make dev's
	// .devstate) would be looked up from inside itself.
	if dir, err = filepath.Abs(dir); err != nil {
		return "", nil, fmt.Errorf("goaws directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("goaws directory: %w", err)
	}
	return startOnPort(port, "goaws", func(port int) (string, func(), error) {
		// Without -config goaws searches the working directory tree for a goaws.yaml, so the
		// config is always explicit. Host and Port only shape the URLs it hands out.
		config := fmt.Sprintf(`# written by devstack.StartSNS
Local:
  Host: 127.0.0.1
  Port: "%d"
  Region: %s
  AccountId: "%s"
  LogToFile: false
  EnableDuplicates: false
  QueueAttributeDefaults:
    VisibilityTimeout: 30
    ReceiveMessageWaitTimeSeconds: 0
    MaximumMessageSize: 262144
`, port, LocalAWSRegion, LocalAWSAccountID)
		configPath := filepath.Join(dir, "goaws.yaml")
		if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
			return "", nil, fmt.Errorf("goaws config: %w", err)
		}
		logFile, err := os.OpenFile(filepath.Join(dir, "goaws.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command(path, "-config", configPath, "-loglevel", "warn", "Local")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logFile, logFile
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		stop, err := startAndWait(ctx, cmd, "goaws", url+"/health", func() string { return "see " + logFile.Name() })
		if err != nil {
			logFile.Close()
			return "", nil, err
		}
		return url, func() { stop(); logFile.Close() }, nil
	})
}

// SNSClient and SQSClient are aws-sdk-go-v2 clients for the goaws emulator at url.
func SNSClient(url string) *sns.Client {
	return sns.New(sns.Options{Region: LocalAWSRegion, BaseEndpoint: aws.String(url), Credentials: localCredentials()})
}

// SQSClient: see SNSClient.
func SQSClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{Region: LocalAWSRegion, BaseEndpoint: aws.String(url), Credentials: localCredentials()})
}

func localCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(LocalAWSKey, LocalAWSSecret, "")
}

// CreateTopicQueue creates (idempotently) the SNS topic name and an SQS queue of the same
// name subscribed to it with raw message delivery, and returns the topic's ARN: what is
// published to the topic can then be read back with ReceivedSNS(ctx, snsURL, name). This is
// how SMS are emulated: one topic per purpose (say durapay-sms-otp), the phone number in
// the message or a message attribute.
func CreateTopicQueue(ctx context.Context, snsURL, name string) (topicARN string, err error) {
	topic, err := SNSClient(snsURL).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	if _, err := SQSClient(snsURL).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)}); err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	queueARN := "arn:aws:sqs:" + LocalAWSRegion + ":" + LocalAWSAccountID + ":" + name
	// goaws ignores a second subscription of the same endpoint to the same topic.
	if _, err := SNSClient(snsURL).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueARN), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		return "", fmt.Errorf("subscribe queue %s to topic %s: %w", name, name, err)
	}
	return aws.ToString(topic.TopicArn), nil
}

// ReceivedSNS drains the SQS queue queueName on the goaws emulator at snsURL and returns the
// message bodies, oldest first: what was published to the topics the queue is subscribed
// to. Messages read are deleted, so a second call returns only what arrived since. A
// non-raw subscription's SNS envelope ({"Type":"Notification","Message":...}) is unwrapped.
func ReceivedSNS(ctx context.Context, snsURL, queueName string) ([]string, error) {
	client := SQSClient(snsURL)
	q, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queueName)})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", queueName, err)
	}
	var bodies []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", queueName, err)
		}
		if len(out.Messages) == 0 {
			return bodies, nil
		}
		for _, m := range out.Messages {
			bodies = append(bodies, unwrapSNSEnvelope(aws.ToString(m.Body)))
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("delete from %s: %w", queueName, err)
			}
		}
	}
}

func unwrapSNSEnvelope(body string) string {
	var env struct {
		Type     string
		TopicArn string
		Message  *string
	}
	if json.Unmarshal([]byte(body), &env) == nil && env.Type == "Notification" && env.TopicArn != "" && env.Message != nil {
		return *env.Message
	}
	return body
}

// startOnPort runs start on port, which must be free; port 0 picks a free one at random
// below the kernel's ephemeral range (FreePort's ports are in that range, where the tests'
// own client connections can take them again before the emulator binds them), and tries
// again with another if the emulator exits while starting (someone took the port).
func startOnPort(port int, name string, start func(port int) (string, func(), error)) (string, func(), error) {
	if port != 0 {
		if err := portFree(net.JoinHostPort("0.0.0.0", strconv.Itoa(port))); err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
		return start(port)
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if port, err = randomFreePort(); err != nil {
			return "", nil, err
		}
		var url string
		var stop func()
		if url, stop, err = start(port); !errors.Is(err, errExitedWhileStarting) {
			return url, stop, err
		}
	}
	return "", nil, err
}

// randomFreePort returns a port in [20000, 32768) nobody listens on (on any address).
func randomFreePort() (int, error) {
	for range 50 {
		port := 20000 + rand.IntN(32768-20000)
		if portFree(net.JoinHostPort("0.0.0.0", strconv.Itoa(port))) == nil {
			return port, nil
		}
	}
	return 0, errors.New("no free port in 20000-32767")
}

var errExitedWhileStarting = errors.New("exited while starting")

// startAndWait starts cmd in its own process group and waits until healthURL answers 200.
// The returned function stops it (SIGTERM, then SIGKILL after 5 s).
func startAndWait(ctx context.Context, cmd *exec.Cmd, name, healthURL string, output func() string) (func(), error) {
	// Its own process group, as for Temporal: the dev supervisor stops it after its users.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() { once.Do(func() { _ = stopProcess(cmd, exited, 5*time.Second) }) }
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
			err = errors.New(resp.Status)
		}
		lastErr = err
		select {
		case werr := <-exited:
			return nil, fmt.Errorf("%s %w: %v\n%s", name, errExitedWhileStarting, werr, output())
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s did not answer at %s: %v\n%s", name, healthURL, lastErr, output())
		}
	}
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
