//go:build aws

package ebus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/lake/s3lake"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport/sqsq"
)

// fixture is a bus routing fusion.dataset.transformed.v1 to one queue, and
// the failures topic with its queue subscribed (raw delivery).
type fixture struct {
	c      awsenv.Clients
	bus    *Bus
	prefix string
	sub    *sqsq.Subscriber
}

func queueArn(t testing.TB, c awsenv.Clients, name string) string {
	out, err := c.SQS.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := c.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	return attrs.Attributes["QueueArn"]
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := awstest.Clients(t)
	ctx := context.Background()
	prefix := awstest.Name("bus")
	if _, err := c.EventBridge.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(prefix)}); err != nil {
		t.Fatal(err)
	}
	arn := queueArn(t, c, prefix+"-loader")
	pattern := `{"detail-type":["fusion.dataset.transformed.v1"]}`
	if _, err := c.EventBridge.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(prefix + "-load"), EventBusName: aws.String(prefix), EventPattern: &pattern}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EventBridge.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(prefix + "-load"), EventBusName: aws.String(prefix),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: &arn}}}); err != nil {
		t.Fatal(err)
	}
	topic, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(prefix + "-failures")})
	if err != nil {
		t.Fatal(err)
	}
	failures := queueArn(t, c, prefix+"-failures")
	if _, err := c.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: &failures,
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	table, err := routing.NewTable(routing.BaseRules())
	if err != nil {
		t.Fatal(err)
	}
	bucket := awstest.Bucket(t, c)
	bus := New(Config{Bus: prefix, TopicPrefix: prefix + "-", Rules: func() (*routing.Table, error) { return table, nil }, Lake: s3lake.New(c.S3, bucket)}, c.EventBridge, c.SNS)
	sub, err := sqsq.NewSubscriber(c.Config, c.SQS, sqsq.SubscriberConfig{Prefix: prefix + "-", Visibility: 10 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return &fixture{c: c, bus: bus, prefix: prefix, sub: sub}
}

func transformed(run string, pad int) messages.Envelope {
	d := &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: run, Pipeline: "churn"},
		Dataset: messages.DatasetRef{Name: "churn.curated", Objects: []string{"curated/churn/" + run + "/part-0.parquet"}, Schema: []messages.Column{{Name: strings.Repeat("c", pad), Type: "BIGINT"}}}}
	env, _ := messages.New(d, time.Now())
	return env
}

// receive acks n messages of a queue read by the given number of
// competing subscriptions (the runtime's concurrency).
func receive(t testing.TB, f *fixture, queue string, n, subscriptions int) ([]*message.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	merged := make(chan *message.Message)
	for i := 0; i < subscriptions; i++ {
		msgs, err := f.sub.Subscribe(ctx, queue)
		if err != nil {
			return nil, err
		}
		go func() {
			for m := range msgs {
				select {
				case merged <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var out []*message.Message
	for len(out) < n {
		select {
		case m := <-merged:
			m.Ack()
			out = append(out, m)
		case <-ctx.Done():
			return out, fmt.Errorf("received %d of %d", len(out), n)
		}
	}
	return out, nil
}

func mustReceive(t testing.TB, f *fixture, queue string, n int) []*message.Message {
	t.Helper()
	got, err := receive(t, f, queue, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEventsReachTheRuleTargetInBatches(t *testing.T) {
	f := newFixture(t)
	var events []messages.Envelope
	for i := 0; i < 25; i++ {
		events = append(events, transformed("20261121-151600-0000"+string(rune('a'+i%6))+string(rune('a'+i/6)), 1))
	}
	if err := f.bus.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
	got := mustReceive(t, f, "loader", 25)
	env, err := messages.Parse(got[0].Payload)
	if err != nil || env.DetailType != messages.TypeDatasetTransformed {
		t.Fatalf("delivered %s (%v)", got[0].Payload, err)
	}
	if calls, entries := f.bus.BatchFill(); calls != 3 || entries != 25 {
		t.Errorf("%d PutEvents calls for %d entries, want 3 for 25", calls, entries)
	}
}

func TestOversizeDetailTravelsAsAClaimCheck(t *testing.T) {
	f := newFixture(t)
	big := transformed("20261121-151600-aaaaaa", 300*1024)
	if err := f.bus.Publish(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	got := mustReceive(t, f, "loader", 1)
	env, err := messages.Parse(got[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	claim, ok := messages.ClaimOf(env)
	if !ok || claim.Size != int64(len(big.Detail)) {
		t.Fatalf("not a claim check: %.200s", got[0].Payload)
	}
	var routed struct{ Pipeline string }
	json.Unmarshal(env.Detail, &routed)
	if routed.Pipeline != "churn" {
		t.Error("the claim check lost the routing fields")
	}
	r, err := f.bus.cfg.Lake.Open(context.Background(), claim.Key)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestFailuresFanOutThroughSNS(t *testing.T) {
	f := newFixture(t)
	failed, _ := messages.New(&messages.StepFailed{StepEvent: messages.StepEvent{RunRef: messages.RunRef{RunID: "20261121-151600-aaaaaa", Pipeline: "churn"},
		Step: "ingest", Worker: "ingest", Attempt: 1, StartedAt: time.Now(), Error: &messages.StepError{Message: "bad row", Permanent: true}}}, time.Now())
	if err := f.bus.Publish(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	got := mustReceive(t, f, routing.FailuresQueue, 1)
	env, err := messages.Parse(got[0].Payload) // raw delivery: the envelope itself
	if err != nil || env.DetailType != messages.TypeStepFailed {
		t.Fatalf("%.300s %v", got[0].Payload, err)
	}
}

// The failures topic's messages carry the publisher's trace context as SNS
// message attributes, which raw delivery hands to the subscribed queue.
func TestTopicMessagesCarryTheTraceContext(t *testing.T) {
	f := newFixture(t)
	failed, _ := messages.New(&messages.StepFailed{StepEvent: messages.StepEvent{RunRef: messages.RunRef{RunID: "20261121-151600-aaaaab", Pipeline: "churn"},
		Step: "ingest", Worker: "ingest", Attempt: 1, StartedAt: time.Now(), Error: &messages.StepError{Message: "bad row", Permanent: true}}}, time.Now())
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "ingest ingest")
	defer span.End()
	if err := f.bus.Publish(ctx, failed); err != nil {
		t.Fatal(err)
	}
	got := mustReceive(t, f, routing.FailuresQueue, 1)
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp := got[0].Metadata.Get("traceparent"); tp != want {
		t.Errorf("traceparent %q, want %q (metadata %v)", tp, want, got[0].Metadata)
	}
}
