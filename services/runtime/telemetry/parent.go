package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Source is one place an incoming event's trace context may ride: the
// detail, the message's metadata, another event the same invocation
// covers. Name says which in the span link.
type Source struct {
	Name    string
	Carrier propagation.TextMapCarrier
}

// Incoming extracts the trace contexts of what one handler invocation
// consumes and returns ctx with the parent of its span and the links the
// span must carry.
//
// Rules: the first source with a valid context is the parent (callers
// list the detail first: it is the context that survives every hop);
// every other valid context that names a different span becomes a link,
// attributed with fusion.link.source = its source's name. So a span has
// one parent however many events or contexts its invocation covers, and
// the others stay reachable.
func Incoming(ctx context.Context, sources ...Source) (context.Context, []trace.Link) {
	var parent trace.SpanContext
	var links []trace.Link
	type spanKey struct {
		trace trace.TraceID
		span  trace.SpanID
	}
	seen := map[spanKey]bool{}
	for _, s := range sources {
		if s.Carrier == nil {
			continue
		}
		sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), s.Carrier))
		key := spanKey{sc.TraceID(), sc.SpanID()}
		if !sc.IsValid() || seen[key] {
			continue
		}
		seen[key] = true
		if !parent.IsValid() {
			parent = sc
			continue
		}
		links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("fusion.link.source", s.Name)}})
	}
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	return ctx, links
}
