package stream

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// recordsContext is the trace context a records event carries in its
// detail (where it survives EventBridge), invalid when it carries none.
func recordsContext(ctx context.Context, sr *messages.StreamRecords) trace.SpanContext {
	return trace.SpanContextFromContext(telemetry.Propagator.Extract(ctx, telemetry.DetailCarrier{TC: sr.Trace()}))
}

// startSeal starts the span of sealing a micro-batch. Sealing is a fan-in
// — one batch, the records of many posts — so the span has no parent but
// links the context of every records event in the batch.
func (s *Batcher) startSeal(ctx context.Context, b *batch) (context.Context, trace.Span) {
	if s.Tracer == nil {
		return ctx, trace.SpanFromContext(context.Background()) // a no-op span
	}
	links := make([]trace.Link, 0, len(b.from))
	for h := range b.from {
		if h.trace.IsValid() {
			links = append(links, trace.Link{SpanContext: h.trace})
		}
	}
	return s.Tracer.Start(ctx, "ingest seal micro-batch",
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("fusion.pipeline", b.pipeline),
			attribute.Int("fusion.records", len(b.lines)),
			attribute.Int("messaging.batch.message_count", len(b.from)),
			attribute.String("fusion.seal_reason", b.reason),
		))
}
