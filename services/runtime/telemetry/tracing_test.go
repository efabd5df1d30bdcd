package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// Each service has its own provider and resource; one processor, even
// one registered later, receives every provider's spans; Shutdown stops
// the processor once, whatever the number of providers.
func TestOneProviderPerServiceSharingProcessors(t *testing.T) {
	early, late := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	tr := telemetry.NewTracing(map[string]string{"service.name": "ignored", "team": "data"}, early)
	ingest := tr.Provider("fusion-ingest")
	if tr.Provider("fusion-ingest") != ingest {
		t.Error("a second provider for the same service")
	}
	tr.RegisterSpanProcessor(late)
	ctx, a := ingest.Tracer("t").Start(context.Background(), "ingest ingest")
	_, b := tr.Provider("fusion-loader").Tracer("t").Start(ctx, "loader load.curated")
	b.End()
	a.End()
	for name, rec := range map[string]*tracetest.SpanRecorder{"early": early, "late": late} {
		spans := rec.Ended()
		if len(spans) != 2 {
			t.Fatalf("%s recorder: %d spans", name, len(spans))
		}
		for i, want := range []string{"fusion-loader", "fusion-ingest"} {
			attrs := map[attribute.Key]string{}
			for _, kv := range spans[i].Resource().Attributes() {
				attrs[kv.Key] = kv.Value.Emit()
			}
			if attrs["service.name"] != want || attrs["team"] != "data" || attrs["telemetry.sdk.language"] != "go" {
				t.Errorf("%s: resource %v", spans[i].Name(), attrs)
			}
		}
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, after := ingest.Tracer("t").Start(context.Background(), "after")
	after.End()
	if after.IsRecording() || len(early.Ended()) != 2 {
		t.Error("spans recorded after Shutdown")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

// A run's first span has the run's trace id; every other root a random one.
func TestRootOfARunHasTheRunsTraceID(t *testing.T) {
	tp := telemetry.NewTracing(nil).Provider("fusion-ingest")
	_, a := tp.Tracer("t").Start(telemetry.WithRun(context.Background(), "20261121-151600-3fa9c2"), "ingest ingest")
	_, b := tp.Tracer("t").Start(telemetry.WithRun(context.Background(), "20261121-151600-3fa9c2"), "ingest ingest")
	_, c := tp.Tracer("t").Start(context.Background(), "other")
	want := telemetry.RunTraceID("20261121-151600-3fa9c2")
	if a.SpanContext().TraceID() != want || b.SpanContext().TraceID() != want || a.SpanContext().SpanID() == b.SpanContext().SpanID() {
		t.Errorf("run roots %v %v, want trace %v", a.SpanContext(), b.SpanContext(), want)
	}
	if c.SpanContext().TraceID() == want || !c.SpanContext().IsValid() {
		t.Errorf("other root %v", c.SpanContext())
	}
	// A child keeps its parent's trace whatever run ctx names.
	pctx := trace.ContextWithSpanContext(context.Background(), c.SpanContext())
	_, d := tp.Tracer("t").Start(telemetry.WithRun(pctx, "20261121-151600-3fa9c2"), "child")
	if d.SpanContext().TraceID() != c.SpanContext().TraceID() {
		t.Error("a child left its parent's trace")
	}
}
