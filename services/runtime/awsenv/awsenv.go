// Package awsenv builds the AWS clients fusion uses from an aws.Config
// loaded with the SDK's default chain (credentials, region and
// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<SERVICE> for emulators).
package awsenv

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
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
// Every call the clients make inside a recording span is traced (Traced).
func Load(ctx context.Context, pathStyle bool) (Clients, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Clients{}, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return Clients{}, fmt.Errorf("aws configuration: no region (set AWS_REGION)")
	}
	return New(Traced(cfg), pathStyle), nil
}

// Traced returns cfg with OpenTelemetry's AWS SDK instrumentation: each
// API call (S3, SQS, SNS, EventBridge, DynamoDB) made inside a recording
// span is a client span under it ("S3.PutObject", with rpc.*, aws.* and
// the service's own attributes), from the provider of that span, so it
// belongs to the worker whose handler made it. Calls outside any span — a
// queue's long polls, visibility renewals, the CLI — record nothing.
func Traced(cfg aws.Config) aws.Config {
	cfg.APIOptions = slices.Clone(cfg.APIOptions)
	otelaws.AppendMiddlewares(&cfg.APIOptions,
		otelaws.WithTracerProvider(telemetry.FollowContext()),
		otelaws.WithTextMapPropagator(telemetry.Propagator))
	return cfg
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
