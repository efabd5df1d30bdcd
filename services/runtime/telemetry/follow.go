package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// FollowContext returns a TracerProvider for instrumentation built once
// and shared by every worker of a process (the AWS clients): its tracers
// start each span with the provider of the span already in the context, so
// an S3 call made by the loader's handler is a child span of the loader's
// service, and a call made outside any recording span (a queue poll, a
// visibility renewal, a CLI command) records nothing.
func FollowContext() trace.TracerProvider { return followProvider{} }

type followProvider struct{ embedded.TracerProvider }

func (followProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return followTracer{name: name, opts: opts}
}

type followTracer struct {
	embedded.Tracer
	name string
	opts []trace.TracerOption
}

var quiet = noop.NewTracerProvider().Tracer("")

func (t followTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return quiet.Start(ctx, name, opts...)
	}
	return parent.TracerProvider().Tracer(t.name, t.opts...).Start(ctx, name, opts...)
}

// Tracer returns the tracer of the span in ctx's provider, for spans
// nested under a handler's (SQL statements, warehouse loads): they belong
// to the service of the worker whose handler runs them. Without a
// recording span in ctx it records nothing.
func Tracer(ctx context.Context, name string) trace.Tracer {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return quiet
	}
	return parent.TracerProvider().Tracer(name)
}
