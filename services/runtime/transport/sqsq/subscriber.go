package sqsq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Metadata the subscriber sets on each delivery.
const (
	MetaReceiptHandle = "sqs_receipt_handle"
	MetaReceiveCount  = "sqs_receive_count" // SQS's ApproximateReceiveCount
)

// SubscriberConfig tunes consumption.
type SubscriberConfig struct {
	// Prefix is prepended to topics to name queues ("fusion-").
	Prefix string
	// BatchSize is how many messages one receive asks for (1-10, default 10).
	BatchSize int32
	// Visibility is how long a delivered message stays invisible; the
	// subscriber renews it every third of it while the handler runs.
	// Default 60s.
	Visibility time.Duration
	// NackDelay is how soon a nacked message can be received again. Default 1s.
	NackDelay time.Duration
	// CreateQueues creates missing queues (tests only).
	CreateQueues bool
}

func (c *SubscriberConfig) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 10
	}
	if c.Visibility == 0 {
		c.Visibility = 60 * time.Second
	}
	if c.NackDelay == 0 {
		c.NackDelay = time.Second
	}
}

// Validate reports bad settings.
func (c SubscriberConfig) Validate() error {
	if c.BatchSize < 1 || c.BatchSize > 10 {
		return fmt.Errorf("sqs: batch size must be 1-10 (got %d)", c.BatchSize)
	}
	if c.Visibility < 3*time.Second || c.Visibility > 12*time.Hour {
		return fmt.Errorf("sqs: visibility must be between 3s and 12h (got %v)", c.Visibility)
	}
	return nil
}

// Subscriber consumes SQS queues named prefix+topic.
type Subscriber struct {
	cfg     SubscriberConfig
	client  *sqs.Client
	urls    *urlCache
	sub     *wsqs.Subscriber
	closing chan struct{}
	once    sync.Once
	relays  sync.WaitGroup // Subscribe's goroutines, which close the channels
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber consumes with watermill-aws, configured for fusion.
func NewSubscriber(awsCfg aws.Config, client *sqs.Client, cfg SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	visibility := int32(cfg.Visibility / time.Second)
	sub, err := wsqs.NewSubscriber(wsqs.SubscriberConfig{
		AWSConfig:                   awsCfg,
		DoNotCreateQueueIfNotExists: !cfg.CreateQueues,
		GenerateReceiveMessageInput: func(ctx context.Context, url wsqs.QueueURL) (*sqs.ReceiveMessageInput, error) {
			return &sqs.ReceiveMessageInput{
				QueueUrl:                    aws.String(string(url)),
				MaxNumberOfMessages:         cfg.BatchSize,
				WaitTimeSeconds:             20, // long polling
				VisibilityTimeout:           visibility,
				MessageAttributeNames:       []string{"All"},
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			}, nil
		},
		Unmarshaler: unmarshaler{},
	}, logger)
	if err != nil {
		return nil, err
	}
	return &Subscriber{cfg: cfg, client: client, urls: newURLCache(client, cfg.Prefix), sub: sub, closing: make(chan struct{})}, nil
}

// unmarshaler keeps what the subscriber needs to manage a delivery.
type unmarshaler struct {
	wsqs.DefaultMarshalerUnmarshaler
}

func (u unmarshaler) Unmarshal(m *types.Message) (*message.Message, error) {
	msg, err := u.DefaultMarshalerUnmarshaler.Unmarshal(m)
	if err != nil {
		return nil, err
	}
	msg.Metadata.Set(MetaReceiptHandle, aws.ToString(m.ReceiptHandle))
	msg.Metadata.Set(MetaReceiveCount, m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	return msg, nil
}

// Subscribe consumes the topic's queue. While a delivered message is being
// handled its visibility is renewed; a nacked message comes back after
// NackDelay instead of after the whole visibility timeout.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	url, err := s.urls.get(ctx, topic, s.cfg.CreateQueues)
	if err != nil {
		return nil, err
	}
	in, err := s.sub.Subscribe(ctx, s.urls.name(topic))
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	s.relays.Add(1)
	go func() {
		defer s.relays.Done()
		defer close(out)
		// Drained to its end: watermill-aws sends without watching for
		// Close, and closes in once its receive loop has ended.
		for msg := range in {
			select {
			case <-ctx.Done():
				continue // dropped: it comes back when its visibility lapses
			case <-s.closing:
				continue
			default:
			}
			go s.watch(msg, url)
			select {
			case out <- msg:
			case <-ctx.Done():
			case <-s.closing:
			}
		}
	}()
	return out, nil
}

// watch renews a message's visibility until it is acked or nacked.
func (s *Subscriber) watch(msg *message.Message, url string) {
	receipt := msg.Metadata.Get(MetaReceiptHandle)
	ctx := context.WithoutCancel(msg.Context())
	tick := time.NewTicker(s.cfg.Visibility / 3)
	defer tick.Stop()
	for {
		select {
		case <-msg.Acked():
			return
		case <-msg.Nacked():
			s.setVisibility(ctx, url, receipt, s.cfg.NackDelay)
			return
		case <-msg.Context().Done():
			return
		case <-tick.C:
			s.setVisibility(ctx, url, receipt, s.cfg.Visibility)
		}
	}
}

func (s *Subscriber) setVisibility(ctx context.Context, url, receipt string, d time.Duration) {
	_, err := s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &url, ReceiptHandle: &receipt, VisibilityTimeout: int32(d / time.Second),
	})
	var gone *types.ReceiptHandleIsInvalid
	if err != nil && !errors.As(err, &gone) {
		watermill.NewStdLogger(false, false).Error("sqs: change visibility", err, nil)
	}
}

// Close stops every subscription; their channels are closed when it
// returns.
func (s *Subscriber) Close() error {
	s.once.Do(func() { close(s.closing) })
	err := s.sub.Close()
	s.relays.Wait()
	return err
}
