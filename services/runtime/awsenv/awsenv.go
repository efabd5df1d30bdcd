// Package awsenv builds the AWS clients fusion uses from an aws.Config
// loaded with the SDK's default chain (credentials, region and
// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<SERVICE> for emulators).
package awsenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Clients are the service clients of one configuration.
type Clients struct {
	Config      aws.Config
	S3          *s3.Client
	SQS         *sqs.Client
	SNS         *sns.Client
	EventBridge *eventbridge.Client
	DynamoDB    *dynamodb.Client
}

// Load reads the default configuration chain. pathStyle addresses S3
// buckets in the path (http://host/bucket/key), which emulators need.
func Load(ctx context.Context, pathStyle bool) (Clients, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Clients{}, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return Clients{}, fmt.Errorf("aws configuration: no region (set AWS_REGION)")
	}
	return New(cfg, pathStyle), nil
}

// New builds the clients of a configuration.
func New(cfg aws.Config, pathStyle bool) Clients {
	return Clients{
		Config: cfg,
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = pathStyle
			o.DisableLogOutputChecksumValidationSkipped = true // emulators send no checksums
		}),
		SQS:         sqs.NewFromConfig(cfg),
		SNS:         sns.NewFromConfig(cfg),
		EventBridge: eventbridge.NewFromConfig(cfg),
		DynamoDB:    dynamodb.NewFromConfig(cfg),
	}
}
