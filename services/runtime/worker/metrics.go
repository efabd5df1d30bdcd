package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// Metric names. Where OpenTelemetry's messaging conventions name a
// measurement, fusion uses that name; the rest are fusion.*.
const (
	MetricConsumed     = "messaging.client.consumed.messages" // counter: events received from a queue
	MetricSent         = "messaging.client.sent.messages"     // counter: events published, by outcome
	MetricDuration     = "messaging.process.duration"         // histogram (s): one handler invocation
	MetricRecords      = "fusion.step.records"                // counter: rows in and out of succeeded steps
	MetricRetries      = "fusion.step.retries"                // counter: transient failures retried
	MetricDeadLettered = "fusion.events.dead_lettered"        // counter: events sent to a dead-letter queue
	MetricLag          = "fusion.queue.lag"                   // histogram (s): consume time minus the event's time
	MetricDepth        = "fusion.queue.depth"                 // gauge: messages ready in a queue
	MetricDLQDepth     = "fusion.queue.dlq.depth"             // gauge: messages in a queue's dead-letter queue
	MetricOldest       = "fusion.queue.oldest.age"            // gauge (s): age of the oldest ready message
)

// Attribute keys of the runtime's measurements.
const (
	AttrWorker    = "worker"
	AttrQueue     = "queue"     // the logical queue (ingest), on every tier
	AttrStep      = "step"      // the pipeline step (load.curated)
	AttrPipeline  = "pipeline"  // the pipeline of the run
	AttrOutcome   = "outcome"   // see the Outcome constants
	AttrDirection = "direction" // in or out, of records
	AttrEventType = "event_type"
)

// Outcomes of a handler invocation (messaging.process.duration) and of a
// publish (messaging.client.sent.messages).
const (
	OutcomeSuccess = "success" // the handler returned its output; the events were accepted
	OutcomeRetry   = "retry"   // a transient failure: the step runs again after a backoff
	OutcomeFailure = "failure" // failed for good: the event goes to the dead-letter queue
	OutcomeError   = "error"   // the bus refused the events; the delivery is retried
)

// Buckets, in seconds: steps take milliseconds to minutes; lag is whole
// seconds at best, since envelope times are (as EventBridge's are).
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	lagBuckets      = []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600}
)

// metrics are the runtime's instruments. The runtime calls one method at
// the moment each thing happens (process.go, runtime.go); nothing else
// measures, so every number has one definition.
type metrics struct {
	meter        metric.Meter
	consumedMsgs metric.Int64Counter
	sent         metric.Int64Counter
	duration     metric.Float64Histogram
	records      metric.Int64Counter
	retries      metric.Int64Counter
	deadMsgs     metric.Int64Counter
	lag          metric.Float64Histogram
	depth        metric.Int64ObservableGauge
	dlqDepth     metric.Int64ObservableGauge
	oldest       metric.Float64ObservableGauge
}

// newMetrics creates the instruments on mp; nil means the global provider.
func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := &metrics{meter: mp.Meter("github.com/fusiondata/fusion/worker")}
	var errs [10]error
	m.consumedMsgs, errs[0] = m.meter.Int64Counter(MetricConsumed, metric.WithUnit("{message}"),
		metric.WithDescription("Events a worker received from its queue, redeliveries included."))
	m.sent, errs[1] = m.meter.Int64Counter(MetricSent, metric.WithUnit("{message}"),
		metric.WithDescription("Events a worker published: its results and its step events."))
	m.duration, errs[2] = m.meter.Float64Histogram(MetricDuration, metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("How long one handler invocation took, by outcome (success, retry, failure)."))
	m.records, errs[3] = m.meter.Int64Counter(MetricRecords, metric.WithUnit("{record}"),
		metric.WithDescription("Records read (direction in) and written (direction out) by succeeded steps."))
	m.retries, errs[4] = m.meter.Int64Counter(MetricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Transient step failures that were retried."))
	m.deadMsgs, errs[5] = m.meter.Int64Counter(MetricDeadLettered, metric.WithUnit("{message}"),
		metric.WithDescription("Events sent to a dead-letter queue: unusable, or their step failed for good."))
	m.lag, errs[6] = m.meter.Float64Histogram(MetricLag, metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(lagBuckets...),
		metric.WithDescription("How far behind consumers are: the time an event was received minus its envelope time (whole seconds)."))
	m.depth, errs[7] = m.meter.Int64ObservableGauge(MetricDepth, metric.WithUnit("{message}"),
		metric.WithDescription("Messages ready to be received in a queue."))
	m.dlqDepth, errs[8] = m.meter.Int64ObservableGauge(MetricDLQDepth, metric.WithUnit("{message}"),
		metric.WithDescription("Messages in a queue's dead-letter queue."))
	m.oldest, errs[9] = m.meter.Float64ObservableGauge(MetricOldest, metric.WithUnit("s"),
		metric.WithDescription("How long the oldest ready message of a queue has waited (embedded tier only: SQS tells CloudWatch alone)."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return m, nil
}

// stepAttrs names a step of a run.
func stepAttrs(worker string, in *Input, more ...attribute.KeyValue) metric.MeasurementOption {
	kv := append([]attribute.KeyValue{attribute.String(AttrWorker, worker)}, more...)
	if in != nil {
		if in.Step.Name != "" {
			kv = append(kv, attribute.String(AttrStep, in.Step.Name))
		}
		if in.Run.Pipeline != "" {
			kv = append(kv, attribute.String(AttrPipeline, in.Run.Pipeline))
		}
	}
	return metric.WithAttributeSet(attribute.NewSet(kv...))
}

// consumed counts a delivery's events (one when it carries none usable)
// and records how old each was.
func (m *metrics) consumed(ctx context.Context, worker, queue string, envs []messages.Envelope) {
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrWorker, worker), attribute.String(AttrQueue, queue)))
	m.consumedMsgs.Add(ctx, int64(max(len(envs), 1)), attrs)
	now := time.Now()
	for _, env := range envs {
		if !env.Time.IsZero() {
			m.lag.Record(ctx, max(now.Sub(env.Time).Seconds(), 0), attrs)
		}
	}
}

// handled records one handler invocation that began at began; a retry is
// counted as one too.
func (m *metrics) handled(ctx context.Context, worker string, in *Input, began time.Time, outcome string) {
	m.duration.Record(ctx, time.Since(began).Seconds(), stepAttrs(worker, in, attribute.String(AttrOutcome, outcome)))
	if outcome == OutcomeRetry {
		m.retries.Add(ctx, 1, stepAttrs(worker, in))
	}
}

// succeeded counts the records of a step whose results are out.
func (m *metrics) succeeded(ctx context.Context, worker string, in *Input, out Output) {
	m.records.Add(ctx, out.RowsIn, stepAttrs(worker, in, attribute.String(AttrDirection, "in")))
	m.records.Add(ctx, out.RowsOut, stepAttrs(worker, in, attribute.String(AttrDirection, "out")))
}

// published counts events handed to the bus, by type, and whether the bus
// accepted them (err == nil).
func (m *metrics) published(ctx context.Context, worker string, in *Input, events []messages.Envelope, err error) {
	outcome := OutcomeSuccess
	if err != nil {
		outcome = OutcomeError
	}
	byType := map[string]int64{}
	for _, e := range events {
		byType[e.DetailType]++
	}
	for t, n := range byType {
		m.sent.Add(ctx, n, stepAttrs(worker, in, attribute.String(AttrEventType, t), attribute.String(AttrOutcome, outcome)))
	}
}

// deadLettered counts an event sent to queue's dead-letter queue; in is
// nil when the event was unusable.
func (m *metrics) deadLettered(ctx context.Context, queue string, in *Input) {
	m.deadMsgs.Add(ctx, 1, stepAttrs(queue, in, attribute.String(AttrQueue, queue)))
}

// counting wraps a plain consumer's handler to count what it receives.
func (m *metrics) counting(c Consumer) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		m.consumed(msg.Context(), c.Name, c.Queue, nil)
		return c.Handle(msg)
	}
}

// statsTimeout bounds one reading of the queue statistics during a scrape.
const statsTimeout = 5 * time.Second

// observeQueues reports the depth, dead letters and oldest message of the
// queues at each collection, read from src, until the returned function
// is called. A failed reading is logged and reports nothing that time.
func (m *metrics) observeQueues(src transport.QueueStats, queues []string, log *slog.Logger) (func(), error) {
	reg, err := m.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, statsTimeout)
		defer cancel()
		stats, err := src.QueueStats(ctx, queues)
		if err != nil {
			log.Warn("queue statistics not read for the metrics", "error", err.Error())
			return nil
		}
		for _, s := range stats {
			attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrQueue, s.Queue)))
			o.ObserveInt64(m.depth, s.Waiting, attrs)
			o.ObserveInt64(m.dlqDepth, s.DeadLetters, attrs)
			if s.OldestKnown {
				o.ObserveFloat64(m.oldest, s.Oldest.Seconds(), attrs)
			}
		}
		return nil
	}, m.depth, m.dlqDepth, m.oldest)
	if err != nil {
		return nil, err
	}
	return func() { reg.Unregister() }, nil
}
