package telemetry_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/telemetry/otlptest"
)

// BenchmarkSpanExportedOverOTLP is the CPU a span costs the process when
// tracing is on: started, given attributes, ended, batched and exported
// over OTLP/gRPC (to an in-process receiver that discards it; its own
// decoding is counted too, and the queue blocks rather than drop, so this
// is an upper bound). A run of the sample
// makes about 22 spans on the embedded tier, 65 on the aws tier.
func BenchmarkSpanExportedOverOTLP(b *testing.B) {
	rcv, err := otlptest.StartGRPC("127.0.0.1:0", false)
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint)
	exp, err := telemetry.NewOTLPExporter(context.Background(), telemetry.ProtocolGRPC)
	if err != nil {
		b.Fatal(err)
	}
	tr := telemetry.NewTracing(nil, sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithBlocking()))
	tracer := tr.Provider("fusion-transform").Tracer("b")
	b.ReportAllocs()
	for b.Loop() {
		_, span := tracer.Start(context.Background(), "transform transform")
		span.End()
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	if rcv.Count() == 0 {
		b.Fatal("nothing exported")
	}
}

// BenchmarkSpanNotExported is the same span with tracing off: made (the run
// still gets a trace id) and dropped.
func BenchmarkSpanNotExported(b *testing.B) {
	tracer := telemetry.NewTracing(nil).Provider("fusion-transform").Tracer("b")
	b.ReportAllocs()
	for b.Loop() {
		_, span := tracer.Start(context.Background(), "transform transform")
		span.End()
	}
}
