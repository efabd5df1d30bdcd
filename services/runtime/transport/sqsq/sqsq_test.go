//go:build aws

package sqsq

import (
	"context"
	"fmt"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fusiondata/fusion/services/runtime/awstest"
)

// TestPubSub runs watermill's conformance suite against fusion's SQS
// publisher and subscriber. Feature flags, honestly: standard queues give
// no ordering and no exactly-once delivery, there are no consumer groups,
// and messages persist in the queue across instances.
func TestPubSub(t *testing.T) {
	c := awstest.Clients(t)
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:                      false,
		ExactlyOnceDelivery:                 false,
		GuaranteedOrder:                     false,
		GuaranteedOrderWithSingleSubscriber: false,
		Persistent:                          true,
		NewSubscriberReceivesOldMessages:    false,
		// Long suites against the emulator take too long for the tier.
		ForceShort: true,
	}, func(t *testing.T) (message.Publisher, message.Subscriber) {
		sub, err := NewSubscriber(c.Config, c.SQS, SubscriberConfig{CreateQueues: true, Visibility: 6 * time.Second, NackDelay: time.Second}, watermill.NopLogger{})
		if err != nil {
			t.Fatal(err)
		}
		return NewPublisher(c.SQS, "", true), sub
	}, nil)
}

// TestVisibilityIsRenewedWhileHandling holds a message past its visibility
// timeout: no other consumer may receive it meanwhile.
func TestVisibilityIsRenewedWhileHandling(t *testing.T) {
	c := awstest.Clients(t)
	queue := awstest.Name("renew")
	pub := NewPublisher(c.SQS, "", true)
	sub, err := NewSubscriber(c.Config, c.SQS, SubscriberConfig{CreateQueues: true, Visibility: 3 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := pub.Publish(queue, message.NewMessage("long-job", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, _ := sub.Subscribe(ctx, queue)
	m := <-msgs
	if m.Metadata.Get(MetaReceiveCount) != "1" || m.Metadata.Get(MetaReceiptHandle) == "" {
		t.Errorf("metadata %v", m.Metadata)
	}
	url, _ := pub.urls.get(ctx, queue, false)
	time.Sleep(7 * time.Second) // more than twice the visibility timeout
	out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 0 {
		t.Fatal("the message became visible while its handler was still running")
	}
	m.Ack()
}

func TestBatchesFillUp(t *testing.T) {
	c := awstest.Clients(t)
	queue := awstest.Name("batch")
	pub := NewPublisher(c.SQS, "", true)
	var msgs []*message.Message
	for i := 0; i < 25; i++ {
		msgs = append(msgs, message.NewMessage(fmt.Sprint(i), []byte("payload")))
	}
	if err := pub.Publish(queue, msgs...); err != nil {
		t.Fatal(err)
	}
	calls, entries := pub.BatchFill()
	if calls != 3 || entries != 25 {
		t.Errorf("%d calls for %d entries, want 3 for 25", calls, entries)
	}
}

// Dead letters are listed without being consumed, and a redrive of one
// run's puts them back on their queue without their reasons.
func TestDeadLettersListAndRedrive(t *testing.T) {
	c := awstest.Clients(t)
	ctx := context.Background()
	prefix := awstest.Name("dlq") + "-"
	pub := NewPublisher(c.SQS, prefix, true)
	src, err := pub.urls.get(ctx, "transform", true)
	if err != nil {
		t.Fatal(err)
	}
	for i, run := range []string{"run-a", "run-b", "run-a"} {
		m := message.NewMessage(fmt.Sprintf("m%d", i), []byte(fmt.Sprintf(`{"n":%d}`, i)))
		m.Metadata.Set("run_id", run)
		m.Metadata.Set("event_id", fmt.Sprintf("e%d", i))
		m.Metadata.Set("dead_letter_reason", "boom")
		m.Metadata.Set("attempts", "4")
		m.Metadata.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		if err := pub.Publish("transform-dlq", m); err != nil {
			t.Fatal(err)
		}
	}
	dl := NewDeadLetters(c.SQS, prefix, []string{"ingest", "transform"})
	for i := 0; i < 2; i++ { // listing twice: nothing consumed
		letters, err := dl.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(letters) != 3 || letters[0].Queue != "transform" || letters[0].Reason() != "boom" || letters[0].Attempts() != 4 || letters[0].At.IsZero() {
			t.Fatalf("list %d: %+v", i, letters)
		}
	}
	letters, _ := dl.List(ctx)
	var runA []transport.DeadLetter
	for _, l := range letters {
		if l.RunID() == "run-a" {
			runA = append(runA, l)
		}
	}
	if err := dl.Redrive(ctx, runA); err != nil {
		t.Fatal(err)
	}
	if left, _ := dl.List(ctx); len(left) != 1 || left[0].RunID() != "run-b" {
		t.Errorf("left in the DLQ: %+v", left)
	}
	out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 2 {
		t.Fatalf("%d messages back on the queue", len(out.Messages))
	}
	for _, m := range out.Messages {
		if _, ok := m.MessageAttributes["dead_letter_reason"]; ok || aws.ToString(m.MessageAttributes["run_id"].StringValue) != "run-a" ||
			aws.ToString(m.MessageAttributes["traceparent"].StringValue) != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" ||
			!strings.HasPrefix(aws.ToString(m.Body), `{"n":`) || m.MessageAttributes[uuidAttribute].StringValue == nil {
			t.Errorf("redriven message %+v", m)
		}
	}
}
