package sqsq

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// QueueStats reads the depth of worker queues (<prefix><queue>) and their
// dead-letter queues (<prefix><queue>-dlq) from SQS's
// ApproximateNumberOfMessages, at most once per interval: calls in
// between, however many scrapes there are, get the last answer (or the
// last error). SQS reports the age of a queue's oldest message only to
// CloudWatch, so OldestKnown stays false.
type QueueStats struct {
	client *sqs.Client
	urls   *urlCache
	every  time.Duration
	now    func() time.Time

	mu     sync.Mutex
	at     time.Time // of the last answer
	queues []string
	last   []transport.QueueStat
	err    error
}

var _ transport.QueueStats = (*QueueStats)(nil)

// NewQueueStats reads the queues named prefix+queue at most every interval.
func NewQueueStats(client *sqs.Client, prefix string, every time.Duration) *QueueStats {
	return &QueueStats{client: client, urls: newURLCache(client, prefix), every: every, now: time.Now}
}

func (s *QueueStats) QueueStats(ctx context.Context, queues []string) ([]transport.QueueStat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.at.IsZero() && s.now().Sub(s.at) < s.every && slices.Equal(queues, s.queues) {
		return slices.Clone(s.last), s.err
	}
	s.last, s.err = s.read(ctx, queues)
	s.at, s.queues = s.now(), slices.Clone(queues)
	return slices.Clone(s.last), s.err
}

func (s *QueueStats) read(ctx context.Context, queues []string) ([]transport.QueueStat, error) {
	var out []transport.QueueStat
	for _, q := range queues {
		waiting, ok, err := s.depth(ctx, q)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		dead, _, err := s.depth(ctx, q+"-dlq")
		if err != nil {
			return nil, err
		}
		out = append(out, transport.QueueStat{Queue: q, Waiting: waiting, DeadLetters: dead})
	}
	return out, nil
}

// depth is a queue's ApproximateNumberOfMessages; ok is false when the
// queue does not exist.
func (s *QueueStats) depth(ctx context.Context, queue string) (n int64, ok bool, err error) {
	url, err := s.urls.get(ctx, queue, false)
	if isMissingQueue(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	out, err := s.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &url, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if isMissingQueue(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqs: attributes of %s: %w", s.urls.name(queue), err)
	}
	v := out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)]
	n, err = strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("sqs: %s: ApproximateNumberOfMessages %q", s.urls.name(queue), v)
	}
	return n, true, nil
}
