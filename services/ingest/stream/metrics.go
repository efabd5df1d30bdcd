package stream

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names of streaming.
const (
	MetricRecords      = "fusion.stream.records"       // counter: records taken into micro-batches
	MetricBatches      = "fusion.stream.batches"       // counter: micro-batches sealed, by reason (count, bytes, wait)
	MetricBatchRecords = "fusion.stream.batch.records" // histogram: records per sealed micro-batch
	MetricDeadLettered = "fusion.stream.dead_lettered" // counter: stream events no batch could take
)

// Metrics are the micro-batcher's instruments; a nil *Metrics measures
// nothing.
type Metrics struct {
	records, batches, dead metric.Int64Counter
	size                   metric.Int64Histogram
}

// NewMetrics creates the instruments on mp; nil means the global provider.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter("github.com/fusiondata/fusion/ingest/stream")
	m := &Metrics{}
	var errs [4]error
	m.records, errs[0] = meter.Int64Counter(MetricRecords, metric.WithUnit("{record}"), metric.WithDescription("Stream records taken into micro-batches."))
	m.batches, errs[1] = meter.Int64Counter(MetricBatches, metric.WithUnit("{batch}"), metric.WithDescription("Micro-batches sealed, by what sealed them: count, bytes or wait."))
	m.size, errs[2] = meter.Int64Histogram(MetricBatchRecords, metric.WithUnit("{record}"), metric.WithDescription("Records per sealed micro-batch."),
		metric.WithExplicitBucketBoundaries(1, 10, 50, 100, 500, 1000, 5000, 10000, 50000))
	m.dead, errs[3] = meter.Int64Counter(MetricDeadLettered, metric.WithUnit("{message}"), metric.WithDescription("Stream events no micro-batch could take, sent to the stream's dead-letter queue."))
	return m, errors.Join(errs[:]...)
}

func (m *Metrics) received(ctx context.Context, pipeline string, n int) {
	if m != nil {
		m.records.Add(ctx, int64(n), metric.WithAttributes(attribute.String("pipeline", pipeline)))
	}
}

func (m *Metrics) sealed(ctx context.Context, pipeline, reason string, n int) {
	if m != nil {
		attrs := metric.WithAttributes(attribute.String("pipeline", pipeline), attribute.String("reason", reason))
		m.batches.Add(ctx, 1, attrs)
		m.size.Record(ctx, int64(n), metric.WithAttributes(attribute.String("pipeline", pipeline)))
	}
}

func (m *Metrics) deadLettered(ctx context.Context) {
	if m != nil {
		m.dead.Add(ctx, 1)
	}
}
