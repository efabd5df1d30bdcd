package stack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/handled"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// Deployment names a deployed stack and its parameters.
type Deployment struct {
	StackName  string
	Parameters map[string]string // Prefix, LakeBucketName, Image, Subnets, SecurityGroups...
}

// Prefix is the deployment's naming prefix.
func (d Deployment) Prefix() string {
	if p := d.Parameters["Prefix"]; p != "" {
		return p
	}
	return "fusion"
}

// Apply creates or updates the stack and waits until it settles, then
// reconciles what some CloudFormation implementations leave out.
func Apply(ctx context.Context, c awsenv.Clients, template []byte, d Deployment) error {
	cf := cloudformation.NewFromConfig(c.Config)
	var params []cftypes.Parameter
	keys := make([]string, 0, len(d.Parameters))
	for k := range d.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		params = append(params, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(d.Parameters[k])})
	}
	caps := []cftypes.Capability{cftypes.CapabilityCapabilityIam}
	_, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &d.StackName})
	if err != nil {
		if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: &d.StackName, TemplateBody: aws.String(string(template)), Parameters: params, Capabilities: caps}); err != nil {
			return fmt.Errorf("create stack %s: %w", d.StackName, err)
		}
	} else if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: &d.StackName, TemplateBody: aws.String(string(template)), Parameters: params, Capabilities: caps}); err != nil {
		var api smithy.APIError
		if !errors.As(err, &api) || !strings.Contains(api.ErrorMessage(), "No updates") {
			return fmt.Errorf("update stack %s: %w", d.StackName, err)
		}
	}
	if err := wait(ctx, cf, d.StackName); err != nil {
		return err
	}
	if err := Reconcile(ctx, c, d); err != nil {
		return err
	}
	return reconcileSchedules(ctx, c, template, d) // schedules_apply.go
}

func wait(ctx context.Context, cf *cloudformation.Client, name string) error {
	for {
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &name})
		if err != nil {
			return err
		}
		st := out.Stacks[0]
		status := string(st.StackStatus)
		switch {
		case strings.HasSuffix(status, "_COMPLETE") && !strings.Contains(status, "ROLLBACK"):
			return nil
		case strings.HasSuffix(status, "_FAILED") || strings.Contains(status, "ROLLBACK"):
			return fmt.Errorf("stack %s: %s: %s", name, status, aws.ToString(st.StackStatusReason))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Reconcile makes sure of what the template declares but some
// CloudFormation implementations (emulators among them) do not apply: the
// lake bucket's EventBridge notifications, the topics' raw-delivery queue
// subscriptions, the queues' policy and the dedup table's TTL. On AWS it
// changes nothing.
func Reconcile(ctx context.Context, c awsenv.Clients, d Deployment) error {
	if err := reconcileTTL(ctx, c.DynamoDB, DedupTable(d.Prefix())); err != nil {
		return err
	}
	bucket := d.Parameters["LakeBucketName"]
	if _, err := c.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    &bucket,
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}},
	}); err != nil {
		return fmt.Errorf("lake bucket notifications: %w", err)
	}
	for _, t := range routing.Topics() {
		topic, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(d.Prefix() + "-" + t.Name)}) // idempotent: returns the existing ARN
		if err != nil {
			return err
		}
		subs, err := c.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil {
			return err
		}
		for _, q := range t.Queues {
			arn, err := queueArn(ctx, c.SQS, d.Prefix()+"-"+q)
			if err != nil {
				return err
			}
			subscribed := false
			for _, s := range subs.Subscriptions {
				subscribed = subscribed || aws.ToString(s.Endpoint) == arn
			}
			if subscribed {
				continue
			}
			if _, err := c.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: &arn,
				Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
				return fmt.Errorf("subscribe %s to %s: %w", q, t.Name, err)
			}
		}
	}
	return nil
}

// reconcileTTL turns on the table's TTL on the marks' expiry unless it is
// on (enabling it again is an error on AWS).
func reconcileTTL(ctx context.Context, db *dynamodb.Client, table string) error {
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		return fmt.Errorf("dedup table %s: %w", table, err)
	}
	if desc := ttl.TimeToLiveDescription; desc != nil && aws.ToString(desc.AttributeName) == handled.TTLAttribute &&
		(desc.TimeToLiveStatus == dbtypes.TimeToLiveStatusEnabled || desc.TimeToLiveStatus == dbtypes.TimeToLiveStatusEnabling) {
		return nil
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &table,
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String(handled.TTLAttribute), Enabled: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("dedup table %s: time to live: %w", table, err)
	}
	return nil
}

func queueArn(ctx context.Context, c *sqs.Client, name string) (string, error) {
	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", name, err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}
