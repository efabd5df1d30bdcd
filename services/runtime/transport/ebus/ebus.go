// Package ebus is the aws tier's event bus: events go to an EventBridge bus
// with PutEvents, whose rules (rendered from the same routing table the
// embedded tier evaluates) deliver them to the workers' SQS queues. Topic
// routes — fan-out to SNS with raw delivery to SQS subscriptions — are
// matched here with the same patterns and published to SNS directly.
package ebus

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// Limits of PutEvents: ten entries and 256 KiB per request.
const (
	maxEntries      = 10
	maxRequestBytes = 256 * 1024
)

// ClaimsPrefix is where details too large for the bus are kept.
const ClaimsPrefix = "claims"

// Config configures the bus.
type Config struct {
	Bus         string // the EventBridge bus name
	TopicPrefix string // SNS topics are named TopicPrefix + topic
	// Rules are matched here for topic routes only; queue routes are the
	// deployed EventBridge rules.
	Rules func() (*routing.Table, error)
	// Lake stores claim-checked details.
	Lake lake.Lake
}

// Bus publishes to EventBridge (and SNS for topic routes).
type Bus struct {
	cfg    Config
	events *eventbridge.Client
	sns    *sns.Client

	mu     sync.Mutex
	topics map[string]string // name -> ARN

	calls, entries atomic.Int64
}

var _ transport.Bus = (*Bus)(nil)

// New returns the bus.
func New(cfg Config, events *eventbridge.Client, notifications *sns.Client) *Bus {
	return &Bus{cfg: cfg, events: events, sns: notifications, topics: map[string]string{}}
}

// BatchFill reports the PutEvents calls made and the entries they carried.
func (b *Bus) BatchFill() (calls, entries int64) { return b.calls.Load(), b.entries.Load() }

// entrySize is EventBridge's size of an entry (detail, detail-type,
// source, resources and 14 bytes for the time).
func entrySize(e types.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Detail)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Source)) + 14
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// Publish puts the events on the bus in batches of up to ten, retrying the
// entries EventBridge failed. A detail over the size limit is stored in the
// lake and the event carries a pointer to it (a claim check).
func (b *Bus) Publish(ctx context.Context, events ...messages.Envelope) error {
	var batch []types.PutEventsRequestEntry
	size := 0
	for _, env := range events {
		env, err := b.claimCheck(ctx, env)
		if err != nil {
			return err
		}
		if err := b.publishTopics(ctx, env); err != nil {
			return err
		}
		e := types.PutEventsRequestEntry{
			EventBusName: aws.String(b.cfg.Bus),
			Source:       aws.String(env.Source),
			DetailType:   aws.String(env.DetailType),
			Detail:       aws.String(string(env.Detail)),
			Resources:    env.Resources,
			Time:         aws.Time(env.Time),
		}
		n := entrySize(e)
		if len(batch) == maxEntries || size+n > maxRequestBytes {
			if err := b.put(ctx, batch); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, e)
		size += n
	}
	return b.put(ctx, batch)
}

func (b *Bus) claimCheck(ctx context.Context, env messages.Envelope) (messages.Envelope, error) {
	if entrySize(types.PutEventsRequestEntry{Detail: aws.String(string(env.Detail)), DetailType: &env.DetailType, Source: &env.Source, Resources: env.Resources}) <= messages.MaxEventBytes {
		return env, nil
	}
	if b.cfg.Lake == nil {
		return env, fmt.Errorf("%w: %s event %s is %d bytes and no lake holds claim checks", messages.ErrTooLarge, env.DetailType, env.ID, len(env.Detail))
	}
	key := path.Join(ClaimsPrefix, env.DetailType, env.ID+".json")
	obj, err := b.cfg.Lake.Put(ctx, key, bytes.NewReader(env.Detail))
	if err != nil {
		return env, fmt.Errorf("bus: claim check %s: %w", env.ID, err)
	}
	return messages.NewClaimCheck(env, messages.ObjectRef{Bucket: b.cfg.Lake.Bucket(), Key: obj.Key, Size: obj.Size, ETag: obj.ETag})
}

func (b *Bus) put(ctx context.Context, entries []types.PutEventsRequestEntry) error {
	for attempt := 0; len(entries) > 0; attempt++ {
		b.calls.Add(1)
		b.entries.Add(int64(len(entries)))
		out, err := b.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("bus: put events on %s: %w", b.cfg.Bus, err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		var retry []types.PutEventsRequestEntry
		var last error
		for i, r := range out.Entries {
			if r.ErrorCode != nil {
				retry = append(retry, entries[i])
				last = fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
		}
		if attempt >= 4 {
			return fmt.Errorf("bus: %d events still failed after %d attempts: %w", len(retry), attempt+1, last)
		}
		entries = retry
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
	return nil
}

// publishTopics publishes the event to the SNS topics its rules route it to.
func (b *Bus) publishTopics(ctx context.Context, env messages.Envelope) error {
	if b.cfg.Rules == nil {
		return nil
	}
	table, err := b.cfg.Rules()
	if err != nil {
		return err
	}
	matched, err := table.MatchEnvelope(env)
	if err != nil {
		return err
	}
	for _, r := range matched {
		if !r.IsTopic() {
			continue
		}
		arn, err := b.topicARN(ctx, r.Target)
		if err != nil {
			return err
		}
		body, _ := env.Marshal()
		if _, err := b.sns.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Message: aws.String(string(body)), MessageAttributes: traceAttributes(ctx)}); err != nil {
			return fmt.Errorf("bus: publish to topic %s: %w", r.Target, err)
		}
	}
	return nil
}

// traceAttributes are the SNS message attributes carrying the publisher's
// trace context; raw delivery hands them to the subscribed SQS queues as
// message attributes, which become the consumed message's metadata.
// EventBridge has no such place: its events carry the context in the
// detail only.
func traceAttributes(ctx context.Context) map[string]snstypes.MessageAttributeValue {
	md := telemetry.MetadataCarrier{}
	telemetry.Propagator.Inject(ctx, md)
	if len(md) == 0 {
		return nil
	}
	attrs := make(map[string]snstypes.MessageAttributeValue, len(md))
	for k, v := range md {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return attrs
}

func (b *Bus) topicARN(ctx context.Context, topic string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if arn, ok := b.topics[topic]; ok {
		return arn, nil
	}
	name := b.cfg.TopicPrefix + topic
	pages := sns.NewListTopicsPaginator(b.sns, &sns.ListTopicsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("bus: list topics: %w", err)
		}
		for _, t := range page.Topics {
			if arn := aws.ToString(t.TopicArn); lastColon(arn) == name {
				b.topics[topic] = arn
				return arn, nil
			}
		}
	}
	return "", fmt.Errorf("bus: no SNS topic named %s (is the stack deployed?)", name)
}

func lastColon(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}
