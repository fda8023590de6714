package config

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type sample struct {
	Port    int           `env:"PORT, default=8080"`
	Key     string        `env:"API_KEY" secret:"true"`
	Timeout time.Duration `env:"TIMEOUT, default=5s"`
	DB      string        `env:"DB_URL, default=postgres://app:hunter2@db:5432/x" secret:"url"`
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
