package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/sqsq"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// attached is what the workers of a Run added beside their handlers.
type attached struct {
	routes  []worker.Route
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	batches transport.BatchReceiver
}

// attach calls each worker's Attach with a Host of this tier, and starts
// the loops they added; wait ends them (they end with ctx too), waits for
// them, and then gives back whatever messages are still held.
func (p *Platform) attach(ctx context.Context, workers []*worker.Worker, names []string) (a *attached, err error) {
	a = &attached{}
	ctx, a.cancel = context.WithCancel(ctx)
	for _, w := range workers {
		if w.Attach == nil {
			continue
		}
		if a.batches == nil {
			if a.batches, err = p.batchReceiver(); err != nil {
				a.wait()
				return nil, err
			}
		}
		h := &worker.Host{Bus: p.Transport.Bus, Batches: a.batches, DeadLetters: p.Transport.DeadLetters, Log: p.Log.With("worker", w.Name),
			Meter: p.Meter, Tracer: p.Tracing.Provider(p.serviceName(w.Name, len(names)))}
		if p.local != nil {
			// The embedded lake's notification is the landing watcher:
			// announce as it would, so both announcements are one event.
			h.Announce = func(ctx context.Context, o lake.Object) error { return p.announce(ctx, o) }
		}
		if err := w.Attach(h); err != nil {
			a.wait()
			return nil, fmt.Errorf("worker %s: %w", w.Name, err)
		}
		a.routes = append(a.routes, h.Routes()...)
		for _, loop := range h.Loops() {
			a.loops.Add(1)
			go func() {
				defer a.loops.Done()
				if err := loop(ctx); err != nil && !errors.Is(err, context.Canceled) {
					h.Log.Error("worker loop stopped", "error", err.Error())
				}
			}()
		}
	}
	return a, nil
}

// batchReceiver receives batches of the tier's queues: the queue file's
// rows, or SQS messages whose visibility is renewed while held.
func (p *Platform) batchReceiver() (transport.BatchReceiver, error) {
	if p.aws != nil {
		return sqsq.NewBatches(p.aws.SQS, p.Config.QueuePrefix, p.Config.SQSVisibility)
	}
	return p.broker.Batches(), nil
}

// wait ends the loops and waits for them, then gives back held messages.
func (a *attached) wait() {
	a.cancel()
	a.loops.Wait()
	a.close()
}

func (a *attached) close() {
	if a.batches != nil {
		a.batches.Close()
	}
}

// hostQueues are the queues the hosted workers' loops consume, for the
// queue gauges: the ingest worker's micro-batcher takes the stream queue.
func hostQueues(names []string) []string {
	if slices.Contains(names, pipeline.WorkerIngest) {
		return []string{routing.StreamQueue}
	}
	return nil
}
