package devstack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/durapay/durapay/internal/platform/testenv"
)

// emulatorBinDir is ./bin, where `make tools` installs the emulators; the test skips (fails
// in CI) when the one it needs is missing.
func emulatorBinDir(t *testing.T, path func(binDir string) string, name string) string {
	t.Helper()
	binDir, err := filepath.Abs(testenv.Getenv("DURAPAY_BIN", "../bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path(binDir)); err != nil {
		testenv.Unavailable(t, name, err, testenv.BuildTools)
	}
	return binDir
}

func TestSESEmulatorStoresWhatSendEmailSent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	binDir := emulatorBinDir(t, sesLocalPath, "aws-ses-v2-local")
	url, stop, err := StartSES(ctx, binDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	// The client as a service would build it: only the endpoint differs from production.
	client := sesv2.New(sesv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")})
	out, err := client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Durapay <no-reply@durapay.test>"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"ops@merchant.test", "cfo@merchant.test"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Finish onboarding"), Charset: aws.String("UTF-8")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String("Open https://durapay.test/onboard/abc")},
				Html: &sestypes.Content{Data: aws.String(`<p>Open <a href="https://durapay.test/onboard/abc">the link</a></p>`)},
			},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	if aws.ToString(out.MessageId) == "" {
		t.Fatal("SendEmail returned no MessageId")
	}

	sent, err := SentEmails(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 {
		t.Fatalf("store holds %d emails, want 1: %+v", len(sent), sent)
	}
	if d := time.Since(sent[0].At); d < -2*time.Second || d > time.Minute {
		t.Errorf("At = %v, want about now", sent[0].At)
	}
	sent[0].At = time.Time{}
	want := SentEmail{MessageID: aws.ToString(out.MessageId), From: "Durapay <no-reply@durapay.test>",
		To: []string{"ops@merchant.test", "cfo@merchant.test"}, Subject: "Finish onboarding",
		Text: "Open https://durapay.test/onboard/abc", HTML: `<p>Open <a href="https://durapay.test/onboard/abc">the link</a></p>`}
	if d := cmp.Diff(want, sent[0]); d != "" {
		t.Errorf("stored email (-want +got):\n%s", d)
	}

	// The shared helper builds the same client.
	if _, err := SESClient(url).SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("no-reply@durapay.test"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"a@merchant.test"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("Second")},
			Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("text only")}}}},
	}); err != nil {
		t.Fatalf("SendEmail with SESClient: %v", err)
	}
	sent, err = SentEmails(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[1].Subject != "Second" || sent[1].Text != "text only" || sent[1].HTML != "" {
		t.Errorf("second email: %+v", sent)
	}
}

func TestSNSEmulatorDeliversTopicMessagesToItsQueue(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	binDir := emulatorBinDir(t, func(d string) string { return filepath.Join(d, "goaws") }, "goaws")
	// A relative state directory, as make dev's .devstate is (removed after the test).
	stateDir, err := os.MkdirTemp(".", ".goaws-state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(stateDir) })
	url, stop, err := StartSNS(ctx, binDir, stateDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	const purpose = "durapay-sms-login-code"
	topicARN, err := CreateTopicQueue(ctx, url, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sns:us-east-1:000000000000:" + purpose; topicARN != want {
		t.Errorf("topic ARN = %s, want %s", topicARN, want)
	}
	if again, err := CreateTopicQueue(ctx, url, purpose); err != nil || again != topicARN {
		t.Fatalf("CreateTopicQueue again = %q, %v; want %q (idempotent)", again, err, topicARN)
	}

	client := sns.New(sns.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")})
	for _, msg := range []string{"Your Durapay code is 123456", "Your Durapay code is 654321"} {
		out, err := client.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicARN), Message: aws.String(msg),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"phone_number": {DataType: aws.String("String"), StringValue: aws.String("+447700900123")}}})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if aws.ToString(out.MessageId) == "" {
			t.Error("Publish returned no MessageId")
		}
	}
	got, err := ReceivedSNS(ctx, url, purpose)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"Your Durapay code is 123456", "Your Durapay code is 654321"}, got); d != "" {
		t.Errorf("received (-want +got):\n%s", d)
	}
	if got, err := ReceivedSNS(ctx, url, purpose); err != nil || len(got) != 0 {
		t.Errorf("second ReceivedSNS = %q, %v; want nothing (the first drained the queue)", got, err)
	}

	// goaws has no SMS: Publish to a PhoneNumber is refused, which is why SMS go to a topic.
	// (Its error code is AWS.SimpleNotificationService.InvalidParameterValue.)
	_, err = client.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+447700900123"), Message: aws.String("hi")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !strings.HasSuffix(apiErr.ErrorCode(), "InvalidParameterValue") {
		t.Errorf("Publish to a PhoneNumber: err = %v, want InvalidParameterValue (if goaws learnt SMS, use it)", err)
	}
}

// A queue subscribed without raw delivery receives SNS's JSON envelope; ReceivedSNS unwraps it.
func TestReceivedSNSUnwrapsTheEnvelope(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	binDir := emulatorBinDir(t, func(d string) string { return filepath.Join(d, "goaws") }, "goaws")
	url, stop, err := StartSNS(ctx, binDir, t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	topic, err := SNSClient(url).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SQSClient(url).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events-envelope")}); err != nil {
		t.Fatal(err)
	}
	if _, err := SNSClient(url).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:events-envelope")}); err != nil {
		t.Fatal(err)
	}
	if _, err := SNSClient(url).Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(`{"k":"v"}`),
		Subject: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	got, err := ReceivedSNS(ctx, url, "events-envelope")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{`{"k":"v"}`}, got); d != "" {
		t.Errorf("received (-want +got):\n%s", d)
	}
}

func TestStartSESOnAGivenPort(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	binDir := emulatorBinDir(t, sesLocalPath, "aws-ses-v2-local")
	port, err := randomFreePort()
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := StartSES(ctx, binDir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if want := "http://127.0.0.1:" + strconv.Itoa(port); url != want {
		t.Errorf("url = %s, want %s", url, want)
	}
	// A second emulator on the same port is refused before it starts.
	if _, stop2, err := StartSES(ctx, binDir, port); err == nil {
		stop2()
		t.Error("StartSES on a busy port succeeded")
	}
	if sent, err := SentEmails(ctx, url); err != nil || len(sent) != 0 {
		t.Errorf("fresh store = %v, %v; want empty", sent, err)
	}
}
