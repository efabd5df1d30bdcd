//go:build aws

package sqsq

import (
	"context"
	"fmt"
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
