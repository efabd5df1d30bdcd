//go:build aws

package cli

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// TestAWSStream streams records through the aws tier on moto: POST ->
// EventBridge -> the stream queue (SQS) -> micro-batches held with batch
// receives -> S3, whose notification starts each batch's run -> the
// warehouse, every record once; the stream queue ends empty.
func TestAWSStream(t *testing.T) {
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	p := start(t, config.Config{Home: t.TempDir(), Transport: config.TransportAWS, LakeBucket: bucket, S3PathStyle: true,
		EventBus: prefix, QueuePrefix: prefix + "-", TopicPrefix: prefix + "-", SQSVisibility: 10 * time.Second, Retries: 1, HTTPAddr: "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	addr, err := waitHTTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	cl := newStreamClient(addr)
	records, err := sample.ChurnRecords(300, sample.DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Pipelines.Get("churn_stream")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feedStream(ctx, cl, pl, records, 50, 2); err != nil {
		t.Fatal(err)
	}
	runs, err := waitStreamRuns(ctx, p, pl, int64(len(records)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Runs {
		if r.Status != ledger.Succeeded {
			t.Fatalf("run %s of %s: %s", r.ID, r.Input, r.Status)
		}
	}
	got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT customer_id), (SELECT count(*) FROM churn_stream_predictions) FROM churn_stream_customers")
	if n, _ := strconv.Atoi(got[0][0]); n < 290 || got[0][1] != got[0][0] || got[0][2] != got[0][0] {
		t.Errorf("warehouse %v: want every paying customer of 300 once, with a score", got)
	}
	url, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.Config.QueuePrefix + routing.StreamQueue)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.Config.QueuePrefix + routing.StreamQueue + "-dlq")}); err != nil {
		t.Errorf("the stack has no stream dead-letter queue: %v", err)
	}
	for {
		attrs, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		if attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the stream queue still holds %v", attrs.Attributes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
