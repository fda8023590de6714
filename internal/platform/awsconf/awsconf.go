// Package awsconf builds the AWS SDK configuration Durapay's S3, SES and SNS clients share:
// AWS itself with the SDK's default credential chain (environment, shared files, the
// instance or task role), or a local emulator with static keys.
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Service says where one AWS service is, read with a prefix (S3_, SES_, SNS_).
type Service struct {
	// Endpoint is empty for AWS itself; set, it is a local emulator's URL.
	Endpoint        string `env:"ENDPOINT"`
	Region          string `env:"REGION, default=us-east-1"`
	AccessKeyID     string `env:"ACCESS_KEY_ID" secret:"true"`
	SecretAccessKey string `env:"SECRET_ACCESS_KEY" secret:"true"`
}

// Load returns the SDK configuration for the service: static keys when given, the default
// credential chain otherwise. The SDK's retries are off: every caller has its own retry loop
// (Temporal, the Kafka consumer), and a retry inside the SDK could send an email twice.
func (s Service) Load(ctx context.Context) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(s.Region),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if s.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if s.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(s.Endpoint)
	}
	return cfg, nil
}
