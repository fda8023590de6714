package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type sample struct {
	Port    int           `env:"PORT, default=8080"`
	Key     string        `env:"API_KEY" secret:"true"`
	Timeout time.Duration `env:"TIMEOUT, default=5s"`
	DB      string        `env:"DB_URL, default=postgres://app:hunter2@db:5432/x"`
	Nested  struct {
		Queues []string `env:"QUEUES, default=a,b"`
	}
	S3 struct {
		Secret string `env:"SECRET" secret:"true"`
		Bucket string `env:"BUCKET, default=reports"`
	} `env:", prefix=S3_"`
}

func TestLoadAndDescribe(t *testing.T) {
	env := map[string]string{"API_KEY": "sk_test_secret", "QUEUES": "payments", "S3_SECRET": "s3cret"}
	var cfg sample
	if err := Load(context.Background(), func(k string) string { return env[k] }, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8080 || cfg.Timeout != 5*time.Second || cfg.Key != "sk_test_secret" || !cmp.Equal(cfg.Nested.Queues, []string{"payments"}) || cfg.S3.Secret != "s3cret" {
		t.Fatalf("cfg = %+v", cfg)
	}
	want := []string{"API_KEY=*****", "DB_URL=postgres://app:*****@db:5432/x", "PORT=8080", "QUEUES=[payments]", "S3_BUCKET=reports", "S3_SECRET=*****", "TIMEOUT=5s"}
	if diff := cmp.Diff(want, Describe(&cfg)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	var fresh sample
	if err := Load(context.Background(), func(k string) string { return map[string]string{"PORT": "eighty"}[k] }, &fresh); err == nil {
		t.Error("a malformed value was accepted")
	}
}

// TestDescribeMasksEveryFormOfSecret lists the forms a secret takes in a connection string:
// each must come out masked, and the rest of the value stay readable, whether or not the
// field is tagged: a URL setting added without a tag must not print its password either.
func TestDescribeMasksEveryFormOfSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, want string
	}{
		{"plain URL", "postgres://app:hunter2@db:5432/x?sslmode=disable", "postgres://app:*****@db:5432/x?sslmode=disable"},
		{"URL-encoded password", "postgres://app:hunter%402@db/x", "postgres://app:*****@db/x"},
		{"password with an unescaped @", "postgres://app:hunter@2@db/x", "postgres://app:*****@db/x"},
		{"password with an unescaped / and ?", "postgres://app:hun/ter?2@db/x", "postgres://app:*****@db/x"},
		{"userinfo with no password", "postgres://postgres@127.0.0.1:5432/durapay?sslmode=disable", "postgres://postgres@127.0.0.1:5432/durapay?sslmode=disable"},
		{"no userinfo", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"empty", "", ""},
		{"password query parameter", "postgres://app@db/x?sslmode=require&password=hunter2", "postgres://app@db/x?sslmode=require&password=*****"},
		{"sslpassword query parameter", "postgres://app@db/x?sslpassword=hunter2&sslmode=verify-full", "postgres://app@db/x?sslpassword=*****&sslmode=verify-full"},
		{"upper-case and encoded parameters", "postgres://app@db/x?PASSWORD=hunter2&pass%77ord=hunter3", "postgres://app@db/x?PASSWORD=*****&pass%77ord=*****"},
		{"secret and token parameters", "https://idp.example/x?client_secret=hunter2&access_token=hunter3&api_key=hunter4&page=2",
			"https://idp.example/x?client_secret=*****&access_token=*****&api_key=*****&page=2"},
		{"userinfo and a query password", "postgres://app:hunter2@db/x?password=hunter3", "postgres://app:*****@db/x?password=*****"},
		{"key=value DSN", "host=db user=app password=hunter2 dbname=x", "host=db user=app password=***** dbname=x"},
		{"key=value DSN with quotes", `host=db password='hunter 2\'s' sslpassword = 'hunter3' dbname=x`, "host=db password=***** sslpassword = ***** dbname=x"},
		{"key=value DSN, unterminated quote", "host=db password='hunter2 dbname=x", "host=db password=*****"},
		{"rediss:// URL", "rediss://default:hunter2@cache.example:6380/0", "rediss://default:*****@cache.example:6380/0"},
		{"redis password only", "redis://:hunter2@127.0.0.1:6379/0", "redis://:*****@127.0.0.1:6379/0"},
		{"several URLs, comma-separated", "redis://:hunter2@h1:6379,redis://h2:6379,rediss://u:hunter3@h3:6380",
			"redis://:*****@h1:6379,redis://h2:6379,rediss://u:*****@h3:6380"},
		{"several hosts in one URL", "postgres://app:hunter2@h1:5432,h2:5432/x?target_session_attrs=read-write",
			"postgres://app:*****@h1:5432,h2:5432/x?target_session_attrs=read-write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := struct {
				URL string `env:"URL"`
			}{tt.value}
			got := Describe(&cfg)
			if diff := cmp.Diff([]string{"URL=" + tt.want}, got); diff != "" {
				t.Errorf("Describe(%q) (-want +got):\n%s", tt.value, diff)
			}
			for _, secret := range []string{"hunter", "%40"} {
				if strings.Contains(got[0], secret) {
					t.Errorf("Describe(%q) = %q: the secret shows", tt.value, got[0])
				}
			}
		})
	}
	list := struct {
		URLs []string `env:"URLS"`
	}{[]string{"redis://:hunter2@h1:6379", "redis://h2:6379"}}
	if diff := cmp.Diff([]string{"URLS=[redis://:*****@h1:6379 redis://h2:6379]"}, Describe(&list)); diff != "" {
		t.Errorf("Describe of a list of URLs (-want +got):\n%s", diff)
	}
}
