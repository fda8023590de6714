package notify

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/durapay/durapay/internal/domain/notify/messages"
)

// EmailSender sends one email and returns the provider's message ID.
type EmailSender interface {
	SendEmail(ctx context.Context, to string, e messages.Email, tags map[string]string) (string, error)
}

// SMSSender sends one text message and returns the provider's message ID.
type SMSSender interface {
	SendSMS(ctx context.Context, phone, text string) (string, error)
}

// SES sends email with SES v2.
type SES struct {
	client *sesv2.Client
	from   string
}

// NewSES returns the email sender; from is the sender address ("Durapay <receipts@...>").
// The configuration's SDK retries must be off (awsconf): a request retried after a timeout
// could send the email twice, and a notification is tried once per claim (see sends).
func NewSES(cfg aws.Config, from string) *SES {
	return &SES{client: sesv2.NewFromConfig(cfg), from: from}
}

// SendEmail sends a text and HTML email. Tags (event, merchant) reach SES's event
// publishing, to trace a bounce back to its event.
func (s *SES) SendEmail(ctx context.Context, to string, e messages.Email, tags map[string]string) (string, error) {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &sestypes.Destination{ToAddresses: []string{to}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")},
				Html: &sestypes.Content{Data: aws.String(e.HTML), Charset: aws.String("UTF-8")},
			},
		}},
	}
	for k, v := range tags {
		in.EmailTags = append(in.EmailTags, sestypes.MessageTag{Name: aws.String(k), Value: aws.String(v)})
	}
	out, err := s.client.SendEmail(ctx, in)
	if err != nil {
		return "", fmt.Errorf("SES SendEmail: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// SNS sends SMS with SNS.
type SNS struct {
	client *sns.Client
	// topicARN, when set, publishes each text to that topic with the number as an attribute
	// instead of to the number: local SNS emulators cannot send SMS. Never set in production.
	topicARN string
}

// NewSNS returns the SMS sender (SDK retries off, as NewSES's).
func NewSNS(cfg aws.Config, topicARN string) *SNS {
	return &SNS{client: sns.NewFromConfig(cfg), topicARN: topicARN}
}

// SendSMS sends a transactional text (SNS delivers those ahead of promotional ones).
func (s *SNS) SendSMS(ctx context.Context, phone, text string) (string, error) {
	in := &sns.PublishInput{
		Message: aws.String(text),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
		},
	}
	if s.topicARN != "" {
		in.TopicArn = aws.String(s.topicARN)
		in.MessageAttributes["phone_number"] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(phone)}
	} else {
		in.PhoneNumber = aws.String(phone)
	}
	out, err := s.client.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("SNS Publish: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// notSent reports whether a failed send certainly sent nothing: the provider answered with
// an error, or no connection was made. Anything else (a timeout, a connection lost after
// the request left) may have sent it.
func notSent(err error) bool {
	var answered *awshttp.ResponseError
	if errors.As(err, &answered) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
