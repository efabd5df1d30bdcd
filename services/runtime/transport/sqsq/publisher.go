// Package sqsq is the aws tier's queue transport: SQS behind watermill's
// Publisher and Subscriber. Publishing batches with SendMessageBatch;
// consuming uses watermill-aws with long polling, up to ten messages per
// receive, the message's visibility extended while its handler runs, and
// a nacked message returned to the queue after a short delay.
package sqsq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/messages"
)

// Limits of one SendMessageBatch call.
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 * 1024
	maxAttributes   = 10
)

// Publisher sends messages to SQS queues named prefix+topic, in batches.
type Publisher struct {
	client *sqs.Client
	urls   *urlCache
	// CreateQueues creates a missing queue instead of failing (tests; in
	// production the deployment creates queues).
	createQueues bool

	batches atomic.Int64
	entries atomic.Int64
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher to queues named prefix+topic.
func NewPublisher(client *sqs.Client, prefix string, createQueues bool) *Publisher {
	return &Publisher{client: client, urls: newURLCache(client, prefix), createQueues: createQueues}
}

// Close releases nothing: the SQS client is shared.
func (p *Publisher) Close() error { return nil }

// BatchFill reports the SendMessageBatch calls made and the entries they carried.
func (p *Publisher) BatchFill() (calls, entries int64) { return p.batches.Load(), p.entries.Load() }

// Publish sends the messages to the topic's queue, ten (or 256 KiB) per
// call, retrying entries SQS failed for its own reasons.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background()
	if len(msgs) > 0 && msgs[0].Context() != nil {
		ctx = msgs[0].Context()
	}
	url, err := p.urls.get(ctx, topic, p.createQueues)
	if err != nil {
		return err
	}
	var batch []types.SendMessageBatchRequestEntry
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := p.send(ctx, url, batch)
		batch, size = nil, 0
		return err
	}
	for _, m := range msgs {
		entry, n, err := toEntry(len(batch), m)
		if err != nil {
			return err
		}
		if len(batch) == maxBatchEntries || size+n > maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
			entry.Id = aws.String("0")
		}
		batch = append(batch, entry)
		size += n
	}
	return flush()
}

func (p *Publisher) send(ctx context.Context, url string, entries []types.SendMessageBatchRequestEntry) error {
	for attempt := 0; ; attempt++ {
		p.batches.Add(1)
		p.entries.Add(int64(len(entries)))
		out, err := p.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs: send to %s: %w", url, err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		byID := map[string]types.SendMessageBatchRequestEntry{}
		for _, e := range entries {
			byID[aws.ToString(e.Id)] = e
		}
		var retry []types.SendMessageBatchRequestEntry
		var errs []error
		for _, f := range out.Failed {
			if f.SenderFault || attempt >= 4 {
				errs = append(errs, fmt.Errorf("sqs: entry %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
				continue
			}
			retry = append(retry, byID[aws.ToString(f.Id)])
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		entries = retry
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
}

// uuidAttribute is where watermill-aws looks for a message's UUID.
const uuidAttribute = wsqs.UUIDAttribute

// toEntry converts a message; metadata becomes message attributes (SQS
// allows ten), keys starting with "sqs_" stay behind.
func toEntry(i int, m *message.Message) (types.SendMessageBatchRequestEntry, int, error) {
	if len(m.Payload) > maxBatchBytes {
		return types.SendMessageBatchRequestEntry{}, 0, fmt.Errorf("%w: %d bytes, SQS takes at most %d", messages.ErrTooLarge, len(m.Payload), maxBatchBytes)
	}
	attrs := map[string]types.MessageAttributeValue{
		uuidAttribute: {DataType: aws.String("String"), StringValue: aws.String(m.UUID)},
	}
	size := len(m.Payload) + len(uuidAttribute) + len(m.UUID)
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		if !strings.HasPrefix(k, "sqs_") && m.Metadata[k] != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if i := slices.Index(keys, "tracestate"); i >= 0 && len(keys)+1 > maxAttributes {
		// Vendor trace state is what gives way first; traceparent stays.
		keys = slices.Delete(keys, i, i+1)
	}
	if len(keys)+1 > maxAttributes {
		return types.SendMessageBatchRequestEntry{}, 0, fmt.Errorf("sqs: message %s has %d metadata entries; SQS carries %d attributes", m.UUID, len(keys), maxAttributes-1)
	}
	for _, k := range keys {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.Metadata[k])}
		size += len(k) + len(m.Metadata[k])
	}
	return types.SendMessageBatchRequestEntry{
		Id:                aws.String(strconv.Itoa(i)),
		MessageBody:       aws.String(string(m.Payload)),
		MessageAttributes: attrs,
	}, size, nil
}

// urlCache resolves queue names to URLs once.
type urlCache struct {
	client *sqs.Client
	prefix string
	mu     sync.Mutex
	urls   map[string]string
}

func newURLCache(client *sqs.Client, prefix string) *urlCache {
	return &urlCache{client: client, prefix: prefix, urls: map[string]string{}}
}

// QueueName is the SQS queue behind a topic.
func (c *urlCache) name(topic string) string { return c.prefix + topic }

func (c *urlCache) get(ctx context.Context, topic string, create bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.urls[topic]; ok {
		return u, nil
	}
	name := c.name(topic)
	out, err := c.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	var missing *types.QueueDoesNotExist
	if errors.As(err, &missing) && create {
		var created *sqs.CreateQueueOutput
		if created, err = c.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name}); err == nil {
			c.urls[topic] = aws.ToString(created.QueueUrl)
			return c.urls[topic], nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("sqs: queue %s: %w", name, err)
	}
	c.urls[topic] = aws.ToString(out.QueueUrl)
	return c.urls[topic], nil
}
