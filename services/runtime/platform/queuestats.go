package platform

import (
	"context"

	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
)

// homeQueueStats are the embedded tier's queue statistics: the waiting
// messages from the queue file, and the dead letters the runtime keeps in
// the home's metastore added to any in the queue file's own dead-letter
// queues (a redrive policy's, none unless inproc.Config.MaxReceives).
type homeQueueStats struct {
	broker  *inproc.Broker
	letters *metastore.DeadLetters
}

var _ transport.QueueStats = homeQueueStats{}

func (h homeQueueStats) QueueStats(ctx context.Context, queues []string) ([]transport.QueueStat, error) {
	stats, err := h.broker.QueueStats(ctx, queues)
	if err != nil {
		return nil, err
	}
	dead, err := h.letters.Counts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range stats {
		stats[i].DeadLetters += dead[stats[i].Queue]
	}
	return stats, nil
}
