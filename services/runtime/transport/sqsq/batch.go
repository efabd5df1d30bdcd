package sqsq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// maxReceive is the most messages one ReceiveMessage returns.
const maxReceive = 10

// Batches receives many messages of an SQS queue at once and holds them
// (see transport.BatchReceiver): ReceiveMessage ten at a time, repeatedly,
// DeleteMessageBatch to ack, ChangeMessageVisibilityBatch to release, and
// the visibility of every held message renewed every third of its
// timeout, so a batch may take as long as it needs to fill and seal.
type Batches struct {
	client     *sqs.Client
	urls       *urlCache
	visibility time.Duration

	mu     sync.Mutex
	held   map[string]string // receipt handle -> queue URL
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

var _ transport.BatchReceiver = (*Batches)(nil)

// NewBatches returns a batch receiver on queues named prefix+queue whose
// messages stay invisible for visibility (at least 3s), renewed while held.
func NewBatches(client *sqs.Client, prefix string, visibility time.Duration) (*Batches, error) {
	if visibility < 3*time.Second || visibility > 12*time.Hour {
		return nil, fmt.Errorf("sqs: visibility must be between 3s and 12h (got %v)", visibility)
	}
	b := &Batches{client: client, urls: newURLCache(client, prefix), visibility: visibility,
		held: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go b.renew()
	return b, nil
}

// Receive asks SQS for up to n messages, ten per call, long-polling up
// to wait (whole seconds, at most 20) for the first and then taking what
// is there at once.
func (b *Batches) Receive(ctx context.Context, queue string, n int, wait time.Duration) ([]transport.Held, error) {
	if n < 1 {
		return nil, fmt.Errorf("sqs: receive at least one message (asked %d)", n)
	}
	if b.isClosed() {
		return nil, errors.New("sqs: batch receiver closed")
	}
	url, err := b.urls.get(ctx, queue, false)
	if err != nil {
		return nil, err
	}
	until := time.Now().Add(wait)
	var out []transport.Held
	for len(out) < n && ctx.Err() == nil {
		poll := int32(0)
		if len(out) == 0 {
			poll = int32(max(min(time.Until(until)/time.Second, 20), 0))
		}
		got, err := b.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &url,
			MaxNumberOfMessages:         int32(min(n-len(out), maxReceive)),
			WaitTimeSeconds:             poll,
			VisibilityTimeout:           int32(b.visibility / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() != nil {
				return out, nil
			}
			return out, fmt.Errorf("sqs: receive from %s: %w", queue, err)
		}
		out = append(out, b.hold(url, got.Messages)...)
		if len(out) > 0 && len(got.Messages) < maxReceive {
			return out, nil // the queue has no more for now
		}
		if len(out) > 0 {
			continue
		}
		// Nothing yet: a long poll waited in SQS; what is left of a wait
		// under a second is waited here, rather than asking again at once.
		rest := time.Until(until)
		if rest <= 0 {
			return nil, nil
		}
		if rest < time.Second {
			select {
			case <-ctx.Done():
			case <-time.After(rest):
			}
			return nil, nil
		}
	}
	return out, nil
}

func (b *Batches) hold(url string, msgs []types.Message) []transport.Held {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]transport.Held, 0, len(msgs))
	for _, m := range msgs {
		receipt := aws.ToString(m.ReceiptHandle)
		b.held[receipt] = url
		md := map[string]string{}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				md[k] = *v.StringValue
			}
		}
		n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		out = append(out, transport.Held{Handle: receipt, ID: aws.ToString(m.MessageId), Payload: []byte(aws.ToString(m.Body)), Metadata: md, Receives: n})
	}
	return out
}

// Ack deletes the messages, ten per call.
func (b *Batches) Ack(ctx context.Context, queue string, msgs []transport.Held) error {
	url, err := b.urls.get(ctx, queue, false)
	if err != nil {
		return err
	}
	b.forget(msgs)
	for start := 0; start < len(msgs); start += maxReceive {
		var entries []types.DeleteMessageBatchRequestEntry
		for i, m := range msgs[start:min(start+maxReceive, len(msgs))] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.Handle)})
		}
		out, err := b.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs: delete from %s: %w", queue, err)
		}
		if err := failed(out.Failed); err != nil {
			return fmt.Errorf("sqs: delete from %s: %w", queue, err)
		}
	}
	return nil
}

// Release makes the messages visible again at once, ten per call.
func (b *Batches) Release(ctx context.Context, queue string, msgs []transport.Held) error {
	url, err := b.urls.get(ctx, queue, false)
	if err != nil {
		return err
	}
	b.forget(msgs)
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.Handle
	}
	return b.setVisibility(ctx, url, handles, 0)
}

func (b *Batches) forget(msgs []transport.Held) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		delete(b.held, m.Handle)
	}
}

func (b *Batches) setVisibility(ctx context.Context, url string, handles []string, d time.Duration) error {
	for start := 0; start < len(handles); start += maxReceive {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for i, h := range handles[start:min(start+maxReceive, len(handles))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: int32(d / time.Second)})
		}
		out, err := b.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs: change visibility: %w", err)
		}
		if err := failed(out.Failed); err != nil {
			return fmt.Errorf("sqs: change visibility: %w", err)
		}
	}
	return nil
}

// failed reports the entries of a batch call SQS failed, but for receipt
// handles it no longer knows (a message already deleted: harmless).
func failed(entries []types.BatchResultErrorEntry) error {
	var errs []error
	for _, f := range entries {
		if code := aws.ToString(f.Code); code == "ReceiptHandleIsInvalid" || (code == "InvalidParameterValue" && f.SenderFault) {
			continue
		}
		errs = append(errs, fmt.Errorf("entry %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
	}
	return errors.Join(errs...)
}

// renew extends the visibility of every held message every third of the
// timeout, until Close.
func (b *Batches) renew() {
	defer close(b.done)
	tick := time.NewTicker(b.visibility / 3)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
		b.mu.Lock()
		byURL := map[string][]string{}
		for h, u := range b.held {
			byURL[u] = append(byURL[u], h)
		}
		b.mu.Unlock()
		for u, hs := range byURL {
			// A failed renewal lets the messages come back later: a
			// redelivery, which at-least-once allows.
			_ = b.setVisibility(context.Background(), u, hs, b.visibility)
		}
	}
}

func (b *Batches) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close stops the renewals and releases every message still held.
func (b *Batches) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	byURL := map[string][]string{}
	for h, u := range b.held {
		byURL[u] = append(byURL[u], h)
	}
	b.held = map[string]string{}
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	var errs []error
	for u, hs := range byURL {
		errs = append(errs, b.setVisibility(context.Background(), u, hs, 0))
	}
	return errors.Join(errs...)
}
