package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
)

func TestTraceContextRidesInTheDetail(t *testing.T) {
	tp := NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "producer")
	defer span.End()
	var d messages.DatasetIngested
	Propagator.Inject(ctx, DetailCarrier{TC: &d.TraceContext})
	if len(d.Traceparent) != 55 {
		t.Fatalf("traceparent %q", d.Traceparent)
	}
	got := trace.SpanContextFromContext(Propagator.Extract(context.Background(), DetailCarrier{TC: &d.TraceContext}))
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("extracted %v, want %v", got, span.SpanContext())
	}
}
