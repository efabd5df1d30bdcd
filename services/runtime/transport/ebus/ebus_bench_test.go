//go:build aws

package ebus

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/messages"
)

// BenchmarkAWSTier moves b.N events through fusion's aws tier: PutEvents in
// batches, the EventBridge rule, SQS, and fusion's subscriber (ten per
// receive, an ack — a DeleteMessage — each, two competing subscriptions as
// the runtime runs by default). It reports events/s and the batch fill.
func BenchmarkAWSTier(b *testing.B) {
	f := newFixture(b)
	events := make([]messages.Envelope, b.N)
	for i := range events {
		events[i] = transformed(fmt.Sprintf("20261121-151600-%06x", i%0xffffff), 1)
	}
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := receive(b, f, "loader", b.N, 2)
		done <- err
	}()
	for i := 0; i < b.N; i += 100 {
		if err := f.bus.Publish(context.Background(), events[i:min(i+100, b.N)]...); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	calls, entries := f.bus.BatchFill()
	b.ReportMetric(float64(entries)/float64(calls), "entries/PutEvents")
}

// BenchmarkBareSQS is the floor: the same number of messages through one
// queue with the SDK alone — SendMessageBatch of ten, ReceiveMessage of
// ten, DeleteMessageBatch.
func BenchmarkBareSQS(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	out, err := f.c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(f.prefix + "-bare")})
	if err != nil {
		b.Fatal(err)
	}
	url := out.QueueUrl
	body := string(transformed("20261121-151600-000000", 1).Detail)
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for got := 0; got < b.N; {
			r, err := f.c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				b.Error(err)
				return
			}
			var del []sqstypes.DeleteMessageBatchRequestEntry
			for i, m := range r.Messages {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
			if len(del) > 0 {
				f.c.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: del})
			}
			got += len(r.Messages)
		}
	}()
	calls := 0
	for i := 0; i < b.N; i += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for j := i; j < min(i+10, b.N); j++ {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j - i)), MessageBody: aws.String(body)})
		}
		if _, err := f.c.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries}); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(calls), "entries/SendMessageBatch")
}
