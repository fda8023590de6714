package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// In production a text goes to the phone number itself (the emulators cannot text, so the
// end-to-end tests use a topic). This checks the request the SDK makes then: Publish with
// PhoneNumber, no topic, and the transactional SMS type.
func TestSMSIsPublishedToThePhoneNumber(t *testing.T) {
	var mu sync.Mutex
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		form = r.PostForm
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>msg-1</MessageId></PublishResult>` +
			`<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>`))
	}))
	defer srv.Close()
	sender := NewSNS(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}, "")
	id, err := sender.SendSMS(context.Background(), "+15550001111", "Refund of 10.00 USD")
	if err != nil || id != "msg-1" {
		t.Fatalf("SendSMS = %q, %v", id, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for field, want := range map[string]string{
		"Action": "Publish", "PhoneNumber": "+15550001111", "Message": "Refund of 10.00 USD", "TopicArn": "",
		"MessageAttributes.entry.1.Name": "AWS.SNS.SMS.SMSType", "MessageAttributes.entry.1.Value.StringValue": "Transactional",
	} {
		if got := form.Get(field); got != want {
			t.Errorf("%s = %q, want %q (form %v)", field, got, want, form)
		}
	}
}
