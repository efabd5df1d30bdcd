//go:build aws

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/deploy"
	"github.com/fusiondata/fusion/deploy/stack"
	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// onAWS deploys the stack onto the emulator and runs every worker on the
// aws tier: EventBridge -> SQS -> workers -> S3.
func onAWS(t *testing.T) (*platform.Platform, awsenv.Clients) {
	t.Helper()
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	cfg := config.Config{Home: t.TempDir(), Transport: config.TransportAWS, LakeBucket: bucket, S3PathStyle: true,
		EventBus: prefix, QueuePrefix: prefix + "-", TopicPrefix: prefix + "-", SQSVisibility: 10 * time.Second, Retries: 1}
	p := start(t, cfg)
	return p, c
}

// deployStack deploys the sample's stack onto the emulator under a prefix
// of its own (each test deploys its own) and returns it and the lake bucket.
func deployStack(t *testing.T, c awsenv.Clients) (prefix, bucket string) {
	t.Helper()
	prefix = awstest.Name("f")
	bucket = prefix + "-lake"
	reg, err := pipeline.NewRegistry(deploy.Pipelines(), "deploy/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := stack.Render(reg.All())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := stack.Apply(ctx, c, tpl, stack.Deployment{StackName: prefix, Parameters: map[string]string{
		"Prefix": prefix, "LakeBucketName": bucket, "Subnets": "subnet-0123", "SecurityGroups": "sg-0123",
	}}); err != nil {
		t.Fatal(err)
	}
	return prefix, bucket
}

func putObject(t *testing.T, c awsenv.Clients, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func waitRun(t *testing.T, p *platform.Platform, key string) ledger.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := waitForRun(ctx, p.Ledger, key, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("%s: %v (run %+v)", key, err, r)
	}
	return r
}

func sampleCSV(t *testing.T, rows int) []byte {
	code, out, _ := fusion(t, "sample", "--rows", strconv.Itoa(rows))
	if code != 0 {
		t.Fatal("sample failed")
	}
	return []byte(out)
}

// TestAWSChurnEndToEnd lands the sample in S3 and expects the same
// warehouse as the embedded run: every customer once, lightgbm's scores.
func TestAWSChurnEndToEnd(t *testing.T) {
	p, c := onAWS(t)
	key := "landing/churn/customers.csv"
	putObject(t, c, p.Config.LakeBucket, key, sampleCSV(t, 10000))
	r := waitRun(t, p, key)
	if r.Status != ledger.Succeeded || len(r.Steps) != 6 {
		t.Fatalf("run %+v", r)
	}
	ref := reference(t)
	if got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT customer_id) FROM churn_customers"); got[0][0] != strconv.Itoa(len(ref)) || got[0][1] != got[0][0] {
		t.Errorf("churn_customers %v, want %d", got, len(ref))
	}
	worst := 0.0
	preds := query(t, p.Config.Home, "SELECT customer_id, score FROM churn_predictions")
	for _, row := range preds {
		s, _ := strconv.ParseFloat(row[1], 64)
		worst = math.Max(worst, math.Abs(s-ref[row[0]][0]))
	}
	if len(preds) != len(ref) || worst > 1e-6 {
		t.Errorf("%d predictions, max difference %g", len(preds), worst)
	}
	// The lake is S3: the landed bytes kept in raw/, landing emptied.
	objs, err := p.Lake.List(context.Background(), "raw/churn/"+r.ID+"/")
	if err != nil || len(objs) != 2 {
		t.Errorf("raw objects %v %v", objs, err)
	}
	if objs, _ := p.Lake.List(context.Background(), "landing/"); len(objs) != 0 {
		t.Errorf("landing not emptied: %v", objs)
	}
}

// TestAWSClassicNotifications delivers S3's classic Records[] event
// notifications to the ingest queue instead of EventBridge events.
func TestAWSClassicNotifications(t *testing.T) {
	p, c := onAWS(t)
	ctx := context.Background()
	bucket := p.Config.LakeBucket
	url, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.Config.QueuePrefix + "ingest")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, _ := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if _, err := c.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: &bucket,
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(attrs.Attributes["QueueArn"]), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}}}); err != nil {
		t.Fatal(err)
	}
	key := "landing/churn/march customers (1).csv" // classic notifications URL-encode keys
	putObject(t, c, bucket, key, sampleCSV(t, 300))
	r := waitRun(t, p, key)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run %+v", r)
	}
}

// dead reads a dead letter from a worker's dead-letter queue.
func dead(t *testing.T, c awsenv.Clients, p *platform.Platform, queue string) sqstypes.Message {
	t.Helper()
	ctx := context.Background()
	url, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.Config.QueuePrefix + queue + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			m := out.Messages[0]
			c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: m.ReceiptHandle})
			return m
		}
	}
	t.Fatalf("nothing reached %s%s-dlq", p.Config.QueuePrefix, queue)
	return sqstypes.Message{}
}

func send(t *testing.T, c awsenv.Clients, p *platform.Platform, queue string, body string) {
	t.Helper()
	ctx := context.Background()
	url, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p.Config.QueuePrefix + queue)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
}

// TestAWSBadEventsGoToTheDLQ sends what no worker can use; each lands in
// the dead-letter queue with its reason and the workers carry on.
func TestAWSBadEventsGoToTheDLQ(t *testing.T) {
	p, c := onAWS(t)
	ingested, _ := messages.New(&messages.DatasetIngested{RunRef: messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "churn"},
		Raw: messages.ObjectRef{Key: "raw/churn/x.csv"}, Dataset: messages.DatasetRef{Name: "churn.raw", Objects: []string{"raw/churn/x.parquet"}}}, time.Now())
	body, _ := ingested.Marshal()
	unknownVersion := strings.Replace(string(body), messages.TypeDatasetIngested, "fusion.dataset.ingested.v9", 1)
	traversal, _ := messages.NewObjectCreated(p.Config.LakeBucket, messages.CreatedObject{Key: "landing/../etc/passwd", Size: 1, Sequencer: "01"}, time.Now())
	traversalBody, _ := traversal.Marshal()
	absolute := strings.Replace(string(traversalBody), "landing/../etc/passwd", "/etc/passwd", 1)
	oversize := `{"version":"0","id":"x","detail-type":"` + messages.TypeDatasetIngested + `","source":"fusion.ingest","time":"2026-11-21T00:00:00Z","resources":[],"detail":{"pad":"` + strings.Repeat("x", 300*1024) + `"}}`

	cases := []struct{ queue, body, reason string }{
		{"transform", "this is not JSON {", "malformed event"},
		{"transform", unknownVersion, `unknown event type: worker transform does not consume "fusion.dataset.ingested.v9"`},
		{"ingest", string(traversalBody), `contains a ".." segment`},
		{"ingest", absolute, "is an absolute path"},
		{"loader", oversize, "event too large"},
	}
	for _, cs := range cases {
		send(t, c, p, cs.queue, cs.body)
		m := dead(t, c, p, cs.queue)
		reason := aws.ToString(m.MessageAttributes["dead_letter_reason"].StringValue)
		if !strings.Contains(reason, cs.reason) {
			t.Errorf("%s: reason %q, want %q", cs.queue, reason, cs.reason)
		}
		if cs.reason == "event too large" {
			var pointer struct {
				Body messages.ObjectRef `json:"dead_letter_body"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &pointer); err != nil || pointer.Body.Size <= 300*1024 {
				t.Errorf("oversize dead letter: %s", aws.ToString(m.Body))
			} else if obj, err := p.Lake.Stat(context.Background(), pointer.Body.Key); err != nil || obj.Size != pointer.Body.Size {
				t.Errorf("the oversize body was not kept: %v", err)
			}
		}
	}
	// The workers carry on.
	key := "landing/churn/after.csv"
	putObject(t, c, p.Config.LakeBucket, key, sampleCSV(t, 200))
	if r := waitRun(t, p, key); r.Status != ledger.Succeeded {
		t.Fatalf("run after bad events: %+v", r)
	}
	_ = fmt.Sprint
}

// On the aws tier a run whose transform failed for good sits in the SQS
// dead-letter queue; after the pipeline is fixed, a redrive of that run
// continues it from the transform to the warehouse.
func TestAWSRedriveContinuesTheRun(t *testing.T) {
	p, c := onAWS(t)
	file := filepath.Join(p.Config.PipelinesDir(), "churn.yaml")
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "FROM input", "FROM input WHERE colour = 'red'", 1)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the registry looks for changes every second
	key := "landing/churn/redrive.csv"
	putObject(t, c, p.Config.LakeBucket, key, sampleCSV(t, 200))
	r := waitRun(t, p, key)
	if r.Status != ledger.Failed {
		t.Fatalf("run %+v", r)
	}
	if err := os.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	letters := waitDeadLetters(t, p, r.ID)
	if len(letters) != 1 || letters[0].Queue != "transform" || !strings.Contains(letters[0].Reason(), "transform.sql") {
		t.Fatalf("dead letters of %s: %d (%v)", r.ID, len(letters), letters)
	}
	if err := p.DeadLetters().Redrive(context.Background(), letters); err != nil {
		t.Fatal(err)
	}
	waitSucceeded(t, p, r.ID)
	if got := query(t, p.Config.Home, "SELECT count(*) FROM churn_customers"); got[0][0] == "0" {
		t.Errorf("nothing loaded: %v", got)
	}
}

// waitDeadLetters waits until a run has dead letters and returns them.
func waitDeadLetters(t *testing.T, p *platform.Platform, runID string) []transport.DeadLetter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		all, err := p.DeadLetters().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if letters := matching(all, runID); len(letters) > 0 {
			return letters
		}
		if ctx.Err() != nil {
			t.Fatalf("no dead letters of %s", runID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
