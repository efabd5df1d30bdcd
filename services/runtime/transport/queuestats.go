package transport

import (
	"context"
	"time"
)

// QueueStat is what waits in one worker queue and its dead-letter queue.
type QueueStat struct {
	Queue string // the worker queue, as its consumers name it (ingest)
	// Waiting counts the messages ready to be received: not those being
	// handled, nor those waiting out a redelivery delay.
	Waiting int64
	// DeadLetters counts the messages in the queue's dead-letter queue.
	DeadLetters int64
	// Oldest is how long the oldest ready message has waited to be
	// received (0 when none is). OldestKnown is false when the transport
	// cannot tell: SQS reports the age of its oldest message only to
	// CloudWatch.
	Oldest      time.Duration
	OldestKnown bool
}

// QueueStats reports what waits in queues, for metrics.
//
// Rules: QueueStats may be called on every scrape of the metrics, from
// several goroutines at once, so an implementation whose answer costs
// remote calls (SQS) answers from a cache refreshed at most once per
// interval. It returns one QueueStat per named queue that exists, in any
// order; a queue that does not exist is left out rather than failing the
// others. A dead-letter queue that does not exist holds no letters.
type QueueStats interface {
	QueueStats(ctx context.Context, queues []string) ([]QueueStat, error)
}
