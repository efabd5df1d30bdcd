package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// Instrumentation built once for the process (the AWS clients) makes its
// spans with the provider of the span in the context: the worker's.
func TestFollowContextUsesTheParentsProvider(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := telemetry.NewTracing(nil, rec)
	shared := telemetry.FollowContext().Tracer("aws")

	_, outside := shared.Start(context.Background(), "SQS.ReceiveMessage")
	outside.End()
	if outside.IsRecording() || len(rec.Ended()) != 0 {
		t.Fatal("a call outside any span was recorded")
	}
	ctx, handler := tr.Provider("fusion-loader").Tracer("worker").Start(context.Background(), "loader load.curated")
	_, call := shared.Start(ctx, "S3.GetObject")
	call.End()
	_, stmt := telemetry.Tracer(ctx, "engine").Start(ctx, "duckdb COPY")
	stmt.End()
	handler.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans[:2] {
		if s.Parent().SpanID() != handler.SpanContext().SpanID() || s.Resource() != spans[2].Resource() {
			t.Errorf("%s: parent %v, resource %v", s.Name(), s.Parent().SpanID(), s.Resource())
		}
	}
	if spans[0].InstrumentationScope().Name != "aws" {
		t.Errorf("scope %v", spans[0].InstrumentationScope())
	}
}
