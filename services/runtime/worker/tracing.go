package worker

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// How a run is traced. Every handler invocation is one consumer span,
// "<worker> <step>", from the worker's own TracerProvider (Config.Tracers).
// Its parent is the context the consumed event carries in its detail
// (which survives every hop, EventBridge's included), or failing that the
// one in the message's metadata; a different context in the metadata —
// a redriven dead letter's, naming the attempt that failed — becomes a
// span link. What a step publishes goes out under one producer span,
// "<worker> publish", whose context the events carry, so the next
// workers' spans are its children: a run is one trace, its tree the flow
// of its events. A run's first step has no parent; its trace id derives
// from the run id (telemetry.WithRun), so a redelivered first step stays
// in the run's trace.

const tracerName = "github.com/fusiondata/fusion/worker"

// tracerFor is the tracer of a worker's spans.
func (r *Runtime) tracerFor(worker string) trace.Tracer {
	if r.cfg.Tracers != nil {
		if tp := r.cfg.Tracers(worker); tp != nil {
			return tp.Tracer(tracerName)
		}
	}
	return r.tracer
}

// startSpan starts the span of a handler invocation for an event.
func (r *Runtime) startSpan(ctx context.Context, w *Worker, in *Input, msg *message.Message) (context.Context, trace.Span) {
	sources := make([]telemetry.Source, 0, 2)
	if tc, ok := in.Detail.(messages.Traced); ok {
		sources = append(sources, telemetry.Source{Name: "detail", Carrier: telemetry.DetailCarrier{TC: tc.Trace()}})
	}
	if msg != nil {
		sources = append(sources, telemetry.Source{Name: "message metadata", Carrier: telemetry.MetadataCarrier(msg.Metadata)})
	}
	ctx, links := telemetry.Incoming(ctx, sources...)
	return r.tracerFor(w.Name).Start(telemetry.WithRun(ctx, in.Run.RunID), w.Name+" "+in.Step.Name,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("fusion.run_id", in.Run.RunID),
			attribute.String("fusion.pipeline", in.Run.Pipeline),
			attribute.String("fusion.step", in.Step.Name),
			attribute.String("messaging.message.id", in.Event.ID),
			attribute.String("cloudevents.event_type", in.Event.DetailType),
		))
}

// startPublish starts the producer span under which a step's results and
// its success event are published.
func (r *Runtime) startPublish(ctx context.Context, w *Worker, in *Input, n int) (context.Context, trace.Span) {
	return r.tracerFor(w.Name).Start(ctx, w.Name+" publish",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.operation.type", "send"),
			attribute.Int("messaging.batch.message_count", n),
			attribute.String("fusion.run_id", in.Run.RunID),
		))
}

// endPublish ends a publish span with the publish's outcome.
func endPublish(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// injectTrace puts the current span's context into an outgoing detail.
func injectTrace(ctx context.Context, d messages.Detail) {
	if tc, ok := d.(messages.Traced); ok {
		telemetry.Propagator.Inject(ctx, telemetry.DetailCarrier{TC: tc.Trace()})
	}
}

// traceDeadLetter gives a dead letter the trace context of the attempt
// that gave up on it (the step's span, in ctx) or, when no step ran (the
// event was unusable), the context its message came with. Its detail keeps
// the context it was published with, so a redrive continues the run's
// trace under the same parent and links the failed attempt. The dead
// letter's own publishing (an SQS call) is a span under the attempt's.
func traceDeadLetter(ctx context.Context, from, dl *message.Message) {
	dl.SetContext(context.WithoutCancel(ctx))
	if trace.SpanContextFromContext(ctx).IsValid() {
		telemetry.Propagator.Inject(ctx, telemetry.MetadataCarrier(dl.Metadata))
		return
	}
	for _, k := range telemetry.TraceKeys() {
		if v := from.Metadata.Get(k); v != "" {
			dl.Metadata.Set(k, v)
		}
	}
}
