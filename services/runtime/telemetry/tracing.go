package telemetry

import (
	"context"
	"errors"
	"sort"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.24.0"
	"go.opentelemetry.io/otel/trace"
)

// NewTracerProvider returns a provider that samples every run and sends
// its spans to the given processors. Without processors spans go nowhere,
// but every run still gets a real trace id, carried from hop to hop and
// recorded in the run ledger, so turning export on later changes nothing
// else.
func NewTracerProvider(processors ...sdktrace.SpanProcessor) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())), sdktrace.WithIDGenerator(runIDs{})}
	for _, p := range processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	return sdktrace.NewTracerProvider(opts...)
}

var _ trace.TracerProvider = (*sdktrace.TracerProvider)(nil)

// Tracing is a process's tracing: one TracerProvider per service, each
// with its own resource (service.name fusion-ingest, fusion-transform...),
// all feeding the same span processors — one exporter, one batch queue —
// so that `fusion run`, which hosts every worker, reports each as the
// service it is when deployed alone.
//
// Rules: Provider returns the same provider for a service every time;
// a processor registered at any time receives the spans of every provider,
// present and future; Shutdown flushes the processors once, after which
// spans are dropped. The sampler is the SDK's: OTEL_TRACES_SAMPLER,
// parentbased_always_on by default.
type Tracing struct {
	attrs []attribute.KeyValue

	mu         sync.Mutex
	providers  map[string]*sdktrace.TracerProvider
	processors []sdktrace.SpanProcessor
	down       bool
}

// NewTracing returns a process's tracing. attrs describe every service of
// the process (OTEL_RESOURCE_ATTRIBUTES; a service.name among them is
// overridden per service). Spans go to the processors; with none they go
// nowhere, but every run still gets a real trace id, carried from hop to
// hop and recorded in the run ledger.
func NewTracing(attrs map[string]string, processors ...sdktrace.SpanProcessor) *Tracing {
	t := &Tracing{providers: map[string]*sdktrace.TracerProvider{}, processors: processors}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.attrs = append(t.attrs, attribute.String(k, attrs[k]))
	}
	return t
}

// Provider returns the TracerProvider of a service.
func (t *Tracing) Provider(service string) trace.TracerProvider {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.providers[service]; ok {
		return p
	}
	attrs := append(append([]attribute.KeyValue{}, t.attrs...), semconv.ServiceName(service))
	// Not resource.Default(): it reads OTEL_* variables, and only the
	// configuration reads the environment.
	res, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		res = resource.NewSchemaless(attrs...)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithIDGenerator(runIDs{})}
	for _, sp := range t.processors {
		opts = append(opts, sdktrace.WithSpanProcessor(shared{sp}))
	}
	p := sdktrace.NewTracerProvider(opts...)
	if t.down {
		p.Shutdown(context.Background())
	}
	t.providers[service] = p
	return p
}

// RegisterSpanProcessor sends every provider's spans to sp too (tests
// record spans this way).
func (t *Tracing) RegisterSpanProcessor(sp sdktrace.SpanProcessor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.processors = append(t.processors, sp)
	for _, p := range t.providers {
		p.RegisterSpanProcessor(shared{sp})
	}
}

// ForceFlush exports every ended span now.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	t.mu.Lock()
	procs := append([]sdktrace.SpanProcessor(nil), t.processors...)
	t.mu.Unlock()
	var errs []error
	for _, sp := range procs {
		errs = append(errs, sp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown ends every provider, then flushes and stops the processors
// (and their exporters) once. Call it when the process's work is done.
func (t *Tracing) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if t.down {
		t.mu.Unlock()
		return nil
	}
	t.down = true
	providers := make([]*sdktrace.TracerProvider, 0, len(t.providers))
	for _, p := range t.providers {
		providers = append(providers, p)
	}
	procs := t.processors
	t.mu.Unlock()
	var errs []error
	for _, p := range providers {
		errs = append(errs, p.Shutdown(ctx))
	}
	for _, sp := range procs {
		errs = append(errs, sp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// shared is a processor several providers feed: a provider's Shutdown
// leaves it running; Tracing.Shutdown stops it once.
type shared struct{ sdktrace.SpanProcessor }

func (shared) Shutdown(context.Context) error { return nil }
