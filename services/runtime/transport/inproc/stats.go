package inproc

import (
	"context"
	"time"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

var _ transport.QueueStats = (*Broker)(nil)

// QueueStats reports, for each named queue, the messages ready to be
// received, how long the oldest of them has been ready (since it was
// published, or since its redelivery delay ended), and the messages in its
// dead-letter queue (DLQ(queue)). Two indexed counts per queue on the
// broker's database: cheap enough for every scrape. Every named queue
// exists here (an empty queue is a queue without rows).
func (b *Broker) QueueStats(ctx context.Context, queues []string) ([]transport.QueueStat, error) {
	now := time.Now()
	out := make([]transport.QueueStat, 0, len(queues))
	for _, q := range queues {
		s := transport.QueueStat{Queue: q, OldestKnown: true}
		var oldest int64
		if err := b.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(visible_at), 0) FROM messages WHERE queue = ? AND visible_at <= ?`,
			q, now.UnixNano()).Scan(&s.Waiting, &oldest); err != nil {
			return nil, err
		}
		if s.Waiting > 0 {
			s.Oldest = max(now.Sub(time.Unix(0, oldest)), 0)
		}
		if err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE queue = ?`, DLQ(q)).Scan(&s.DeadLetters); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
