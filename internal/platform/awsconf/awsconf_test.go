package awsconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/durapay/durapay/internal/platform/config"
)

// The keys, and a password in an emulator's or proxy's endpoint URL, stay out of the
// configuration a process prints at start.
func TestServiceIsDescribedWithItsCredentialsMasked(t *testing.T) {
	s := Service{Endpoint: "http://ops:hunter2@127.0.0.1:12190", Region: "eu-west-1", AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "hunter3"}
	want := []string{"ACCESS_KEY_ID=*****", "ENDPOINT=http://ops:*****@127.0.0.1:12190", "REGION=eu-west-1", "SECRET_ACCESS_KEY=*****"}
	if diff := cmp.Diff(want, config.Describe(&s)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}
